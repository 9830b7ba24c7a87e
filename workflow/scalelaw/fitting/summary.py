"""The two answers of a corpus's S = a L^b fits, read from their table (no refitting).

:func:`summary` condenses a fits table (``results_frame`` of
:func:`scalelaw.fitting.sentence_length.fit_corpus`) to one row per
(corpus, unit[, variant]): the primary estimator's b and its two answers ``trend`` and
``vs_null`` (conclusion.TRENDS, conclusion.VS_NULL) with their sentences, every other
estimator's b and answers, whether the estimators agree, and the best law by AICc with a
plain sentence when it is not the power law (laws_text.py). This module needs only
pandas, so the summary and report jobs do not import the fitting libraries.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import conclusion as conclusions
from .laws_text import law_sentence
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
_NAN = math.nan


def _answers(group: pd.DataFrame, estimator: str) -> dict[str, Any] | None:
    """b, its interval, b_null, b - b_null and the two answers of one estimator."""
    b = _param(group, "sentence_length", estimator, "b")
    if b is None:
        return None
    diag = json.loads(b["diagnostics"])
    d = _param(group, "null_document", estimator, "b_minus_null")
    b0 = _param(group, "null_document", estimator, "b_null")
    null_diag = json.loads(d["diagnostics"]) if d is not None else {}
    return {
        "b": b["estimate"], "ci_low": b["ci_low"], "ci_high": b["ci_high"], "ci_method": b["ci_method"],
        "n": int(b["n"]), "confidence_level": float(b["confidence_level"]), "diag": diag,
        "describes": diag.get("describes", ""), "reason": diag.get("not_fitted", ""),
        "b_null": b0["estimate"] if b0 is not None else _NAN,
        "b_minus_null": d["estimate"] if d is not None else _NAN,
        "b_minus_null_low": d["ci_low"] if d is not None else _NAN,
        "b_minus_null_high": d["ci_high"] if d is not None else _NAN,
        "trend": null_diag.get("trend", "not_fitted"), "vs_null": null_diag.get("vs_null", "not_fitted"),
    }


def _disagreement(answers: Mapping[str, Mapping[str, Any]]) -> str:
    """'' when every estimator gives the same two answers, else which says what."""
    parts = []
    for question in ("trend", "vs_null"):
        words = {est: a[question] for est, a in answers.items()}
        if not conclusions.agree(words.values()):
            parts.append(f"{question}: " + ", ".join(f"{est} {w}" for est, w in words.items()))
    return "; ".join(parts)


def summary(fits: pd.DataFrame, *, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per fitted (corpus, unit[, segmenter, paragraph_breaks]) with both answers."""
    if fits.empty:
        return pd.DataFrame(columns=["corpus", "unit", "trend", "vs_null", "statement"])
    wide = expand_group(fits)
    keys = [k for k in (keys or SUMMARY_KEYS) if k in wide.columns]
    rows = []
    for key, group in wide.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(keys, key))
        estimators = list(dict.fromkeys(group.loc[group["analysis"] == "sentence_length", "estimator"]))
        answers = {est: _answers(group, est) for est in estimators}
        primary = answers.get(PRIMARY_ESTIMATOR)
        if primary is None:
            continue
        shuffle = _param(group, "null_sentence_shuffle", "ols_log", "b_null")
        diag = primary["diag"]
        row.update(
            n=primary["n"], n_excluded=diag.get("n_excluded"), decades_x=diag.get("decades_x"),
            estimator=PRIMARY_ESTIMATOR, describes=primary["describes"],
            **{k: primary[k] for k in ("b", "ci_low", "ci_high", "ci_method", "b_null", "b_minus_null",
                                       "b_minus_null_low", "b_minus_null_high", "trend", "vs_null")},
            b_shuffle_null=shuffle["estimate"] if shuffle is not None else _NAN,
            b_shuffle_null_low=shuffle["ci_low"] if shuffle is not None else _NAN,
            b_shuffle_null_high=shuffle["ci_high"] if shuffle is not None else _NAN,
        )
        level, unit = primary["confidence_level"], row.get("unit", "words")
        reason = primary["reason"]
        row["reason"] = reason
        row["trend_statement"] = conclusions.trend_statement(
            primary["trend"], b=primary["b"], b_low=primary["ci_low"], b_high=primary["ci_high"],
            describes=primary["describes"], unit=unit, confidence_level=level, reason=reason)
        row["vs_null_statement"] = conclusions.vs_null_statement(
            primary["vs_null"], b_null=primary["b_null"], d=primary["b_minus_null"], d_low=primary["b_minus_null_low"],
            d_high=primary["b_minus_null_high"], confidence_level=level, reason=reason)
        laws = group[group["analysis"] == "law_comparison"]
        best, delta_power, law_text = law_sentence(laws, unit=unit, L_range=(diag.get("L_min"), diag.get("L_max")))
        row.update(best_law=best, delta_aicc_power=delta_power, law_statement=law_text)
        for est, ans in answers.items():
            if est == PRIMARY_ESTIMATOR:
                continue
            row.update({f"b_{est}": ans["b"], f"b_{est}_low": ans["ci_low"], f"b_{est}_high": ans["ci_high"],
                        f"trend_{est}": ans["trend"], f"vs_null_{est}": ans["vs_null"]})
        row["estimator_disagreement"] = _disagreement(answers)
        row["statement"] = f"{row['trend_statement']}. {row['vs_null_statement']}." + (f" {law_text}." if law_text else "")
        rows.append(row)
    return pd.DataFrame(rows)


def not_fitted_summary(corpus: str, units: Sequence[str], n: int, reason: str,
                       labels: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The summary of a corpus too small or too degenerate to fit: says so instead of
    printing numbers."""
    trend = conclusions.trend_statement("not_fitted", reason=reason)
    return pd.DataFrame(
        {"corpus": corpus, "unit": unit, **dict(labels or {}), "n": n, "trend": "not_fitted",
         "vs_null": "not_fitted", "reason": reason, "trend_statement": trend,
         "vs_null_statement": conclusions.vs_null_statement("not_fitted", reason=reason),
         "estimator_disagreement": "", "statement": f"not fitted: {reason}"}
        for unit in units
    )
