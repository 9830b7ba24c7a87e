"""One bootstrap for every fit: resample a named unit, get intervals from scipy.stats.

The unit is what is independent in the data: documents for S = a L^b, prompts for a
per-prompt fit, models (with prompts within them) for a law over models, runs,
clusters. :func:`bootstrap` resamples *unit indices* and hands them to the statistic,
so one function serves paired arrays, clusters of rows and two-stage designs alike:

    def statistic(idx):                 # idx: int array (..., n_units), vectorized
        return estimator.refit(L[idx], S[idx])   # -> shape (k, ...)

    res = bootstrap(statistic, n_units=len(L), unit="documents", seed=0)
    res.low, res.high, res.method, res.n_failed

Intervals are ``scipy.stats.bootstrap``'s (BCa by default; percentile above
``BCA_MAX_N`` units, where scipy's jackknife costs n statistics on n - 1 units).
A statistic with a jackknife that needs no refits (``jackknife=``: exact for OLS from
sufficient statistics, one Newton step from the full fit for the GLMs and Huber, see
``Estimator.jackknife``) gets BCa at any n: the resamples are the ones scipy would draw
(:func:`resample_indices`) and :func:`bca_interval` applies scipy's BCa formulas with
the leave-one-out statistics from the closed form instead of n refits
(tests/test_fit.py checks that the interval equals scipy's).
A resample whose statistic is not finite (an optimizer that failed, a resample without
spread) is counted in ``n_failed``; when any failed, the interval is the percentile one
over the finite resamples and ``method`` says how many were excluded. Nothing is
dropped in silence.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

from .result import N_UNITS

__all__ = ["BCA_MAX_N", "MIN_RESAMPLES", "BootstrapResult", "bca_interval", "bootstrap", "resample_indices",
           "rng_for"]

MIN_RESAMPLES = 1000
# BCa's acceleration needs a jackknife: n statistics on n - 1 units each (scipy computes
# it by resampling): O(n^2) work. Above this many units the percentile interval is used;
# the corrections BCa makes shrink as n^(-1/2), and the method is recorded.
BCA_MAX_N = 10_000
# Cap on the number of unit indices one batch of resamples holds (~32 MB of int64).
_BATCH_VALUES = 4_000_000
# The closed-form path streams small batches (about 8 MB of indices and 8 MB of counts),
# which stay in cache: at n = 100,000, batches of 10 resamples took 1.2 s for 2,000
# resamples against 2.2 s in batches of 40 (and 4.7 s one at a time, where each matrix
# product is a single row).
_CLOSED_FORM_BATCH_VALUES = 1 << 20


def rng_for(seed: int | np.random.Generator, *keys: str) -> np.random.Generator:
    """A generator for one named sub-task, so adding a unit or estimator shifts no other."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng([int(seed), *(zlib.crc32(k.encode()) for k in keys)])


@dataclass
class BootstrapResult:
    """Intervals for each statistic (arrays of length k) and how they were made."""

    low: np.ndarray
    high: np.ndarray
    se: np.ndarray
    method: str
    unit: str
    n: int
    n_resamples: int
    n_failed: int
    distribution: np.ndarray  # (k, n_resamples), failed resamples as NaN
    confidence_level: float


def bootstrap(
    statistic: Callable[..., np.ndarray],
    n_units: int | tuple[int, ...],
    *,
    unit: str = "documents",
    n_resamples: int = MIN_RESAMPLES,
    confidence_level: float = 0.95,
    method: str = "BCa",
    seed: int | np.random.Generator = 0,
    jackknife: Callable[[], np.ndarray] | None = None,
) -> BootstrapResult:
    """Resample ``n_units`` unit indices with replacement; intervals for ``statistic``.

    ``statistic(idx)`` gets an int array of shape (..., m) (m = n_units for resamples,
    n_units - 1 for BCa's jackknife) and returns shape (k, ...) or (...) for one value.
    ``method`` is "BCa", "percentile" or "basic" (scipy's names). ``jackknife()``
    returns the n leave-one-out statistics, shape (k, n), in closed form (BCa at any n).
    ``n_units`` as a tuple (n_1, ..., n_s) resamples within strata (e.g. runs within
    compute budgets): ``statistic(idx_1, ..., idx_s)`` gets one index array per stratum.
    """
    from scipy import stats  # here, not at the top: 0.6 s that table-only jobs need not pay

    if unit not in N_UNITS:
        raise ValueError(f"unit must be one of {N_UNITS}, got {unit!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level}")
    strata = tuple(int(n) for n in n_units) if isinstance(n_units, (tuple, list)) else None
    if strata is not None:
        if jackknife is not None or method == "BCa":
            raise ValueError("a stratified bootstrap takes method='percentile' or 'basic' and no jackknife")
        if min(strata) < 1:
            raise ValueError(f"every stratum needs at least 1 {unit}, got {strata}")
        n_units = sum(strata)
    if n_units < 2:
        raise ValueError(f"bootstrap over {unit} needs at least 2 {unit}, got {n_units}")
    if method not in ("BCa", "percentile", "basic"):
        raise ValueError(f"method must be BCa, percentile or basic, got {method!r}")
    interval = "percentile" if method == "BCa" and n_units > BCA_MAX_N and jackknife is None else method
    rng = rng_for(seed)
    if jackknife is not None:
        batch = max(4, min(n_resamples, _CLOSED_FORM_BATCH_VALUES // n_units))
        return _closed_form_path(statistic, jackknife, n_units, method=method, unit=unit, n_resamples=n_resamples,
                                 confidence_level=confidence_level, rng=rng, batch=batch)
    batch = max(1, min(n_resamples, _BATCH_VALUES // n_units))

    def wrapped(*idx: np.ndarray, axis: int = -1) -> np.ndarray:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(statistic(*(np.moveaxis(i, axis, -1).astype(np.intp) for i in idx)), dtype=float)

    samples = tuple(np.arange(n) for n in strata) if strata is not None else (np.arange(n_units),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate-data and NaN warnings: counted below
        res = stats.bootstrap(
            samples, wrapped, n_resamples=n_resamples, batch=batch, paired=False,
            vectorized=True, confidence_level=confidence_level, method=interval, rng=rng,
        )
    dist = np.atleast_2d(res.bootstrap_distribution)
    failed = ~np.all(np.isfinite(dist), axis=0)
    n_failed = int(failed.sum())
    low = np.atleast_1d(np.asarray(res.confidence_interval.low, dtype=float))
    high = np.atleast_1d(np.asarray(res.confidence_interval.high, dtype=float))
    if strata is not None:
        unit = f"{unit} within {len(strata)} strata"
    described = f"{interval} bootstrap over {unit}, {n_resamples} resamples"
    if n_failed or not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        ok = dist[:, ~failed]
        if ok.shape[1] < 2:
            low = high = np.full(dist.shape[0], np.nan)
        else:
            tail = (1 - confidence_level) / 2
            low, high = np.quantile(ok, [tail, 1 - tail], axis=1)
        described = (
            f"percentile bootstrap over {unit}, {n_resamples - n_failed} of {n_resamples} "
            f"resamples ({n_failed} failed and excluded)"
            if n_failed else f"percentile bootstrap over {unit}, {n_resamples} resamples ({interval} undefined)"
        )
    se = np.nanstd(dist, axis=1, ddof=1) if dist.shape[1] > 1 else np.full(dist.shape[0], np.nan)
    return BootstrapResult(
        low=low, high=high, se=se, method=described, unit=unit.split(" within ")[0], n=n_units,
        n_resamples=n_resamples, n_failed=n_failed, distribution=dist,
        confidence_level=confidence_level,
    )


def resample_indices(rng: np.random.Generator, n_units: int, n_resamples: int, batch: int):
    """The unit indices of the resamples drawn on the closed-form path, in batches of
    ``batch`` rows: ``rng.integers(0, n_units, (batch, n_units))``, the stream
    scipy.stats.bootstrap draws from the same generator (whatever the batch size).
    Benchmarks reuse this to give a baseline the very same resamples."""
    done = 0
    while done < n_resamples:
        m = min(batch, n_resamples - done)
        yield rng.integers(0, n_units, (m, n_units))
        done += m


def _prefetched(batches):
    """The items of ``batches``, each drawn in a background thread while the caller works
    on the one before. numpy fills random arrays without the GIL, so drawing overlaps
    with counting (measured at n = 100,000: 1.3 s -> 0.7 to 0.9 s for 2,000 resamples on
    2 cores; numpy's BLAS already uses every core in any job). The draws stay one
    sequential stream: results are identical with or without a second core."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="resample-draws") as pool:
        pending = pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            yield batch


def bca_interval(dist: np.ndarray, theta_hat: np.ndarray, jackknife_values: np.ndarray,
                 confidence_level: float) -> tuple[np.ndarray, np.ndarray]:
    """BCa limits from a bootstrap distribution (k, B), the estimate (k,) and the n
    leave-one-out statistics (k, n), with scipy.stats.bootstrap's formulas (Efron and
    Tibshirani 14.3, 15.4): equal to scipy's BCa on the same draws (tested)."""
    from scipy import stats

    n_resamples, n = dist.shape[1], jackknife_values.shape[1]
    tail = (1 - confidence_level) / 2
    # z0 from the share of resamples below the estimate (ties count half), as scipy
    below = ((dist < theta_hat[:, None]).sum(axis=1) + (dist <= theta_hat[:, None]).sum(axis=1)) / (2 * n_resamples)
    z0 = special.ndtri(below)
    U = (n - 1) * (jackknife_values.mean(axis=1, keepdims=True) - jackknife_values)
    accel = (U**3).sum(axis=1) / n**3 / 6 / ((U**2).sum(axis=1) / n**2) ** 1.5
    z = special.ndtri(tail)
    a1 = special.ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    a2 = special.ndtr(z0 + (z0 - z) / (1 - accel * (z0 - z)))
    low = np.array([stats.quantile(dist[j], a1[j]) for j in range(dist.shape[0])])
    high = np.array([stats.quantile(dist[j], a2[j]) for j in range(dist.shape[0])])
    return low, high


def _closed_form_path(statistic, jackknife, n, *, method, unit, n_resamples, confidence_level, rng, batch):
    """Resamples from :func:`resample_indices`, the interval from their distribution; BCa's
    acceleration from the closed-form jackknife instead of n refits."""
    from scipy import stats

    with np.errstate(all="ignore"):
        dist = np.concatenate([np.atleast_2d(np.asarray(statistic(idx), dtype=float))
                               for idx in _prefetched(resample_indices(rng, n, n_resamples, batch))], axis=-1)
        theta_hat = np.atleast_1d(np.asarray(statistic(np.arange(n)), dtype=float))
        jk = np.atleast_2d(np.asarray(jackknife(), dtype=float)) if method == "BCa" else None
    failed = ~np.all(np.isfinite(dist), axis=0)
    n_failed = int(failed.sum())
    tail = (1 - confidence_level) / 2
    if n_failed or (jk is not None and not np.all(np.isfinite(jk))):
        ok = dist[:, ~failed]
        low, high = np.quantile(ok, [tail, 1 - tail], axis=1) if ok.shape[1] > 1 else (np.nan, np.nan)
        described = (f"percentile bootstrap over {unit}, {n_resamples - n_failed} of {n_resamples} "
                     f"resamples ({n_failed} failed and excluded)")
    elif method == "BCa":
        low, high = bca_interval(dist, theta_hat, jk, confidence_level)
        described = f"BCa bootstrap over {unit}, {n_resamples} resamples ({getattr(jackknife, 'label', 'closed-form jackknife')})"
    else:
        q_low = np.array([stats.quantile(d, tail) for d in dist])
        q_high = np.array([stats.quantile(d, 1 - tail) for d in dist])
        low, high = (q_low, q_high) if method == "percentile" else (2 * theta_hat - q_high, 2 * theta_hat - q_low)
        described = f"{method} bootstrap over {unit}, {n_resamples} resamples"
    se = np.nanstd(dist, axis=1, ddof=1)
    return BootstrapResult(low=np.atleast_1d(low), high=np.atleast_1d(high), se=se, method=described, unit=unit,
                           n=n, n_resamples=n_resamples, n_failed=n_failed, distribution=dist,
                           confidence_level=confidence_level)
