"""What b must beat: nulls for S = a L^b, and b - b_null with its own interval.

S = L / n_sentences is a ratio of L, and a ratio tends to follow a power law of L even
when nothing links sentence length to document length (Ferrer-i-Cancho et al. 2014).
Two nulls, each saying what b would be if S did not depend on how long a document is:

* :func:`document_null` (decides the conclusion). Each document keeps its sentence
  count n but gets the level of mean sentence length of another document (a
  permutation), with the sampling noise a mean of n sentences has (see ``_null_data``).
  This keeps between-document variation in S, which alone makes b > 0 through L = n S,
  and it reproduces what i.i.d. sentences do to a document's mean: its noise shrinks
  and, on the log scale, its bias (about -cv^2 / (2 n)) fades as n grows. Resampling
  observed and null together: in each bootstrap resample of documents the estimator is
  fitted to the resample and to one null draw made from that resample, so the interval
  of b - b_null carries the variation of both. The same null serves every estimator,
  each fitted to it its own way (the count GLM included).
  Measured on simulated corpora (tests/test_fit_simulation.py): a plain permutation of S
  against n called i.i.d. sentences "longer sentences" in 4 of 10 seeds at 3,000
  documents (OLS on logs) and "shorter sentences" in 8 of 8 for the count GLM, which
  weights long documents, whose S is the most precise; with the noise matched, none.
* :func:`sentence_shuffle_null` (reported beside it): sentences shuffled across
  documents, each keeping its sentence count; models within-document sampling noise
  only, so it misses between-document differences.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from .bootstrap import bootstrap, rng_for
from .estimators import Estimator, get_estimator
from .result import FitResult, Param

__all__ = ["document_null", "sentence_shuffle_null"]

_BATCH_VALUES = 4_000_000


def _permute_rows(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.permuted(np.broadcast_to(np.arange(shape[-1]), shape), axis=-1)


def _null_data(S, n, cv2, perm, z):
    """(L, S, n) of one null draw per row: document i keeps its count n_i and gets the
    level of document perm[i], with the sampling noise a mean of n_i sentences has.

    The observed log S_j is a document level plus sampling noise of variance
    v_j = cv_j^2 / n_j. The levels are recovered by shrinking log S towards its mean so
    that their spread is the between-document variance tau^2 = var(log S) - mean(v)
    (method of moments, at least 0); document i then draws
    log S'_i = level_perm[i] - v_i / 2 + sqrt(v_i) z, v_i = cv_perm[i]^2 / n_i
    (the -v/2 is the small-sample bias of a log of a mean). So the null keeps the
    between-document variation, and each document's noise (and bias) matches its own
    sentence count: i.i.d. sentences are reproduced, and so are documents that differ.
    """
    logS = np.log(S)
    v = cv2 / n
    m = logS.mean(axis=-1, keepdims=True)
    tau2 = np.maximum(logS.var(axis=-1, keepdims=True) - v.mean(axis=-1, keepdims=True), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(tau2 + v > 0, np.sqrt(tau2 / (tau2 + v)), 0.0)
    level = m + (logS - m) * shrink
    v_new = np.take_along_axis(cv2, perm, -1) / n
    S_null = np.exp(np.take_along_axis(level, perm, -1) - v_new / 2 + np.sqrt(v_new) * z)
    return n * S_null, S_null, n


def document_null(
    estimator: str | Estimator,
    L: Any,
    S: Any,
    n_sentences: Any,
    S_sd: Any = None,
    *,
    n_resamples: int = 1000,
    n_permutations: int = 200,
    confidence_level: float = 0.95,
    seed: int | np.random.Generator = 0,
    group: Mapping[str, Any] | None = None,
) -> FitResult:
    """b_null and b - b_null for ``estimator`` under the document-level permutation null.

    Returns a FitResult (analysis "null_document") with parameters ``b_null`` (the mean
    over ``n_permutations`` permutations of the full sample; interval: the central range
    of those permutations) and ``b_minus_null`` (b minus that mean; interval: percentile
    bootstrap over documents, each resample fitted observed and permuted).
    """
    est = get_estimator(estimator)
    L = np.asarray(L, dtype=float)
    S = np.asarray(S, dtype=float)
    n = np.asarray(n_sentences, dtype=float)
    warnings_ = []
    if S_sd is None:
        cv2 = np.zeros_like(S)
        warnings_.append("no sentence-length sd: the null has no sampling noise of its own")
    else:
        sd = np.asarray(S_sd, dtype=float)
        cv2 = np.where(np.isfinite(sd) & (n > 1), (sd / S) ** 2, 0.0)
    b_obs = float(est.refit(L, S, n)[1])

    perm_rng = rng_for(seed, "permutations")
    rows = max(1, min(n_permutations, _BATCH_VALUES // L.size))
    null_b = []
    for done in range(0, n_permutations, rows):
        m = min(rows, n_permutations - done)
        perm = _permute_rows(perm_rng, (m, L.size))
        z = perm_rng.standard_normal(perm.shape)
        null_b.append(est.refit(*_null_data(np.broadcast_to(S, perm.shape), np.broadcast_to(n, perm.shape),
                                             np.broadcast_to(cv2, perm.shape), perm, z))[1])
    null_b = np.concatenate(null_b)
    n_failed_perm = int((~np.isfinite(null_b)).sum())
    b_null = float(np.nanmean(null_b))
    tail = (1 - confidence_level) / 2
    null_low, null_high = np.nanquantile(null_b, [tail, 1 - tail])

    inner_rng = rng_for(seed, "resample-permutations")

    def statistic(idx: np.ndarray) -> np.ndarray:
        Li, Si, ni, ci = L[idx], S[idx], n[idx], cv2[idx]
        b = est.refit(Li, Si, ni)[1]
        b0 = est.refit(*_null_data(Si, ni, ci, _permute_rows(inner_rng, idx.shape),
                                   inner_rng.standard_normal(idx.shape)))[1]
        return b - b0

    # Percentile, not BCa: the statistic holds a random permutation, which BCa's
    # jackknife cannot treat as a fixed function of the documents.
    boot = bootstrap(statistic, L.size, unit="documents", n_resamples=n_resamples,
                     confidence_level=confidence_level, method="percentile", seed=rng_for(seed, "resamples"))
    d_low, d_high = float(boot.low[0]), float(boot.high[0])
    method = (f"{boot.method}; each resample fitted as observed and as a null draw (document levels "
              "permuted against sentence counts, sampling noise matched)")
    return FitResult(
        analysis="null_document", law="power", estimator=est.name, formula="S = a * L^b",
        params={
            "b_null": Param(b_null, float(np.nanstd(null_b, ddof=1)), "sd over permutations", null_low, null_high,
                            f"central range of {n_permutations} null draws (document levels permuted against sentence counts)"),
            "b_minus_null": Param(b_obs - b_null, float(boot.se[0]), "bootstrap", d_low, d_high, method),
        },
        n=L.size, n_unit="documents", confidence_level=confidence_level, group=dict(group or {}),
        n_resamples=n_resamples, n_failed_resamples=boot.n_failed,
        diagnostics={"b_observed": b_obs, "n_permutations": n_permutations,
                     "n_failed_permutations": n_failed_perm,
                     "sampling_noise_matched": S_sd is not None},
        warnings=warnings_,
    )


def _compact_integers(values: np.ndarray) -> np.ndarray:
    """``values`` as uint16 or uint32 when they are whole numbers that fit, else float64."""
    if values.size and np.all(values == np.round(values)):
        for dtype in (np.uint16, np.uint32):
            if values.max() <= np.iinfo(dtype).max:
                return values.astype(dtype)
    return values


def _masked_loglog_slope(L: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """OLS slope of log(L / counts) on log L per row, skipping documents with L <= 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.where(L > 0, np.log(np.where(L > 0, L, 1.0)), np.nan)
        ly = lx - np.log(counts)
        ok = np.isfinite(lx)
        m = ok.sum(axis=-1, keepdims=True)
        mx = np.where(ok, lx, 0.0).sum(axis=-1, keepdims=True) / m
        my = np.where(ok, ly, 0.0).sum(axis=-1, keepdims=True) / m
        dx = np.where(ok, lx - mx, 0.0)
        dy = np.where(ok, ly - my, 0.0)
        return (dx * dy).sum(axis=-1) / (dx * dx).sum(axis=-1)


def sentence_shuffle_null(
    sentences: pd.DataFrame,
    length_col: str,
    n_reps: int = 200,
    *,
    doc_col: str = "doc_id",
    confidence_level: float = 0.95,
    seed: int | np.random.Generator = 0,
    group: Mapping[str, Any] | None = None,
) -> FitResult:
    """The OLS-log exponent after shuffling sentence lengths across documents.

    Each document keeps its sentence count; L (sum) and S (mean) are recomputed and the
    slope refitted, ``n_reps`` times (vectorized: one permutation per row). Returns a
    FitResult (analysis "null_sentence_shuffle") with ``b_null`` = the mean over reps
    and the central range of the reps as its interval; ``diagnostics["b_observed"]`` is
    the same fit on the unshuffled table.
    """
    for col in (doc_col, length_col):
        if col not in sentences.columns:
            raise ValueError(f"sentence table has no {col!r} column")
    if n_reps < 1:
        raise ValueError(f"n_reps must be >= 1, got {n_reps}")
    codes, uniques = pd.factorize(sentences[doc_col], sort=False)
    if len(uniques) < 3:
        raise ValueError(f"the sentence-shuffle null needs at least 3 documents, got {len(uniques)}")
    order = np.argsort(codes, kind="stable")
    values = sentences[length_col].to_numpy(dtype=float)[order]
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{length_col} must be finite and >= 0")
    counts = np.bincount(codes, minlength=len(uniques)).astype(float)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    b_observed = float(_masked_loglog_slope(np.add.reduceat(values, starts), counts))
    rng = rng_for(seed)
    # Lengths are counts: shuffling them as the smallest integer type that holds them keeps
    # the array in cache (a float64 copy of a large corpus does not fit), and a shuffle of
    # one contiguous row at a time is several times faster than Generator.permuted(axis=1).
    compact = _compact_integers(values)
    reps = np.empty(n_reps)
    for r in range(n_reps):
        row = compact.copy()
        rng.shuffle(row)
        sums = np.add.reduceat(row, starts, dtype=np.int64 if row.dtype.kind in "iu" else float)
        reps[r] = _masked_loglog_slope(sums.astype(float), counts)
    tail = (1 - confidence_level) / 2
    low, high = np.nanquantile(reps, [tail, 1 - tail])
    return FitResult(
        analysis="null_sentence_shuffle", law="power", estimator="ols_log", formula="S = a * L^b",
        params={"b_null": Param(float(np.nanmean(reps)), float(np.nanstd(reps, ddof=1)), "sd over shuffles",
                                low, high, f"central range of {n_reps} sentence shuffles")},
        n=len(uniques), n_unit="documents", confidence_level=confidence_level, group=dict(group or {}),
        n_failed_resamples=int((~np.isfinite(reps)).sum()),
        diagnostics={"b_observed": b_observed, "n_sentences": int(values.size), "n_reps": n_reps},
    )

