"""Vectorized fitting machinery shared by the estimators: IRLS for log-link GLMs and
Huber's T on many resamples at once, hat-matrix sandwiches, one-step jackknives.

Every function works on rows: the last axis holds the documents of one resample, the
leading axes any number of resamples, so the bootstrap and the null refit thousands of
resamples with a few array operations per iteration instead of a Python loop.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAD_TO_SD", "design", "glm_jackknife", "hc_sandwich", "huber_irls", "irls_log_link", "labelled",
           "line_rows", "one_step_jackknife", "rows"]

_IRLS_MAX_ITER = 200
_IRLS_TOL = 1e-10
MAD_TO_SD = 0.6744897501960817


def design(L: np.ndarray) -> np.ndarray:
    """The design matrix [1, log L] of every S = a L^b fit."""
    return np.column_stack([np.ones_like(L), np.log(L)])


def hc_sandwich(X: np.ndarray, score_resid: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def one_step_jackknife(X: np.ndarray, beta: np.ndarray, score_resid: np.ndarray, weights: np.ndarray):
    """Leave-one-out coefficients (2, n) of an M-estimator (a GLM, Huber) by one Newton step
    from the full fit: beta - A^-1 x_i u_i / (1 - h_ii), A = X' W X, h_ii = w_i x_i' A^-1 x_i.
    Exact for least squares; for the GLMs and Huber the standard approximate leave-one-out
    (its error is of order 1/n^2 per coefficient, against the 1/n effect of a deletion).
    BCa needs these only for its acceleration, which is a ratio of their moments."""
    A_inv = np.linalg.inv(X.T @ (weights[:, None] * X))
    h = weights * np.einsum("ij,jk,ik->i", X, A_inv, X)
    step = (X * (score_resid / (1.0 - np.clip(h, None, 1 - 1e-12)))[:, None]) @ A_inv
    return (beta[None, :] - step).T


def glm_jackknife(L: np.ndarray, y: np.ndarray, poisson: bool) -> np.ndarray:
    """One-step leave-one-out coefficients (2, n) of the log-link GLM of y on log L
    (Poisson: working weights mu, score y - mu; Gamma: weights 1, score (y - mu) / mu)."""
    X = design(L)
    beta = np.array(irls_log_link(np.log(L), y, poisson=poisson), dtype=float)
    mu = np.exp(X @ beta)
    if poisson:
        return one_step_jackknife(X, beta, y - mu, mu)
    return one_step_jackknife(X, beta, (y - mu) / mu, np.ones_like(y))


def labelled(fn, label: str):
    fn.label = label
    return fn


def rows(x, y):
    """x and y broadcast to rows of shape (R, n), with x centred per row, and the row means
    of x: the IRLS loops below work on 2-D rows and restore the leading shape at the end."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    shape = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    mean = x2.mean(axis=1)
    return np.ascontiguousarray(x2 - mean[:, None]), np.ascontiguousarray(y.reshape(x2.shape)), mean, shape


def line_rows(xc, z, w):
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


def irls_log_link(x, y, poisson: bool):
    """IRLS for a log-link GLM (Poisson: weights mu; Gamma: weights 1), as statsmodels GLM,
    on every row at once. Rows that have not converged after the cap come back NaN."""
    xc, y2, mean, shape = rows(x, y)

    def start(xc, y):
        mu = (y + y.mean(axis=1, keepdims=True)) / 2.0  # statsmodels' starting mu
        return np.zeros(y.shape[0]), (mu,)

    def step(xc, y, state):
        (mu,) = state
        z = np.log(mu) + (y - mu) / mu
        b0, b1 = line_rows(xc, z, mu if poisson else None)
        return b0, b1, (np.exp(b0[:, None] + b1[:, None] * xc),)

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        b0, b1 = _iterate_rows(xc, y2, start, step)
    return (b0 - b1 * mean).reshape(shape), b1.reshape(shape)


def huber_irls(x, z, t: float):
    """statsmodels RLM with HuberT(t) and its MAD scale, reweighted to convergence, on every
    row. A row whose MAD scale is 0 keeps equal weights (its OLS line) instead of NaN."""
    xc, z2, mean, shape = rows(x, z)

    def residuals(xc, z, b0, b1):
        resid = z - b0[:, None] - b1[:, None] * xc
        scale = np.median(np.abs(resid), axis=1, keepdims=True) / MAD_TO_SD
        return resid, scale

    def start(xc, z):
        b0, b1 = line_rows(xc, z, None)
        return b1, residuals(xc, z, b0, b1)

    def step(xc, z, state):
        resid, scale = state
        r = np.where(scale > 0, np.abs(resid) / np.where(scale > 0, scale, 1.0), 0.0)
        weights = np.where(r <= t, 1.0, t / np.maximum(r, t))
        b0, b1 = line_rows(xc, z, weights)
        return b0, b1, residuals(xc, z, b0, b1)

    with np.errstate(divide="ignore", invalid="ignore"):
        b0, b1 = _iterate_rows(xc, z2, start, step)
    return (b0 - b1 * mean).reshape(shape), b1.reshape(shape)
