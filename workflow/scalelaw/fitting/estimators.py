"""Estimators of S = a L^b, with one calling shape (as lifelines' fitters have).

Every estimator is an object with

* ``fit(L, S, n_sentences=None, *, confidence_level, group) -> FitResult``: the point
  estimate with its analytic standard errors (labelled honestly: HC3 where HC3 is
  computed, from the hat matrix for the GLMs);
* ``refit(L, S, n_sentences) -> array (2, ...)``: (a, b) for many resamples at once
  along the last axis, for the bootstrap and the null. A resample whose iteration did
  not converge comes back as NaN, so the bootstrap counts it as failed.

``ESTIMATORS`` is the one registry of names (the config schema's ``fit.estimators``
enum is tied to it by a test). ``a`` means different things by design: exp(intercept)
of OLS on logs is the median S at L = 1 (under symmetric noise), the Gamma GLM's is the
mean, a quantile fit's the quantile.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.diagnostic import het_breuschpagan, linear_reset

from .irls import (MAD_TO_SD, design, glm_jackknife, huber_irls, hc_sandwich, irls_log_link, labelled,
                   line_rows, one_step_jackknife, rows)
from .result import FitResult, Param

__all__ = [
    "DEFAULT_ESTIMATORS", "ESTIMATORS", "CountGLM", "Estimator", "GammaGLM", "HuberLog",
    "OLSLog", "QuantileLog", "check_power_data", "degenerate_reason", "get_estimator",
]



def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has {int((~np.isfinite(arr)).sum())} non-finite values")
    return arr


def check_power_data(L: Any, S: Any, counts: Any = None, *, min_n: int = 3):
    """Validate (L, S[, n_sentences]) for an S = a L^b fit and say exactly what is wrong."""
    L = _as_1d(L, "x (L)")
    S = _as_1d(S, "y (S)")
    if L.shape != S.shape:
        raise ValueError(f"x and y differ in length: {L.size} vs {S.size}")
    if counts is not None:
        counts = _as_1d(counts, "counts (n_sentences)")
        if counts.shape != L.shape:
            raise ValueError(f"counts and x differ in length: {counts.size} vs {L.size}")
        if np.any(counts <= 0):
            raise ValueError(f"counts has {int((counts <= 0).sum())} values <= 0")
    if L.size < min_n:
        raise ValueError(f"too few observations: n = {L.size}, need at least {min_n}")
    if np.any(L <= 0) or np.any(S <= 0):
        raise ValueError(
            f"x and y must be > 0 for a log-log fit: {int((L <= 0).sum())} x <= 0, {int((S <= 0).sum())} y <= 0"
        )
    if np.ptp(L) == 0:
        raise ValueError(f"all x values are equal ({L[0]:g}): the exponent b is undefined")
    return L, S, counts


def degenerate_reason(L: Any, S: Any, counts: Any = None) -> str | None:
    """Why (L, S[, n_sentences]) cannot give an exponent worth an interval, or None.

    Checked before any fit, so that degenerate data end in "not fitted" with this reason
    instead of an optimizer's error: S or L the same in every document, fewer than three
    distinct values of either (a bootstrap resample then has no spread half of the time),
    or one sentence count for all documents (S = L / n, so b = 1 by construction).
    """
    L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)
    for name, values in (("L (document length)", L), ("S (mean sentence length)", S)):
        distinct = np.unique(values)
        if distinct.size == 1:
            return f"{name} is {distinct[0]:g} in all {values.size} documents: nothing to fit"
        if distinct.size < 3:
            return f"{name} takes only {distinct.size} distinct values in {values.size} documents"
    if counts is not None:
        distinct = np.unique(np.asarray(counts, dtype=float))
        if distinct.size == 1:
            return (f"every document has {distinct[0]:g} sentence(s): S = L / {distinct[0]:g}, "
                    "so b = 1 by construction")
    return None


def _wald(est: float, se: float, level: float) -> tuple[float, float]:
    if not (np.isfinite(se) and se > 0):
        return math.nan, math.nan
    return tuple(float(v) for v in stats.norm.interval(level, loc=est, scale=se))


def _power_result(est: "Estimator", log_a: float, se_log_a: float, b: float, se_b: float, se_type: str,
                  n: int, level: float, group, diagnostics, warnings_=(), converged=True) -> FitResult:
    """The record for S = a L^b from (log a, b) and their standard errors."""
    lo, hi = _wald(log_a, se_log_a, level)
    wald = "Wald, normal quantile (analytic SE; a through log a)"
    a = math.exp(log_a)
    return FitResult(
        analysis="sentence_length", law="power", estimator=est.name, formula="S = a * L^b",
        params={
            "a": Param(a, a * se_log_a, f"{se_type}; delta method", math.exp(lo), math.exp(hi), wald),
            "b": Param(b, se_b, se_type, *_wald(b, se_b, level), wald.split(" (")[0]),
        },
        n=n, n_unit="documents", confidence_level=level, group=dict(group or {}),
        converged=bool(converged), diagnostics={"response": est.response, **diagnostics},
        warnings=list(warnings_),
    )


# ------------------------------------------------------------------ estimators


@dataclass(frozen=True)
class Estimator:
    """Base: ``fit`` for one sample, ``refit`` for many resamples at once."""

    name: str = ""
    response: str = ""
    uses_counts: bool = False
    # the quantity of S whose law in L the exponent b describes (conditional on the measured L)
    describes: str = ""
    # False when refit loops over resamples one by one (the null then draws fewer per resample)
    vectorized: bool = True

    def fit(self, L, S, n_sentences=None, *, confidence_level: float = 0.95,
            group: Mapping[str, Any] | None = None) -> FitResult:
        raise NotImplementedError

    def refit(self, L: np.ndarray, S: np.ndarray, n_sentences: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def resampler(self, L, S, n_sentences=None):
        """statistic(idx) -> (a, b) of the documents ``idx`` (any leading shape), for
        :func:`scalelaw.fitting.bootstrap.bootstrap`; transforms are computed once, not per
        resample."""
        L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)
        n = None if n_sentences is None else np.asarray(n_sentences, dtype=float)
        return lambda idx: self.refit(L[idx], S[idx], None if n is None else n[idx])

    def jackknife(self, L, S, n_sentences=None):
        """A callable giving the n leave-one-out (a, b) without refitting (exact for OLS,
        one Newton step for the GLMs and Huber), or None (then the bootstrap's BCa
        computes them by n refits, and uses the percentile interval above BCA_MAX_N)."""
        return None


@dataclass(frozen=True)
class OLSLog(Estimator):
    """OLS of log S on log L with HC3 errors: the estimator most papers use.

    Diagnostics: Breusch-Pagan p (residual variance changing with log L makes classical
    errors wrong) and Ramsey RESET p (curvature that a power law misses).
    """

    name: str = "ols_log"
    describes: str = "the geometric mean of S"
    response: str = "log S"

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, _ = check_power_data(L, S)
        X, logS = design(L), np.log(S)
        res = sm.OLS(logS, X).fit()
        robust = res.get_robustcov_results(cov_type="HC3")
        return _power_result(
            self, robust.params[0], robust.bse[0], robust.params[1], robust.bse[1],
            "HC3 (heteroskedasticity-robust, statsmodels OLS)", L.size, confidence_level, group,
            {"r2": float(res.rsquared), "r2_scale": "log S (R2)", "resid_sd": float(np.sqrt(res.scale)),
             "bp_pvalue": float(het_breuschpagan(res.resid, X)[1]),
             "reset_pvalue": float(linear_reset(res, power=3, test_type="fitted", use_f=True).pvalue)},
        )

    def refit(self, L, S, n_sentences=None):
        return self._line(np.log(L), np.log(S))

    @staticmethod
    def _line(x, z):
        xc, z2, mean, shape = rows(x, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            b0, b1 = line_rows(xc, z2, None)
        return np.stack([np.exp(b0 - b1 * mean).reshape(shape), b1.reshape(shape)])

    def resampler(self, L, S, n_sentences=None):
        """Per-resample sufficient statistics: resample counts times [1, x, z, x^2, xz]
        (x, z centred logs), one matrix product per batch; no gathering of the data."""
        V, mx, mz = self._moments(L, S)
        n = V.shape[0]
        # the first sum, of ones, is each resample's size: four columns to multiply
        V4 = np.ascontiguousarray(V[:, 1:])

        def statistic(idx):
            flat = idx.reshape(-1, idx.shape[-1])
            # one bincount per resample (its counts stay in cache), into float rows, so
            # that the sums are one float matrix product (an integer one skips BLAS)
            counts = np.empty((flat.shape[0], n))
            for row, resample in enumerate(flat):
                counts[row] = np.bincount(resample, minlength=n)
            sums = np.column_stack([np.full(flat.shape[0], float(flat.shape[1])), counts @ V4])
            out = self._from_sums(sums, mx, mz)
            return out.reshape((2,) + idx.shape[:-1])

        return statistic

    def jackknife(self, L, S, n_sentences=None):
        V, mx, mz = self._moments(L, S)
        return lambda: self._from_sums(V.sum(axis=0) - V, mx, mz)

    @staticmethod
    def _moments(L, S):
        x, z = np.log(np.asarray(L, dtype=float)), np.log(np.asarray(S, dtype=float))
        mx, mz = x.mean(), z.mean()
        xc, zc = x - mx, z - mz
        return np.column_stack([np.ones_like(xc), xc, zc, xc * xc, xc * zc]), mx, mz

    @staticmethod
    def _from_sums(sums, mx, mz):
        """(a, b) of OLS from rows of sums [n, Sx, Sz, Sxx, Sxz] of centred logs."""
        s1, sx, sz, sxx, sxz = (sums[:, j] for j in range(5))
        with np.errstate(divide="ignore", invalid="ignore"):
            b = (sxz - sx * sz / s1) / (sxx - sx * sx / s1)
        b = np.where(sxx - sx * sx / s1 > 1e-12 * np.maximum(sxx, 1e-300), b, np.nan)
        intercept = mz + (sz - b * sx) / s1 - b * mx
        return np.stack([np.exp(intercept), b])


@dataclass(frozen=True)
class GammaGLM(Estimator):
    """Gamma GLM with log link on S: models the mean E[S] = a L^b directly.

    Why: exp(intercept) of log-OLS estimates a median, and back-transforming it to a
    mean needs a noise model; the GLM avoids that. HC3 from the GLM's hat matrix
    (statsmodels' GLM gives HC0 whatever HC variant is asked for).
    """

    name: str = "gamma_glm"
    describes: str = "the mean of S"
    response: str = "S (mean)"

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, _ = check_power_data(L, S)
        X = design(L)
        family = sm.families.Gamma(link=sm.families.links.Log())
        res = sm.GLM(S, X, family=family).fit()
        mu = res.fittedvalues
        _, hc3 = hc_sandwich(X, (S - mu) / mu, np.ones_like(S))
        se = np.sqrt(np.diag(hc3))
        # Cox-Snell from the likelihood ratio against an intercept-only Gamma GLM fitted
        # with its own dispersion (statsmodels' pseudo_rsquared uses the full model's).
        null = sm.GLM(S, np.ones((S.size, 1)), family=family).fit()
        warn = [] if res.converged else ["statsmodels GLM did not converge"]
        return _power_result(
            self, res.params[0], se[0], res.params[1], se[1], "HC3 (GLM hat matrix, expected information)", L.size,
            confidence_level, group,
            {"r2": float(-math.expm1(2.0 * (null.llf - res.llf) / S.size)),
             "r2_scale": "S (Cox-Snell pseudo-R2, null with its own dispersion)",
             "dispersion": float(res.scale),
             "deviance_explained": float(1.0 - res.deviance / res.null_deviance)},
            warn, res.converged,
        )

    def refit(self, L, S, n_sentences=None):
        b0, b1 = irls_log_link(np.log(L), S, poisson=False)
        return np.stack([np.exp(b0), b1])

    def jackknife(self, L, S, n_sentences=None):
        L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)

        def leave_one_out():
            b = glm_jackknife(L, S, poisson=False)
            return np.stack([np.exp(b[0]), b[1]])

        return labelled(leave_one_out, "one-step leave-one-out jackknife")


@dataclass(frozen=True)
class CountGLM(Estimator):
    """Poisson GLM (log link) of the number of sentences on log L, with HC3 errors.

    S = L / n_sentences, so S = a L^b is n_sentences = L^(1-b) / a: the slope gamma of
    log E[n] on log L gives b = 1 - gamma and a = exp(-intercept). The Poisson
    quasi-likelihood estimates the mean model consistently whatever the dispersion, and
    the sandwich absorbs the dispersion. Without ``n_sentences`` counts are L / S.
    """

    name: str = "count_glm"
    describes: str = "L over the mean sentence count (S = L / E[n])"
    response: str = "n_sentences (count)"
    uses_counts: bool = True

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, counts = check_power_data(L, S, n_sentences)
        counts_from = "n_sentences" if counts is not None else "L / S"
        counts = counts if counts is not None else L / S
        X = design(L)
        res = sm.GLM(counts, X, family=sm.families.Poisson()).fit()
        mu = res.fittedvalues
        _, hc3 = hc_sandwich(X, counts - mu, mu)
        se = np.sqrt(np.diag(hc3))
        warn = [] if res.converged else ["statsmodels GLM did not converge"]
        return _power_result(
            self, -res.params[0], se[0], 1.0 - res.params[1], se[1], "HC3 (GLM hat matrix, quasi-Poisson)",
            L.size, confidence_level, group,
            {"r2": float(res.pseudo_rsquared(kind="cs")), "r2_scale": "n_sentences (Cox-Snell pseudo-R2)",
             "gamma": float(res.params[1]), "counts_from": counts_from,
             "pearson_dispersion": float(res.pearson_chi2 / res.df_resid)},
            warn, res.converged,
        )

    def refit(self, L, S, n_sentences=None):
        counts = n_sentences if n_sentences is not None else L / S
        b0, b1 = irls_log_link(np.log(L), counts, poisson=True)
        return np.stack([np.exp(-b0), 1.0 - b1])

    def jackknife(self, L, S, n_sentences=None):
        L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)
        counts = np.asarray(n_sentences, dtype=float) if n_sentences is not None else L / S

        def leave_one_out():
            b = glm_jackknife(L, counts, poisson=True)
            return np.stack([np.exp(-b[0]), 1.0 - b[1]])

        return labelled(leave_one_out, "one-step leave-one-out jackknife")


@dataclass(frozen=True)
class HuberLog(Estimator):
    """Robust regression (statsmodels RLM, Huber's T) of log S on log L.

    Why: a few documents with odd segmentation (lists, tables, verse) can pull OLS.
    RLM stops at its iteration cap without saying so; non-convergence is reported.
    """

    name: str = "huber"
    describes: str = "the geometric mean of S (outlying documents downweighted)"
    response: str = "log S"

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, _ = check_power_data(L, S)
        X, logS = design(L), np.log(S)
        norm = sm.robust.norms.HuberT()
        res = sm.RLM(logS, X, M=norm).fit(maxiter=500, tol=1e-10)
        converged = res.fit_history["iteration"] < 500
        tss = float(np.sum((logS - logS.mean()) ** 2))
        return _power_result(
            self, res.params[0], res.bse[0], res.params[1], res.bse[1], "RLM Huber sandwich (H1)",
            L.size, confidence_level, group,
            {"r2": 1.0 - float(np.sum((logS - res.fittedvalues) ** 2)) / tss if tss > 0 else math.nan,
             "r2_scale": "log S (R2 of the Huber fit)", "scale": float(res.scale),
             "n_downweighted": int(np.sum(res.weights < 1))},
            [] if converged else ["RLM reached 500 iterations without converging"], converged,
        )

    def refit(self, L, S, n_sentences=None):
        return self._irls(np.log(L), np.log(S))

    @staticmethod
    def _irls(x, z):
        b0, b1 = huber_irls(x, z, sm.robust.norms.HuberT().t)
        return np.stack([np.exp(b0), b1])

    def resampler(self, L, S, n_sentences=None):
        x, z = np.log(np.asarray(L, dtype=float)), np.log(np.asarray(S, dtype=float))
        return lambda idx: self._irls(x[idx], z[idx])

    def jackknife(self, L, S, n_sentences=None):
        x, z = np.log(np.asarray(L, dtype=float)), np.log(np.asarray(S, dtype=float))

        def leave_one_out():
            t = sm.robust.norms.HuberT().t
            beta = np.array(huber_irls(x, z, t), dtype=float)
            resid = z - beta[0] - beta[1] * x
            scale = np.median(np.abs(resid)) / MAD_TO_SD
            r = resid / scale if scale > 0 else np.zeros_like(resid)
            inside = (np.abs(r) <= t).astype(float)  # psi' of Huber's T; the scale held fixed
            X = np.column_stack([np.ones_like(x), x])
            b = one_step_jackknife(X, beta, scale * np.clip(r, -t, t), inside)
            return np.stack([np.exp(b[0]), b[1]])

        return labelled(leave_one_out, "one-step leave-one-out jackknife")


@dataclass(frozen=True)
class QuantileLog(Estimator):
    """Quantile regression (statsmodels QuantReg) of log S on log L at quantile q.

    Why: b at q = 0.1 and 0.9 differing from b at 0.5 means the spread of S changes
    with L. Resamples are refitted one by one (no vectorized form): opt-in, slow.
    """

    name: str = "quantile_0.5"
    response: str = "log S (quantile)"
    vectorized: bool = False
    q: float = 0.5

    def __post_init__(self):
        object.__setattr__(self, "describes", f"the {self.q:g} quantile of S")

    def _fit(self, L, S):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # iteration limit: reported through converged
            return sm.QuantReg(np.log(S), design(L)).fit(q=self.q, max_iter=5000)

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, _ = check_power_data(L, S)
        res = self._fit(L, S)
        converged = res.iterations < 5000
        return _power_result(
            self, res.params[0], res.bse[0], res.params[1], res.bse[1],
            "QuantReg sandwich (Epanechnikov kernel, Hall-Sheather bandwidth)", L.size,
            confidence_level, group,
            {"r2": float(res.prsquared), "r2_scale": "log S (Koenker-Machado pseudo-R1)", "q": self.q,
             "iterations": int(res.iterations)},
            [] if converged else ["QuantReg reached 5000 iterations"], converged,
        )

    def refit(self, L, S, n_sentences=None):
        L2, S2 = np.atleast_2d(L), np.atleast_2d(S)
        out = np.full((2, L2.shape[0]), np.nan)
        for i, (l, s) in enumerate(zip(L2, S2)):
            if np.ptp(l) == 0:
                continue
            try:
                res = self._fit(l, s)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if res.iterations < 5000:
                out[:, i] = math.exp(res.params[0]), res.params[1]
        return out.reshape((2,) + np.shape(L)[:-1])


ESTIMATORS: dict[str, Estimator] = {
    e.name: e
    for e in (
        OLSLog(), GammaGLM(), CountGLM(), HuberLog(),
        QuantileLog(name="quantile_0.1", q=0.1), QuantileLog(name="quantile_0.5", q=0.5),
        QuantileLog(name="quantile_0.9", q=0.9),
    )
}
# Quantile fits are opt-in: their resamples are refitted one by one.
DEFAULT_ESTIMATORS = ("ols_log", "gamma_glm", "count_glm", "huber")


def get_estimator(name: str | Estimator) -> Estimator:
    if isinstance(name, Estimator):
        return name
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}") from None
