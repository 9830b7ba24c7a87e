"""Every fit of S = a L^b for one corpus, as FitResults.

:func:`fit_corpus` returns, per unit (words, tokens, chars):

* ``sentence_length``: each estimator's a and b, BCa bootstrap intervals over documents;
* ``null_document``: each estimator's b_null and b - b_null (nulls.document_null);
* ``null_sentence_shuffle``: the sentence-shuffle null of the OLS-log b (with sentences);
* ``law_comparison``: each law fitted on the log-S scale, with delta AICc and weights.

:func:`scalelaw.fitting.summary.summary` condenses their table to the two answers.
Sub-tasks draw from generators keyed by (seed, unit, task), so output is identical for
identical inputs.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import conclusion as conclusions
from .bootstrap import MIN_RESAMPLES, bootstrap, rng_for
from .estimators import DEFAULT_ESTIMATORS, check_power_data, degenerate_reason, get_estimator
from .laws import compare, get_law
from .noise import SentenceNoise
from .nulls import document_null, sentence_shuffle_null
from .result import FitResult, Param
from .summary import PRIMARY_ESTIMATOR, usable_documents

__all__ = ["InsufficientData", "decades", "fit_corpus", "fit_estimator", "fit_with_null", "not_fitted_pair"]

DEFAULT_LAWS = ("power", "menzerath_altmann", "linear", "constant")
MIN_BOOTSTRAP_N = 8
# What an estimator may raise on data that passed degenerate_reason (statsmodels raises
# ValueError for a NaN deviance, numpy LinAlgError for a singular design).
_FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError)


class InsufficientData(ValueError):
    """Too few usable documents (or no spread in L or S) for a fit worth reporting."""


def decades(x: Any) -> float:
    """Orders of magnitude spanned by x, log10(max / min): a power law over < 1 decade is weak."""
    x = np.asarray(x, dtype=float)
    if x.size == 0 or np.any(x <= 0):
        raise ValueError("decades needs a non-empty x > 0")
    return float(np.log10(x.max() / x.min()))


def not_fitted_pair(estimator, n: int, reason: str, *, confidence_level: float = 0.95,
                    group: Mapping[str, Any] | None = None,
                    extra: Mapping[str, Any] | None = None) -> tuple[FitResult, FitResult]:
    """The records of an estimator that could not be fitted: every number NaN, the
    reason in ``diagnostics["not_fitted"]`` and in the warnings, both answers not_fitted."""
    est = get_estimator(estimator)
    diagnostics = {"response": est.response, "describes": est.describes, "not_fitted": reason, **dict(extra or {})}
    common = dict(law="power", estimator=est.name, formula="S = a * L^b", n=n, n_unit="documents",
                  confidence_level=confidence_level, group=dict(group or {}), converged=False,
                  warnings=[f"not fitted: {reason}"])
    rec = FitResult(analysis="sentence_length", params={"a": Param(np.nan), "b": Param(np.nan)},
                    diagnostics=dict(diagnostics), **common)
    null = FitResult(analysis="null_document", params={"b_null": Param(np.nan), "b_minus_null": Param(np.nan)},
                     diagnostics={**diagnostics, "trend": "not_fitted", "vs_null": "not_fitted"}, **common)
    return rec, null


def fit_estimator(estimator, L, S, counts=None, *, n_resamples: int = MIN_RESAMPLES,
                  confidence_level: float = 0.95, seed=0, group: Mapping[str, Any] | None = None) -> FitResult:
    """One estimator's fit with BCa intervals over documents (no null). Raises what the
    estimator raises; :func:`fit_with_null` turns that into a not-fitted record."""
    est = get_estimator(estimator)
    L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)
    own = None
    if est.uses_counts:
        own = np.asarray(counts, dtype=float) if counts is not None else np.round(L / S)
    with warnings.catch_warnings():
        # statsmodels' convergence and separation warnings: the record says whether the
        # fit converged, and failed resamples are counted
        warnings.simplefilter("ignore")
        rec = est.fit(L, S, own, confidence_level=confidence_level, group=group)
        boot = bootstrap(
            est.resampler(L, S, own), L.size, jackknife=est.jackknife(L, S, own), unit="documents",
            n_resamples=n_resamples, confidence_level=confidence_level, seed=rng_for(seed, "estimate"),
        )
    for j, name in enumerate(("a", "b")):
        p = rec.params[name]
        rec.params[name] = Param(p.estimate, p.se, p.se_type, boot.low[j], boot.high[j], boot.method)
    rec.n_resamples, rec.n_failed_resamples = n_resamples, boot.n_failed
    rec.diagnostics["describes"] = est.describes
    return rec


def fit_with_null(estimator, L, S, counts=None, noise=None, *, n_resamples: int = MIN_RESAMPLES,
                  null_reps: int = 200, confidence_level: float = 0.95, seed=0,
                  group: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None
                  ) -> tuple[FitResult, FitResult]:
    """One estimator's fit (BCa intervals over documents) and its document null, with the
    two answers in the null record's ``diagnostics["trend"]`` and ``["vs_null"]``.

    ``noise`` is the null's sampling noise: a SentenceNoise, the documents' sentence-length
    sd, or None. Degenerate data (see ``degenerate_reason``) and an estimator that fails
    on the data give the not-fitted pair with the reason, never an exception.
    """
    est = get_estimator(estimator)
    L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)
    counts = np.asarray(counts, dtype=float) if counts is not None else np.round(L / S)
    extra = {"describes": est.describes, **dict(extra or {})}
    reason = degenerate_reason(L, S, counts)
    if reason is None:
        try:
            rec = fit_estimator(est, L, S, counts, n_resamples=n_resamples, confidence_level=confidence_level,
                                seed=seed, group=group)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                null = document_null(est, L, S, counts, noise, n_resamples=n_resamples, n_permutations=null_reps,
                                     confidence_level=confidence_level, seed=rng_for(seed, "null"), group=group)
        except _FIT_ERRORS as err:
            reason = f"{est.name} failed on these data: {type(err).__name__}: {err}"
    if reason is not None:
        return not_fitted_pair(est, L.size, reason, confidence_level=confidence_level, group=group, extra=extra)
    rec.diagnostics.update(extra)
    b, d = rec.params["b"], null.params["b_minus_null"]
    null.diagnostics["trend"] = conclusions.trend(b.ci_low, b.ci_high)
    null.diagnostics["vs_null"] = conclusions.vs_null(d.ci_low, d.ci_high)
    null.diagnostics.update(extra)
    return rec, null


def _fit_laws(law_objs, L, S, *, law_loss, confidence_level, group, extra, ycol) -> list[FitResult]:
    """Every law on the log-S scale with delta AICc; a law whose optimizer fails is kept
    as a record with NaN AICc and the reason (counted, not dropped)."""
    fits = []
    for law in law_objs:
        try:
            fits.append(law.fit(L, S, loss=law_loss, confidence_level=confidence_level, n_unit="documents",
                                group=group, analysis="law_comparison"))
        except _FIT_ERRORS as err:
            fits.append(FitResult(analysis="law_comparison", law=law.name, estimator="least_squares_log",
                                  params={p: Param(np.nan) for p in law.params}, n=L.size, n_unit="documents",
                                  confidence_level=confidence_level, formula=law.formula, group=dict(group),
                                  k=law.k + 1, converged=False, warnings=[f"not fitted: {type(err).__name__}: {err}"]))
    for f in fits:
        f.aicc_scale = f"log {ycol} (Gaussian)"
    ok = [f for f in fits if np.isfinite(f.aicc)]
    if ok:
        compare(ok)
    for f in fits:
        f.diagnostics.update(extra)
    return fits


def unit_noise(sentences: pd.DataFrame | None, used: pd.DataFrame, unit: str, *, corpus: str, seed) -> SentenceNoise:
    """The null's sampling noise for one unit: the corpus's own sentences when the sentence
    table is given, else a lognormal pool with the documents' pooled cv^2 (from S_sd)."""
    if sentences is not None:
        length_col = f"n_{unit}"
        if length_col not in sentences.columns:
            raise ValueError(f"corpus {corpus!r}: sentence table lacks column {length_col!r}")
        kept = sentences.loc[sentences["doc_id"].isin(set(used["doc_id"])), ["doc_id", length_col]]
        return SentenceNoise.from_sentences(kept[length_col].to_numpy(float), kept["doc_id"].to_numpy())
    sdcol = f"S_{unit}_sd"
    if sdcol not in used or "n_sentences" not in used:
        return SentenceNoise.none()
    return SentenceNoise.from_summaries(used[f"S_{unit}_mean"], used[sdcol], used["n_sentences"],
                                        seed=rng_for(seed, unit, "noise-pool"))


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

    Raises InsufficientData when fewer than ``min_docs`` documents are usable in a unit,
    or L or S has no spread (degenerate_reason), naming the corpus and unit.
    """
    if PRIMARY_ESTIMATOR not in estimators:
        raise ValueError(f"estimators must include {PRIMARY_ESTIMATOR!r}: the answers refer to it")
    ests = [get_estimator(name) for name in estimators]
    law_objs = [get_law(name) for name in laws]
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"n_resamples must be >= {MIN_RESAMPLES} for BCa intervals, got {n_resamples}")
    out: list[FitResult] = []
    for unit in units:
        used, n_excluded = usable_documents(docs, unit, corpus=corpus)
        xcol, ycol = f"L_{unit}", f"S_{unit}_mean"
        n = len(used)
        if n < max(min_docs, MIN_BOOTSTRAP_N):
            status = docs["status"].value_counts().to_dict() if "status" in docs else {}
            raise InsufficientData(
                f"corpus {corpus!r}, unit {unit!r}: {n} usable documents of {len(docs)} "
                f"({n_excluded} excluded; status counts {status}), need at least {max(min_docs, MIN_BOOTSTRAP_N)}"
            )
        L = used[xcol].to_numpy(dtype=float)
        S = used[ycol].to_numpy(dtype=float)
        counts = used["n_sentences"].to_numpy(dtype=float) if "n_sentences" in used else np.round(L / S)
        reason = degenerate_reason(L, S, counts)
        if reason is not None:
            raise InsufficientData(f"corpus {corpus!r}, unit {unit!r}: {reason}")
        check_power_data(L, S)
        noise = unit_noise(sentences, used, unit, corpus=corpus, seed=seed)
        group = {"corpus": corpus, "unit": unit, "x": xcol, "y": ycol, **dict(labels or {})}
        extra = {"n_excluded": n_excluded, "decades_x": decades(L), "L_min": float(L.min()), "L_max": float(L.max()),
                 "seed": seed}

        for est in ests:
            out.extend(fit_with_null(
                est, L, S, counts, noise, n_resamples=n_resamples, null_reps=null_reps,
                confidence_level=confidence_level, seed=rng_for(seed, unit, est.name), group=group, extra=extra,
            ))

        if sentences is not None:
            kept = sentences.loc[sentences["doc_id"].isin(set(used["doc_id"])), ["doc_id", f"n_{unit}"]]
            out.append(sentence_shuffle_null(kept, f"n_{unit}", null_reps, confidence_level=confidence_level,
                                             seed=rng_for(seed, unit, "null"), group=group))
        out.extend(_fit_laws(law_objs, L, S, law_loss=law_loss, confidence_level=confidence_level,
                             group=group, extra=extra, ycol=ycol))
    return out
