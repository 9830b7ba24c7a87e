"""The conclusion of a corpus's S = a L^b fits, read from their table (no refitting).

:func:`summary` condenses a fits table (``results_frame`` of
:func:`scalelaw.fitting.sentence_length.fit_corpus`) to one row per
(corpus, unit[, variant]) with the ``conclusion`` (conclusion.CONCLUSIONS) of the
primary estimator and the sentence derived from it. This module needs only pandas, so
the summary and report jobs do not import the fitting libraries.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import conclusion as conclusions
from .result import expand_group

__all__ = ["PRIMARY_ESTIMATOR", "SUMMARY_KEYS", "not_fitted_summary", "summary", "usable_documents"]

PRIMARY_ESTIMATOR = "ols_log"


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
