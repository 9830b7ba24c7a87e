"""Every fit of S = a L^b for one corpus, as FitResults, and the summary that concludes.

:func:`fit_corpus` returns, per unit (words, tokens, chars):

* ``sentence_length``: each estimator's a and b, BCa bootstrap intervals over documents;
* ``null_document``: each estimator's b_null and b - b_null (nulls.document_null);
* ``null_sentence_shuffle``: the sentence-shuffle null of the OLS-log b (with sentences);
* ``law_comparison``: each law fitted on the log-S scale, with delta AICc and weights.

:func:`summary` condenses a fits table (``results_frame`` of these) to one row per
(corpus, unit[, variant]) with the ``conclusion`` (conclusion.CONCLUSIONS) of the
primary estimator and the sentence derived from it. Sub-tasks draw from generators keyed
by (seed, unit, task), so output is identical for identical inputs.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import conclusion as conclusions
from .bootstrap import MIN_RESAMPLES, bootstrap, rng_for
from .estimators import DEFAULT_ESTIMATORS, check_power_data, get_estimator
from .laws import compare, get_law
from .nulls import document_null, sentence_shuffle_null
from .result import FitResult, Param, expand_group

__all__ = [
    "PRIMARY_ESTIMATOR", "InsufficientData", "decades", "fit_corpus", "fit_with_null", "not_fitted_summary",
    "summary", "usable_documents",
]

PRIMARY_ESTIMATOR = "ols_log"
DEFAULT_LAWS = ("power", "menzerath_altmann", "linear", "constant")
MIN_BOOTSTRAP_N = 8


class InsufficientData(ValueError):
    """Too few usable documents (or no spread in L) for a fit worth reporting."""


def decades(x: Any) -> float:
    """Orders of magnitude spanned by x, log10(max / min): a power law over < 1 decade is weak."""
    x = np.asarray(x, dtype=float)
    if x.size == 0 or np.any(x <= 0):
        raise ValueError("decades needs a non-empty x > 0")
    return float(np.log10(x.max() / x.min()))


def usable_documents(docs: pd.DataFrame, unit: str, *, corpus: str = "") -> tuple[pd.DataFrame, int]:
    """The documents an S = a L^b fit in ``unit`` uses (status ok, finite L > 0 and S > 0),
    and how many were left out. The one place this rule is written."""
    xcol, ycol = f"L_{unit}", f"S_{unit}_mean"
    missing = [c for c in (xcol, ycol, "status", "doc_id") if c not in docs.columns]
    if missing:
        raise ValueError(f"corpus {corpus!r}: document table lacks columns {missing}")
    L = pd.to_numeric(docs[xcol], errors="coerce").to_numpy(dtype=float)
    S = pd.to_numeric(docs[ycol], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        ok = (docs["status"] == "ok").to_numpy() & np.isfinite(L) & np.isfinite(S) & (L > 0) & (S > 0)
    return docs.loc[ok], int((~ok).sum())


def fit_with_null(estimator, L, S, counts=None, S_sd=None, *, n_resamples: int = MIN_RESAMPLES,
                  null_reps: int = 200, confidence_level: float = 0.95, seed=0,
                  group: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None
                  ) -> tuple[FitResult, FitResult]:
    """One estimator's fit (BCa intervals over documents) and its document null, with the
    conclusion in the null record's ``diagnostics["conclusion"]``."""
    est = get_estimator(estimator)
    L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)
    counts = np.asarray(counts, dtype=float) if counts is not None else np.round(L / S)
    own = counts if est.uses_counts else None
    rec = est.fit(L, S, own, confidence_level=confidence_level, group=group)
    boot = bootstrap(
        est.resampler(L, S, own), L.size, jackknife=est.jackknife(L, S, own), unit="documents", n_resamples=n_resamples, confidence_level=confidence_level,
        seed=rng_for(seed, "estimate"),
    )
    for j, name in enumerate(("a", "b")):
        p = rec.params[name]
        rec.params[name] = Param(p.estimate, p.se, p.se_type, boot.low[j], boot.high[j], boot.method)
    rec.n_resamples, rec.n_failed_resamples = n_resamples, boot.n_failed
    rec.diagnostics.update(extra or {})
    null = document_null(est, L, S, counts, S_sd, n_resamples=n_resamples, n_permutations=null_reps,
                         confidence_level=confidence_level, seed=rng_for(seed, "null"), group=group)
    b, d = rec.params["b"], null.params["b_minus_null"]
    null.diagnostics["conclusion"] = conclusions.conclude(b.ci_low, b.ci_high, d.ci_low, d.ci_high)
    null.diagnostics.update(extra or {})
    return rec, null


def fit_corpus(
    docs: pd.DataFrame,
    sentences: pd.DataFrame | None,
    *,
    corpus: str,
    units: Sequence[str] = ("words", "tokens"),
    estimators: Sequence[str] = DEFAULT_ESTIMATORS,
    laws: Sequence[str] = DEFAULT_LAWS,
    n_resamples: int = MIN_RESAMPLES,
    null_reps: int = 200,
    seed: int = 0,
    confidence_level: float = 0.95,
    min_docs: int = 10,
    law_loss: str = "linear",
    labels: Mapping[str, Any] | None = None,
) -> list[FitResult]:
    """All fits of one corpus (see the module docstring); ``labels`` join every group.

    Raises InsufficientData when fewer than ``min_docs`` documents are usable in a unit
    or L has no spread.
    """
    if PRIMARY_ESTIMATOR not in estimators:
        raise ValueError(f"estimators must include {PRIMARY_ESTIMATOR!r}: the conclusion refers to it")
    ests = [get_estimator(name) for name in estimators]
    law_objs = [get_law(name) for name in laws]
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"n_resamples must be >= {MIN_RESAMPLES} for BCa intervals, got {n_resamples}")
    out: list[FitResult] = []
    for unit in units:
        used, n_excluded = usable_documents(docs, unit, corpus=corpus)
        xcol, ycol, sdcol = f"L_{unit}", f"S_{unit}_mean", f"S_{unit}_sd"
        n = len(used)
        if n < max(min_docs, MIN_BOOTSTRAP_N):
            status = docs["status"].value_counts().to_dict() if "status" in docs else {}
            raise InsufficientData(
                f"corpus {corpus!r}, unit {unit!r}: {n} usable documents of {len(docs)} "
                f"({n_excluded} excluded; status counts {status}), need at least {max(min_docs, MIN_BOOTSTRAP_N)}"
            )
        L = used[xcol].to_numpy(dtype=float)
        S = used[ycol].to_numpy(dtype=float)
        if np.ptp(L) == 0:
            raise InsufficientData(
                f"corpus {corpus!r}, unit {unit!r}: all {n} documents have {xcol} = {L[0]:g}; the exponent is undefined"
            )
        check_power_data(L, S)
        if "n_sentences" in used:
            counts = used["n_sentences"].to_numpy(dtype=float)
        else:
            counts = np.round(L / S)
        S_sd = used[sdcol].to_numpy(dtype=float) if sdcol in used else None
        group = {"corpus": corpus, "unit": unit, "x": xcol, "y": ycol, **dict(labels or {})}
        extra = {"n_excluded": n_excluded, "decades_x": decades(L), "seed": seed}

        for est in ests:
            out.extend(fit_with_null(
                est, L, S, counts, S_sd, n_resamples=n_resamples, null_reps=null_reps,
                confidence_level=confidence_level, seed=rng_for(seed, unit, est.name), group=group, extra=extra,
            ))

        if sentences is not None:
            length_col = f"n_{unit}"
            if length_col not in sentences.columns:
                raise ValueError(f"corpus {corpus!r}: sentence table lacks column {length_col!r}")
            kept = sentences.loc[sentences["doc_id"].isin(set(used["doc_id"])), ["doc_id", length_col]]
            out.append(sentence_shuffle_null(kept, length_col, null_reps, confidence_level=confidence_level,
                                             seed=rng_for(seed, unit, "null"), group=group))

        law_fits = [law.fit(L, S, loss=law_loss, confidence_level=confidence_level, n_unit="documents",
                            group=group, analysis="law_comparison") for law in law_objs]
        for f in compare(law_fits):
            f.aicc_scale = f"log {ycol} (Gaussian)"
            f.diagnostics.update(extra)
        out.extend(law_fits)
    return out


def _param(fits: pd.DataFrame, analysis: str, estimator: str, parameter: str) -> pd.Series | None:
    sel = fits[(fits["analysis"] == analysis) & (fits["estimator"] == estimator) & (fits["parameter"] == parameter)]
    return None if sel.empty else sel.iloc[0]


SUMMARY_KEYS = ("corpus", "unit", "segmenter", "paragraph_breaks")


def summary(fits: pd.DataFrame, *, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per fitted (corpus, unit[, segmenter, paragraph_breaks]) with the conclusion."""
    if fits.empty:
        return pd.DataFrame(columns=["corpus", "unit", "conclusion", "statement"])
    wide = expand_group(fits)
    keys = [k for k in (keys or SUMMARY_KEYS) if k in wide.columns]
    rows = []
    for key, group in wide.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(keys, key))
        b = _param(group, "sentence_length", PRIMARY_ESTIMATOR, "b")
        if b is None:
            continue
        diag = json.loads(b["diagnostics"])
        d = _param(group, "null_document", PRIMARY_ESTIMATOR, "b_minus_null")
        b0 = _param(group, "null_document", PRIMARY_ESTIMATOR, "b_null")
        shuffle = _param(group, "null_sentence_shuffle", "ols_log", "b_null")
        nan = math.nan
        row.update(
            n=int(b["n"]), n_excluded=diag.get("n_excluded"), decades_x=diag.get("decades_x"),
            b=b["estimate"], ci_low=b["ci_low"], ci_high=b["ci_high"], ci_method=b["ci_method"],
            b_null=b0["estimate"] if b0 is not None else nan,
            b_minus_null=d["estimate"] if d is not None else nan,
            b_minus_null_low=d["ci_low"] if d is not None else nan,
            b_minus_null_high=d["ci_high"] if d is not None else nan,
            b_shuffle_null=shuffle["estimate"] if shuffle is not None else nan,
            b_shuffle_null_low=shuffle["ci_low"] if shuffle is not None else nan,
            b_shuffle_null_high=shuffle["ci_high"] if shuffle is not None else nan,
        )
        laws = group[group["analysis"] == "law_comparison"].drop_duplicates("law")
        if not laws.empty and laws["aicc"].notna().any():
            best = laws.loc[laws["aicc"].idxmin()]
            row["best_law"] = best["law"]
            power = laws[laws["law"] == "power"]
            row["delta_aicc_power"] = (json.loads(power["diagnostics"].iloc[0])["delta_aicc"]
                                       if not power.empty else nan)
        else:
            row.update(best_law=None, delta_aicc_power=nan)
        for est in group.loc[(group["analysis"] == "sentence_length") & (group["parameter"] == "b"), "estimator"]:
            if est == PRIMARY_ESTIMATOR:
                continue
            other = _param(group, "sentence_length", est, "b")
            row[f"b_{est}"] = other["estimate"]
            nd = _param(group, "null_document", est, "b_minus_null")
            row[f"conclusion_{est}"] = json.loads(nd["diagnostics"])["conclusion"] if nd is not None else "not_fitted"
        word = json.loads(d["diagnostics"])["conclusion"] if d is not None else "not_fitted"
        row["conclusion"] = word
        row["statement"] = conclusions.statement(
            word, b=row["b"], b_low=row["ci_low"], b_high=row["ci_high"], b_null=row["b_null"],
            d=row["b_minus_null"], d_low=row["b_minus_null_low"], d_high=row["b_minus_null_high"],
            confidence_level=float(b["confidence_level"]),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def not_fitted_summary(corpus: str, units: Sequence[str], n: int, reason: str,
                       labels: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The summary of a corpus too small to fit: says so instead of printing numbers."""
    return pd.DataFrame(
        {"corpus": corpus, "unit": unit, **dict(labels or {}), "n": n, "conclusion": "not_fitted",
         "statement": conclusions.statement("not_fitted", reason=reason)}
        for unit in units
    )
