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

from .result import FitResult, Param

__all__ = [
    "DEFAULT_ESTIMATORS", "ESTIMATORS", "CountGLM", "Estimator", "GammaGLM", "HuberLog",
    "OLSLog", "QuantileLog", "check_power_data", "get_estimator",
]

_IRLS_MAX_ITER = 200
_IRLS_TOL = 1e-10
_MAD_TO_SD = 0.6744897501960817


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


def _design(L: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(L), np.log(L)])


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


def _hc_sandwich(X: np.ndarray, score_resid: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HC0 and HC3 covariances of a GLM with log link from its hat matrix.

    Bread X' W X with working weights W; score contributions x_i * score_resid_i;
    HC3 divides each by (1 - h_ii), h_ii = w_i x_i' (X'WX)^-1 x_i.
    """
    bread_inv = np.linalg.inv(X.T @ (weights[:, None] * X))
    h = weights * np.einsum("ij,jk,ik->i", X, bread_inv, X)
    def sandwich(u):
        meat = (X * u[:, None] ** 2).T @ X
        return bread_inv @ meat @ bread_inv
    return sandwich(score_resid), sandwich(score_resid / (1.0 - np.clip(h, None, 1 - 1e-12)))


def _one_step_jackknife(X: np.ndarray, beta: np.ndarray, score_resid: np.ndarray, weights: np.ndarray):
    """Leave-one-out coefficients (2, n) of an M-estimator (a GLM, Huber) by one Newton step
    from the full fit: beta - A^-1 x_i u_i / (1 - h_ii), A = X' W X, h_ii = w_i x_i' A^-1 x_i.
    Exact for least squares; for the GLMs and Huber the standard approximate leave-one-out
    (its error is of order 1/n^2 per coefficient, against the 1/n effect of a deletion).
    BCa needs these only for its acceleration, which is a ratio of their moments."""
    A_inv = np.linalg.inv(X.T @ (weights[:, None] * X))
    h = weights * np.einsum("ij,jk,ik->i", X, A_inv, X)
    step = (X * (score_resid / (1.0 - np.clip(h, None, 1 - 1e-12)))[:, None]) @ A_inv
    return (beta[None, :] - step).T


def _glm_jackknife(L: np.ndarray, y: np.ndarray, poisson: bool) -> np.ndarray:
    """One-step leave-one-out coefficients (2, n) of the log-link GLM of y on log L
    (Poisson: working weights mu, score y - mu; Gamma: weights 1, score (y - mu) / mu)."""
    X = _design(L)
    beta = np.array(_irls_log_link(np.log(L), y, poisson=poisson), dtype=float)
    mu = np.exp(X @ beta)
    if poisson:
        return _one_step_jackknife(X, beta, y - mu, mu)
    return _one_step_jackknife(X, beta, (y - mu) / mu, np.ones_like(y))


def _labelled(fn, label: str):
    fn.label = label
    return fn


# ------------------------------------------------------------------ vectorized refits


def _rows(x, y):
    """x and y broadcast to rows of shape (R, n), with x centred per row, and the row means
    of x: the IRLS loops below work on 2-D rows and restore the leading shape at the end."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    shape = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    mean = x2.mean(axis=1)
    return np.ascontiguousarray(x2 - mean[:, None]), np.ascontiguousarray(y.reshape(x2.shape)), mean, shape


def _line_rows(xc, z, w):
    """Weighted least squares of z on [1, xc] per row of 2-D arrays (xc centred per row):
    five weighted sums per row, no centred temporaries. Returns (intercept, slope) in xc."""
    if w is None:
        sw = np.full(xc.shape[0], float(xc.shape[1]))
        swx, swz = xc.sum(axis=1), z.sum(axis=1)
        swxx, swxz = np.einsum("ij,ij->i", xc, xc), np.einsum("ij,ij->i", xc, z)
    else:
        wx = w * xc
        sw, swz = w.sum(axis=1), np.einsum("ij,ij->i", w, z)
        swx, swxx, swxz = wx.sum(axis=1), np.einsum("ij,ij->i", wx, xc), np.einsum("ij,ij->i", wx, z)
    slope = (swxz - swx * swz / sw) / (swxx - swx * swx / sw)
    return (swz - slope * swx) / sw, slope


def _iterate_rows(xc, y, start, step):
    """Run ``step`` on the rows that have not converged yet (slope change within
    _IRLS_TOL), so that a few slow resamples do not keep every row iterating.
    ``start(xc, y) -> (slope, state)``, ``step(xc, y, state) -> (b0, b1, state)``; returns
    (b0, b1) per row, NaN where the cap was reached or the fit is not finite."""
    n_rows = xc.shape[0]
    b0, b1 = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
    active = np.arange(n_rows)
    last, state = start(xc, y)
    for _ in range(_IRLS_MAX_ITER):
        new0, new1, state = step(xc, y, state)
        done = np.abs(new1 - last) <= _IRLS_TOL * np.maximum(1.0, np.abs(new1))
        if done.any():
            b0[active[done]], b1[active[done]] = new0[done], new1[done]
            keep = ~done
            active, xc, y, last = active[keep], xc[keep], y[keep], new1[keep]
            state = tuple(s[keep] for s in state)
        else:
            last = new1
        if active.size == 0:
            break
    ok = np.isfinite(b1)
    return np.where(ok, b0, np.nan), np.where(ok, b1, np.nan)


def _irls_log_link(x, y, poisson: bool):
    """IRLS for a log-link GLM (Poisson: weights mu; Gamma: weights 1), as statsmodels GLM,
    on every row at once. Rows that have not converged after the cap come back NaN."""
    xc, y2, mean, shape = _rows(x, y)

    def start(xc, y):
        mu = (y + y.mean(axis=1, keepdims=True)) / 2.0  # statsmodels' starting mu
        return np.zeros(y.shape[0]), (mu,)

    def step(xc, y, state):
        (mu,) = state
        z = np.log(mu) + (y - mu) / mu
        b0, b1 = _line_rows(xc, z, mu if poisson else None)
        return b0, b1, (np.exp(b0[:, None] + b1[:, None] * xc),)

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        b0, b1 = _iterate_rows(xc, y2, start, step)
    return (b0 - b1 * mean).reshape(shape), b1.reshape(shape)


def _huber_irls(x, z, t: float):
    """statsmodels RLM with HuberT(t) and its MAD scale, reweighted to convergence, on every
    row. A row whose MAD scale is 0 keeps equal weights (its OLS line) instead of NaN."""
    xc, z2, mean, shape = _rows(x, z)

    def residuals(xc, z, b0, b1):
        resid = z - b0[:, None] - b1[:, None] * xc
        scale = np.median(np.abs(resid), axis=1, keepdims=True) / _MAD_TO_SD
        return resid, scale

    def start(xc, z):
        b0, b1 = _line_rows(xc, z, None)
        return b1, residuals(xc, z, b0, b1)

    def step(xc, z, state):
        resid, scale = state
        r = np.where(scale > 0, np.abs(resid) / np.where(scale > 0, scale, 1.0), 0.0)
        weights = np.where(r <= t, 1.0, t / np.maximum(r, t))
        b0, b1 = _line_rows(xc, z, weights)
        return b0, b1, residuals(xc, z, b0, b1)

    with np.errstate(divide="ignore", invalid="ignore"):
        b0, b1 = _iterate_rows(xc, z2, start, step)
    return (b0 - b1 * mean).reshape(shape), b1.reshape(shape)


# ------------------------------------------------------------------ estimators


@dataclass(frozen=True)
class Estimator:
    """Base: ``fit`` for one sample, ``refit`` for many resamples at once."""

    name: str = ""
    response: str = ""
    uses_counts: bool = False

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
    response: str = "log S"

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, _ = check_power_data(L, S)
        X, logS = _design(L), np.log(S)
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
        xc, z2, mean, shape = _rows(x, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            b0, b1 = _line_rows(xc, z2, None)
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
    response: str = "S (mean)"

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, _ = check_power_data(L, S)
        X = _design(L)
        family = sm.families.Gamma(link=sm.families.links.Log())
        res = sm.GLM(S, X, family=family).fit()
        mu = res.fittedvalues
        _, hc3 = _hc_sandwich(X, (S - mu) / mu, np.ones_like(S))
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
        b0, b1 = _irls_log_link(np.log(L), S, poisson=False)
        return np.stack([np.exp(b0), b1])

    def jackknife(self, L, S, n_sentences=None):
        L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)

        def leave_one_out():
            b = _glm_jackknife(L, S, poisson=False)
            return np.stack([np.exp(b[0]), b[1]])

        return _labelled(leave_one_out, "one-step leave-one-out jackknife")


@dataclass(frozen=True)
class CountGLM(Estimator):
    """Poisson GLM (log link) of the number of sentences on log L, with HC3 errors.

    S = L / n_sentences, so S = a L^b is n_sentences = L^(1-b) / a: the slope gamma of
    log E[n] on log L gives b = 1 - gamma and a = exp(-intercept). The Poisson
    quasi-likelihood estimates the mean model consistently whatever the dispersion, and
    the sandwich absorbs the dispersion. Without ``n_sentences`` counts are L / S.
    """

    name: str = "count_glm"
    response: str = "n_sentences (count)"
    uses_counts: bool = True

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, counts = check_power_data(L, S, n_sentences)
        counts_from = "n_sentences" if counts is not None else "L / S"
        counts = counts if counts is not None else L / S
        X = _design(L)
        res = sm.GLM(counts, X, family=sm.families.Poisson()).fit()
        mu = res.fittedvalues
        _, hc3 = _hc_sandwich(X, counts - mu, mu)
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
        b0, b1 = _irls_log_link(np.log(L), counts, poisson=True)
        return np.stack([np.exp(-b0), 1.0 - b1])

    def jackknife(self, L, S, n_sentences=None):
        L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)
        counts = np.asarray(n_sentences, dtype=float) if n_sentences is not None else L / S

        def leave_one_out():
            b = _glm_jackknife(L, counts, poisson=True)
            return np.stack([np.exp(-b[0]), 1.0 - b[1]])

        return _labelled(leave_one_out, "one-step leave-one-out jackknife")


@dataclass(frozen=True)
class HuberLog(Estimator):
    """Robust regression (statsmodels RLM, Huber's T) of log S on log L.

    Why: a few documents with odd segmentation (lists, tables, verse) can pull OLS.
    RLM stops at its iteration cap without saying so; non-convergence is reported.
    """

    name: str = "huber"
    response: str = "log S"

    def fit(self, L, S, n_sentences=None, *, confidence_level=0.95, group=None):
        L, S, _ = check_power_data(L, S)
        X, logS = _design(L), np.log(S)
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
        b0, b1 = _huber_irls(x, z, sm.robust.norms.HuberT().t)
        return np.stack([np.exp(b0), b1])

    def resampler(self, L, S, n_sentences=None):
        x, z = np.log(np.asarray(L, dtype=float)), np.log(np.asarray(S, dtype=float))
        return lambda idx: self._irls(x[idx], z[idx])

    def jackknife(self, L, S, n_sentences=None):
        x, z = np.log(np.asarray(L, dtype=float)), np.log(np.asarray(S, dtype=float))

        def leave_one_out():
            t = sm.robust.norms.HuberT().t
            beta = np.array(_huber_irls(x, z, t), dtype=float)
            resid = z - beta[0] - beta[1] * x
            scale = np.median(np.abs(resid)) / _MAD_TO_SD
            r = resid / scale if scale > 0 else np.zeros_like(resid)
            inside = (np.abs(r) <= t).astype(float)  # psi' of Huber's T; the scale held fixed
            X = np.column_stack([np.ones_like(x), x])
            b = _one_step_jackknife(X, beta, scale * np.clip(r, -t, t), inside)
            return np.stack([np.exp(b[0]), b[1]])

        return _labelled(leave_one_out, "one-step leave-one-out jackknife")


@dataclass(frozen=True)
class QuantileLog(Estimator):
    """Quantile regression (statsmodels QuantReg) of log S on log L at quantile q.

    Why: b at q = 0.1 and 0.9 differing from b at 0.5 means the spread of S changes
    with L. Resamples are refitted one by one (no vectorized form): opt-in, slow.
    """

    name: str = "quantile_0.5"
    response: str = "log S (quantile)"
    q: float = 0.5

    def _fit(self, L, S):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # iteration limit: reported through converged
            return sm.QuantReg(np.log(S), _design(L)).fit(q=self.q, max_iter=5000)

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
