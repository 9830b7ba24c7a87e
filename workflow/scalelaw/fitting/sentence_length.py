"""Every fit of S = a L^b for one corpus, as FitResults.

:func:`fit_corpus` returns, per unit (words, tokens, chars):

* ``sentence_length``: each estimator's a and b, BCa bootstrap intervals over documents;
* ``null_document``: each estimator's b_null and b - b_null (nulls.document_null);
* ``null_sentence_shuffle``: the sentence-shuffle null of the OLS-log b (with sentences);
* ``law_comparison``: each law fitted on the log-S scale, with delta AICc and weights.

:func:`scalelaw.fitting.summary.summary` condenses their table to the conclusion.
Sub-tasks draw from generators keyed by (seed, unit, task), so output is identical for
identical inputs.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import conclusion as conclusions
from .bootstrap import MIN_RESAMPLES, bootstrap, rng_for
from .estimators import DEFAULT_ESTIMATORS, check_power_data, get_estimator
from .laws import compare, get_law
from .nulls import document_null, sentence_shuffle_null
from .result import FitResult, Param
from .summary import PRIMARY_ESTIMATOR, usable_documents

__all__ = ["InsufficientData", "decades", "fit_corpus", "fit_with_null"]

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
