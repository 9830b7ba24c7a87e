"""The solver of the registry's saturating laws, L = E + sum_j A_j / x_j^alpha_j.

``saturating_power`` (one x: L(N), L(D), loss over models) and ``chinchilla`` (two x:
L(N, D), Approach 3 of Hoffmann et al. 2022 as Besiroglu et al. 2024 refit it) are laws
of :data:`scalelaw.fitting.laws.LAWS`; ``Law.fit`` / ``Law.estimate`` hand them here.
On the log scale the prediction is a log-sum-exp,

    log L = log(exp(e) + sum_j exp(a_j - alpha_j log x_j)),  E = e^e, A_j = e^a_j,

and the objective is the sum of Huber_delta(log L_obs - log L_pred) (delta = inf: least
squares). The published recipe starts L-BFGS-B (finite-difference gradients) from a grid
of 4,500 points and keeps the best; this solver reaches the same minimum much faster:

- the gradient is analytic (the softmax weights of the log-sum-exp give every partial
  derivative) and the objective is vectorized over many parameter points;
- coarse-to-fine starts: the objective is evaluated at every point of the published grid
  *and* at variable-projection starts (for fixed exponents E and A_j are linear in L: one
  non-negative least-squares solve) in one array operation, and L-BFGS-B runs only from
  the ``n_starts`` best of them.

theta layout here: (e, a_1..a_m, alpha_1..alpha_m).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = ["Solution", "huber_objective", "natural", "published_recipe_fit", "published_start_grid", "solve",
           "start_candidates"]

GRID_STEP = 0.25  # exponent grid of the variable-projection starts


@dataclass
class Solution:
    theta: np.ndarray  # (e, a..., alpha...)
    objective: float
    success: bool
    nfev: int
    n_starts: int
    local_optima: np.ndarray  # every distinct optimum reached from the starts, best first
    message: str = ""


def natural(theta: np.ndarray) -> np.ndarray:
    """(E, A..., alpha...) from (e, a..., alpha...)."""
    m = (len(theta) - 1) // 2
    return np.concatenate([np.exp(theta[: 1 + m]), theta[1 + m:]])


def to_theta(params: np.ndarray) -> np.ndarray:
    m = (len(params) - 1) // 2
    p = np.asarray(params, float)
    return np.concatenate([np.log(np.maximum(p[: 1 + m], np.finfo(float).tiny)), p[1 + m:]])


def _predict_terms(theta: np.ndarray, log_x: np.ndarray) -> np.ndarray:
    """Log terms (..., n, m+1): e and a_j - alpha_j log x_j, for theta of shape (..., 2m+1)."""
    m = log_x.shape[1]
    power_terms = theta[..., None, 1:1 + m] - theta[..., None, 1 + m:] * log_x  # (..., n, m)
    e_term = np.broadcast_to(theta[..., None, :1], power_terms.shape[:-1] + (1,))
    return np.concatenate([e_term, power_terms], axis=-1)


def log_predict(theta: np.ndarray, log_x: np.ndarray) -> np.ndarray:
    return np.logaddexp.reduce(_predict_terms(np.asarray(theta, float), log_x), axis=-1)


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def huber_objective(theta: np.ndarray, log_x: np.ndarray, log_y: np.ndarray, delta: float) -> np.ndarray:
    """Sum of Huber losses of log y against the law's log prediction, vectorized over the
    leading axes of theta (shape (..., 2m+1)); returns shape (...)."""
    return _huber(log_y - log_predict(theta, log_x), delta).sum(axis=-1)


def objective_and_gradient(theta, log_x, log_y, delta, weights):
    """Weighted Huber objective of one theta and its analytic gradient."""
    m = log_x.shape[1]
    terms = np.empty((len(log_y), m + 1))
    terms[:, 0] = theta[0]
    terms[:, 1:] = theta[1:1 + m] - theta[1 + m:] * log_x
    top = terms.max(axis=1)
    ex = np.exp(terms - top[:, None])
    total = ex.sum(axis=1)
    r = log_y - (top + np.log(total))
    value = float(weights @ _huber(r, delta))
    psi = -np.clip(r, -delta, delta) * weights  # d huber / d pred
    soft = ex / total[:, None]  # d pred / d term
    g_alpha = -((psi[:, None] * soft[:, 1:]) * log_x).sum(axis=0)
    return value, np.concatenate([psi @ soft, g_alpha])


def _lbfgs(theta0, log_x, log_y, delta, weights, bounds):
    return optimize.minimize(objective_and_gradient, np.asarray(theta0, float), args=(log_x, log_y, delta, weights),
                             jac=True, method="L-BFGS-B", bounds=bounds,
                             options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12})


def published_start_grid(m: int = 2) -> np.ndarray:
    """The Epoch AI grid: alpha, beta in 0..2 by 0.5, e in -1..1 by 0.5, a, b in 0..25 by 5
    (4,500 points for m = 2), in this module's theta layout."""
    exps, es, coefs = np.arange(0, 2.5, 0.5), np.arange(-1, 1.5, 0.5), np.arange(0, 30, 5.0)
    return np.array([(e, *a, *alpha) for e in es for a in itertools.product(coefs, repeat=m)
                     for alpha in itertools.product(exps, repeat=m)], float)


def _projection_starts(log_x: np.ndarray, y: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """For each exponent vector, E and A_j from a non-negative least-squares fit of y on
    [1, x_j^-alpha_j] (the law is linear in them): variable projection as a start finder."""
    rows = []
    for alpha in exponents:
        design = np.column_stack([np.ones(len(y)), np.exp(-log_x * alpha)])
        scale = design.max(axis=0)
        coef, _ = optimize.nnls(design / scale, y)
        coef = np.maximum(coef / scale, 1e-12 * np.maximum(y.max(), 1.0))
        rows.append(np.concatenate([np.log(coef), alpha]))
    return np.array(rows)


def start_candidates(log_x: np.ndarray, log_y: np.ndarray, delta: float, n_starts: int,
                     grid_step: float = GRID_STEP) -> np.ndarray:
    """The ``n_starts`` best of the published grid and the projection starts, best first."""
    m = log_x.shape[1]
    grid = np.arange(0.0, 2.0 + 1e-9, grid_step)
    exponents = np.array(list(itertools.product(grid, repeat=m)))
    candidates = np.vstack([published_start_grid(m), _projection_starts(log_x, np.exp(log_y), exponents)])
    values = huber_objective(candidates, log_x, log_y, delta)
    return candidates[np.argsort(values)[:n_starts]]


def solve(log_x: np.ndarray, log_y: np.ndarray, *, delta: float, starts: np.ndarray,
          weights: np.ndarray | None = None, positive_exponents: bool = False) -> Solution:
    """L-BFGS-B from every start (theta layout), the lowest objective wins. ``weights``
    are row multiplicities (a bootstrap resample); ``positive_exponents`` bounds each
    alpha_j above zero (a law whose exponents are declared positive)."""
    weights = np.ones(len(log_y)) if weights is None else np.asarray(weights, float)
    m = log_x.shape[1]
    bounds = [(None, None)] * (1 + m) + [(1e-9, None)] * m if positive_exponents else None
    results = []
    for start in np.atleast_2d(starts):
        start = np.array(start, float)
        if positive_exponents:
            start[1 + m:] = np.maximum(start[1 + m:], 1e-9)
        res = _lbfgs(start, log_x, log_y, delta, weights, bounds)
        if np.isfinite(res.fun):
            results.append(res)
    if not results:
        raise RuntimeError("L-BFGS-B failed from every start")
    results.sort(key=lambda r: r.fun)
    best = results[0]
    optima = [results[0].x]
    for r in results[1:]:
        if all(np.max(np.abs(r.x - o)) > 1e-4 for o in optima):
            optima.append(r.x)
    return Solution(best.x, float(best.fun), _converged(best), int(sum(r.nfev for r in results)),
                    len(results), np.array(optima), str(best.message))


def _converged(res) -> bool:
    """L-BFGS-B's own verdict, or a stop in the line search (its tolerances are far below
    float precision on purpose) at a point where the gradient is flat: an optimum too."""
    return bool(res.success) or float(np.max(np.abs(res.jac))) <= 1e-6 * max(1.0, abs(float(res.fun)))


def published_recipe_fit(x: np.ndarray, y: np.ndarray, delta: float = 1e-3, starts: np.ndarray | None = None):
    """The Epoch AI recipe as published: L-BFGS-B with finite-difference gradients from every
    point of :func:`published_start_grid`, keeping the lowest objective. Slow (minutes); for
    the benchmark and for checking :func:`solve`. Returns ((E, A..., alpha...), objective)."""
    log_x, log_y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    starts = published_start_grid(log_x.shape[1]) if starts is None else starts
    best = None
    for start in starts:
        res = optimize.minimize(huber_objective, start, args=(log_x, log_y, delta), method="L-BFGS-B")
        if best is None or res.fun < best.fun:
            best = res
    return natural(best.x), float(best.fun)
