"""The one result record every fit in the project returns, and its one long table.

Whatever is fitted (S = a L^b by one estimator, a law comparison, a null model, the
difference b - b_null, loss against model size, a censored-length model, L(N, D) over a
model ladder) comes back as a :class:`FitResult`. ``FitResult.to_frame()`` lays it out
as rows of :data:`FIT_COLUMNS`, one per parameter, so every ``fits*.parquet`` the
pipeline writes shares one schema (:data:`FIT_SCHEMA`) and figures and reports read
those tables instead of refitting.

``group`` holds what the fit is about (corpus, unit, segmenter, model, decoding, ...);
it is stored as sorted JSON so the schema stays fixed, and :func:`expand_group` turns
it back into columns for filtering.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "FIT_COLUMNS",
    "FIT_SCHEMA",
    "N_UNITS",
    "FitResult",
    "Param",
    "expand_group",
    "read_fits",
    "results_frame",
    "wald_param",
]

# What n counts: the unit that was resampled or that the law is a law over.
N_UNITS = ("documents", "sentences", "prompts", "generations", "models", "runs", "points", "clusters")

FIT_SCHEMA = pa.schema(
    [
        ("analysis", pa.string()),          # e.g. sentence_length, law_comparison, null, loss_vs_size
        ("group", pa.string()),             # JSON of the labels the fit is about
        ("law", pa.string()),               # a name from the law registry
        ("formula", pa.string()),
        ("estimator", pa.string()),         # how the law was fitted (ols_log, huber_log, aft, ...)
        ("parameter", pa.string()),
        ("estimate", pa.float64()),
        ("se", pa.float64()),
        ("se_type", pa.string()),           # e.g. HC3, HC0, cluster(doc), bootstrap, none
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("ci_method", pa.string()),         # e.g. "BCa bootstrap over documents, 2000 resamples"
        ("confidence_level", pa.float64()),
        ("n", pa.int64()),
        ("n_unit", pa.string()),
        ("k", pa.int64()),                  # number of fitted parameters (for AICc)
        ("loglik", pa.float64()),
        ("aicc", pa.float64()),
        ("aicc_scale", pa.string()),        # AICc values compare only on one scale
        ("n_resamples", pa.int64()),
        ("n_failed_resamples", pa.int64()),
        ("converged", pa.bool_()),
        ("diagnostics", pa.string()),       # JSON
        ("warnings", pa.string()),          # JSON list of strings
    ]
)
FIT_COLUMNS: tuple[str, ...] = tuple(FIT_SCHEMA.names)


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, (np.integer,)):
            return int(o)
        if isinstance(o, (np.floating,)):
            f = float(o)
            return f if math.isfinite(f) else None
        if isinstance(o, np.ndarray):
            return _nan_to_none(o.tolist())
        if isinstance(o, (np.bool_,)):
            return bool(o)
        return str(o)

    return json.dumps(_nan_to_none(value), sort_keys=True, default=default)


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_none(v) for v in value]
    return value


@dataclass
class Param:
    """One fitted parameter: estimate, standard error and interval, each with its method."""

    estimate: float
    se: float = math.nan
    se_type: str = "none"
    ci_low: float = math.nan
    ci_high: float = math.nan
    ci_method: str = "none"

    def __post_init__(self) -> None:
        self.estimate = _float(self.estimate)
        self.se = _float(self.se)
        self.ci_low = _float(self.ci_low)
        self.ci_high = _float(self.ci_high)


@dataclass
class FitResult:
    """One fit, whatever was fitted; ``to_frame`` gives its rows of the shared table."""

    analysis: str
    law: str
    estimator: str
    params: dict[str, Param]
    n: int
    n_unit: str
    confidence_level: float = 0.95
    formula: str = ""
    group: dict[str, Any] = field(default_factory=dict)
    k: int | None = None
    loglik: float = math.nan
    aicc: float = math.nan
    aicc_scale: str = ""
    n_resamples: int = 0
    n_failed_resamples: int = 0
    converged: bool = True
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.n_unit not in N_UNITS:
            raise ValueError(f"n_unit must be one of {N_UNITS}, got {self.n_unit!r}")
        if not 0 < self.confidence_level < 1:
            raise ValueError(f"confidence_level must be in (0, 1), got {self.confidence_level}")
        if self.k is None:
            self.k = len(self.params)

    def __getitem__(self, name: str) -> Param:
        return self.params[name]

    @property
    def estimates(self) -> dict[str, float]:
        return {name: p.estimate for name, p in self.params.items()}

    def to_frame(self) -> pd.DataFrame:
        return results_frame([self])

    def rows(self) -> list[dict[str, Any]]:
        shared = {
            "analysis": self.analysis,
            "group": _json(self.group),
            "law": self.law,
            "formula": self.formula,
            "estimator": self.estimator,
            "confidence_level": float(self.confidence_level),
            "n": int(self.n),
            "n_unit": self.n_unit,
            "k": int(self.k) if self.k is not None else None,
            "loglik": _float(self.loglik),
            "aicc": _float(self.aicc),
            "aicc_scale": self.aicc_scale,
            "n_resamples": int(self.n_resamples),
            "n_failed_resamples": int(self.n_failed_resamples),
            "converged": bool(self.converged),
            "diagnostics": _json(self.diagnostics),
            "warnings": _json(list(self.warnings)),
        }
        return [
            {
                **shared,
                "parameter": name,
                "estimate": p.estimate,
                "se": p.se,
                "se_type": p.se_type,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
                "ci_method": p.ci_method,
            }
            for name, p in self.params.items()
        ]


WALD = "Wald, normal quantile (Jacobian SE; log scale for positive parameters)"


def wald_param(estimate: float, se: float, confidence_level: float, *, log_scale: bool = False,
               se_type: str = "asymptotic") -> Param:
    """The one Wald interval: estimate ± z se, or for a positive parameter fitted through its
    log (``log_scale``, ``se`` being the SE of the log) exp(log estimate ± z se), whose
    natural-scale SE is estimate * se (delta method). No interval where se is not > 0."""
    from scipy.special import ndtri  # cheap; scipy.stats is not needed for one quantile

    z = float(ndtri(0.5 + confidence_level / 2))
    se = _float(se)
    if log_scale:
        low, high = (estimate * math.exp(-z * se), estimate * math.exp(z * se)) if se > 0 else (estimate, estimate)
        return Param(estimate, estimate * se, f"{se_type}; delta method", low, high, WALD)
    low, high = (estimate - z * se, estimate + z * se) if se > 0 else (estimate, estimate)
    return Param(estimate, se, se_type, low, high, WALD)


def read_fits(fits: pd.DataFrame) -> list[FitResult]:
    """The FitResults a fit table (rows of :data:`FIT_COLUMNS`) was written from, in table
    order: the inverse of :func:`results_frame`, so readers use attributes, not JSON fields.
    A fit is a run of consecutive rows that agree on every column but the parameter's."""
    shared = [c for c in FIT_COLUMNS if c not in _PARAM_COLUMNS]
    out: list[FitResult] = []
    previous = None
    for row in fits.to_dict("records"):
        key = json.dumps([_nan_to_none(row[c]) if not isinstance(row[c], (bool, np.bool_)) else bool(row[c])
                          for c in shared], default=str)
        if key != previous:
            k = row["k"]
            out.append(FitResult(
                analysis=row["analysis"], law=row["law"], estimator=row["estimator"], params={},
                n=int(row["n"]), n_unit=row["n_unit"], confidence_level=float(row["confidence_level"]),
                formula=row["formula"], group=json.loads(row["group"]),
                k=None if k is None or (isinstance(k, float) and math.isnan(k)) else int(k),
                loglik=_float(row["loglik"]), aicc=_float(row["aicc"]), aicc_scale=row["aicc_scale"],
                n_resamples=int(row["n_resamples"]), n_failed_resamples=int(row["n_failed_resamples"]),
                converged=bool(row["converged"]), diagnostics=json.loads(row["diagnostics"]),
                warnings=json.loads(row["warnings"]),
            ))
            previous = key
        out[-1].params[row["parameter"]] = Param(row["estimate"], row["se"], row["se_type"], row["ci_low"],
                                                 row["ci_high"], row["ci_method"])
    return out


_PARAM_COLUMNS = ("parameter", "estimate", "se", "se_type", "ci_low", "ci_high", "ci_method")


def results_frame(results: Iterable[FitResult]) -> pd.DataFrame:
    """Rows of every result, in :data:`FIT_COLUMNS` order with the :data:`FIT_SCHEMA` types."""
    rows = [row for r in results for row in r.rows()]
    table = pa.Table.from_pylist(rows, schema=FIT_SCHEMA) if rows else FIT_SCHEMA.empty_table()
    return table.to_pandas()


def expand_group(fits: pd.DataFrame) -> pd.DataFrame:
    """The fit table with each ``group`` label as a column of its own (for filtering)."""
    labels = pd.DataFrame([json.loads(g) for g in fits["group"]], index=fits.index)
    clash = [c for c in labels.columns if c in fits.columns]
    if clash:
        raise ValueError(f"group labels {clash} clash with fit table columns")
    return pd.concat([fits, labels], axis=1)
