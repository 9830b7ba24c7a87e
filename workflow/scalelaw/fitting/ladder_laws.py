"""Laws of loss over a model ladder: L(N, D), IsoFLOP parabolas, L(N) and L(D).

Approach 3 of Hoffmann et al. (2022), as Besiroglu et al. (2024) refit it:

    log L = log(exp(a - alpha log N) + exp(b - beta log D) + exp(e)),  A = e^a, B = e^b, E = e^e

minimising the sum of Huber_delta(log L_obs - log L_pred) with L-BFGS-B. The published
recipe starts L-BFGS-B (finite-difference gradients) from a grid of 4,500 points and keeps
the best. :func:`fit_loss_law` reaches the same minimum much faster:

- the gradient is analytic (the prediction is a log-sum-exp, its softmax weights give
  every partial derivative), and the objective is vectorized over many parameter points;
- coarse-to-fine starts: the Huber objective is evaluated at every point of the published
  grid *and* at variable-projection starts (for fixed exponents, E, A, B are linear in
  L and come from one non-negative least-squares solve) in one array operation, and
  L-BFGS-B runs only from the few best of them.

The same machinery fits any sum of saturating power laws, L = E + sum_j A_j / x_j^alpha_j
(one x for L(N) or L(D), two for L(N, D)). A bootstrap over runs gives intervals; every fit
is returned as the project's one :class:`~scalelaw.fitting.result.FitResult`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from .result import FitResult, Param

__all__ = [
    "LADDER_LAWS",
    "LadderLaw",
    "aicc_log_gaussian",
    "fit_isoflop",
    "fit_loss_law",
    "fit_table",
    "huber_objective",
    "leave_largest_out",
    "published_recipe_fit",
    "published_start_grid",
]

DELTA = 1e-3


@dataclass(frozen=True)
class LadderLaw:
    """A saturating sum of power laws L = E + sum_j A_j / x_j^alpha_j over named x columns."""

    name: str
    x_names: tuple[str, ...]
    coef_names: tuple[str, ...]
    exponent_names: tuple[str, ...]
    formula: str

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("E", *self.coef_names, *self.exponent_names)


# The registry a table source names its law from (names and parameter names as in
# scalelaw.fitting.laws where a law is in both, e.g. saturating_power: E, A, alpha).
LADDER_LAWS: dict[str, LadderLaw] = {
    "chinchilla": LadderLaw(
        "chinchilla", ("N", "D"), ("A", "B"), ("alpha", "beta"), "L = E + A/N^alpha + B/D^beta"
    ),
    "saturating_power": LadderLaw("saturating_power", ("x",), ("A",), ("alpha",), "y = E + A/x^alpha"),
}


# --------------------------------------------------------------------------- objective
# theta layout: (e, a_1..a_m, alpha_1..alpha_m), with E = exp(e), A_j = exp(a_j).


def _predict_terms(theta: np.ndarray, log_x: np.ndarray) -> np.ndarray:
    """Log terms (..., n, m+1): e and a_j - alpha_j log x_j, for theta of shape (..., 2m+1)."""
    m = log_x.shape[1]
    e = theta[..., :1]
    a = theta[..., 1 : 1 + m]
    alpha = theta[..., 1 + m :]
    power_terms = a[..., None, :] - alpha[..., None, :] * log_x  # (..., n, m)
    e_term = np.broadcast_to(e[..., None, :], power_terms.shape[:-1] + (1,))
    return np.concatenate([e_term, power_terms], axis=-1)


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def huber_objective(theta: np.ndarray, log_x: np.ndarray, log_y: np.ndarray, delta: float = DELTA) -> np.ndarray:
    """Sum of Huber losses of log y against the law's log prediction, vectorized over the
    leading axes of theta (shape (..., 2m+1)); returns shape (...)."""
    terms = _predict_terms(np.asarray(theta, float), log_x)
    pred = np.logaddexp.reduce(terms, axis=-1)
    return _huber(log_y - pred, delta).sum(axis=-1)


def _objective_and_gradient(theta, log_x, log_y, delta, weights):
    """Weighted Huber objective of one theta and its analytic gradient: the prediction is
    a log-sum-exp, so its softmax weights give every partial derivative."""
    m = log_x.shape[1]
    terms = np.empty((len(log_y), m + 1))
    terms[:, 0] = theta[0]
    terms[:, 1:] = theta[1 : 1 + m] - theta[1 + m :] * log_x
    top = terms.max(axis=1)
    ex = np.exp(terms - top[:, None])
    total = ex.sum(axis=1)
    r = log_y - (top + np.log(total))
    ar = np.abs(r)
    value = float(weights @ np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta)))
    psi = -np.clip(r, -delta, delta) * weights  # d huber / d pred
    soft = ex / total[:, None]  # d pred / d term
    g_terms = psi @ soft
    g_alpha = -((psi[:, None] * soft[:, 1:]) * log_x).sum(axis=0)
    return value, np.concatenate([g_terms, g_alpha])


def _lbfgs(theta0, log_x, log_y, delta, weights, bounds=None):
    return optimize.minimize(
        _objective_and_gradient,
        np.asarray(theta0, float),
        args=(log_x, log_y, delta, weights),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12},
    )


# --------------------------------------------------------------------------- starts


def published_start_grid(m: int = 2) -> np.ndarray:
    """The Epoch AI grid: alpha, beta in 0..2 by 0.5, e in -1..1 by 0.5, a, b in 0..25 by 5
    (4,500 points for m = 2), in this module's theta layout."""
    exps = np.arange(0, 2.5, 0.5)
    es = np.arange(-1, 1.5, 0.5)
    coefs = np.arange(0, 30, 5.0)
    rows = [
        (e, *a, *alpha)
        for e in es
        for a in itertools.product(coefs, repeat=m)
        for alpha in itertools.product(exps, repeat=m)
    ]
    return np.array(rows, float)


def _projection_starts(log_x: np.ndarray, y: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """For each exponent vector, E and A_j from a non-negative least-squares fit of y on
    [1, x_j^-alpha_j] (the law is linear in them): variable projection as a start finder."""
    rows = []
    floor = 1e-12
    for alpha in exponents:
        design = np.column_stack([np.ones(len(y)), np.exp(-log_x * alpha)])
        scale = design.max(axis=0)
        coef, _ = optimize.nnls(design / scale, y)
        coef = np.maximum(coef / scale, floor * np.maximum(y.max(), 1.0))
        rows.append(np.concatenate([np.log(coef), alpha]))
    return np.array(rows)


def _best_starts(log_x, y, log_y, delta, n_starts, grid_step):
    m = log_x.shape[1]
    grid = np.arange(0.0, 2.0 + 1e-9, grid_step)
    exponents = np.array(list(itertools.product(grid, repeat=m)))
    candidates = np.vstack([published_start_grid(m), _projection_starts(log_x, y, exponents)])
    values = huber_objective(candidates, log_x, log_y, delta)
    order = np.argsort(values)
    return candidates[order[:n_starts]]


def _minimize(log_x, log_y, delta, starts, weights=None):
    weights = np.ones(len(log_y)) if weights is None else weights
    best = None
    for start in starts:
        res = _lbfgs(start, log_x, log_y, delta, weights)
        if best is None or res.fun < best.fun:
            best = res
    return best


# --------------------------------------------------------------------------- fits


def aicc_log_gaussian(residuals: np.ndarray, k: int) -> tuple[float, float]:
    """Gaussian log-likelihood of residuals on the log-y scale (variance profiled out) and
    its AICc: comparable only between laws fitted to the same points on the same scale."""
    r = np.asarray(residuals, float)
    n = len(r)
    sigma2 = max(float(np.mean(r * r)), 1e-300)
    loglik = -0.5 * n * (math.log(2 * math.pi * sigma2) + 1)
    k_total = k + 1  # the variance
    if n - k_total - 1 <= 0:
        return loglik, math.nan
    return loglik, -2 * loglik + 2 * k_total + 2 * k_total * (k_total + 1) / (n - k_total - 1)


def _theta_to_params(theta: np.ndarray, m: int) -> np.ndarray:
    return np.concatenate([np.exp(theta[: 1 + m]), theta[1 + m :]])


def predict(law: LadderLaw, estimates: dict[str, float], x: np.ndarray) -> np.ndarray:
    """The law's y at x (n, m) from a dict of estimates (E, A..., alpha...)."""
    x = np.atleast_2d(np.asarray(x, float))
    y = np.full(x.shape[0], estimates["E"], float)
    for j, (c, p) in enumerate(zip(law.coef_names, law.exponent_names)):
        y = y + estimates[c] / x[:, j] ** estimates[p]
    return y


def fit_loss_law(
    x: np.ndarray,
    y: np.ndarray,
    law: LadderLaw | str = "chinchilla",
    *,
    delta: float = DELTA,
    n_starts: int = 8,
    grid_step: float = 0.25,
    n_bootstrap: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
    analysis: str = "loss_vs_size_and_data",
    group: dict | None = None,
    n_unit: str = "runs",
) -> FitResult:
    """Fit L = E + sum_j A_j / x_j^alpha_j by Huber loss on log L (L-BFGS-B, analytic
    gradient, coarse-to-fine starts); intervals from a bootstrap over rows (runs), each
    resample refitted by L-BFGS-B from the full-sample optimum (resampled rows enter as
    integer weights)."""
    law = LADDER_LAWS[law] if isinstance(law, str) else law
    x = np.atleast_2d(np.asarray(x, float))
    if x.shape[0] == 1 and len(law.x_names) == 1:
        x = x.T
    y = np.asarray(y, float)
    m = len(law.x_names)
    if x.shape != (len(y), m):
        raise ValueError(f"law {law.name!r} needs x of shape (n, {m}), got {x.shape}")
    bad = ~(np.isfinite(x).all(axis=1) & np.isfinite(y) & (x > 0).all(axis=1) & (y > 0))
    if bad.any():
        raise ValueError(f"{int(bad.sum())} row(s) with non-positive or missing x or y (first: row {int(np.argmax(bad))})")
    k = 2 * m + 1
    if len(y) < k:
        raise ValueError(f"law {law.name!r} has {k} parameters but only {len(y)} points")
    log_x, log_y = np.log(x), np.log(y)
    starts = _best_starts(log_x, y, log_y, delta, n_starts, grid_step)
    best = _minimize(log_x, log_y, delta, starts)
    theta = best.x
    estimates = dict(zip(law.param_names, _theta_to_params(theta, m)))
    residuals = log_y - np.logaddexp.reduce(_predict_terms(theta, log_x), axis=-1)
    loglik, aicc = aicc_log_gaussian(residuals, k)

    derived_names: list[str] = []
    if m == 2:
        # compute-optimal allocation under C = 6ND (Hoffmann et al. eq. 4): N_opt ∝ C^a, D_opt ∝ C^b
        derived_names = ["a_N_opt", "b_D_opt"]

    def derived(p: np.ndarray) -> list[float]:
        if not derived_names:
            return []
        alpha, beta = p[1 + m], p[2 + m]
        return [beta / (alpha + beta), alpha / (alpha + beta)]

    point = np.concatenate([_theta_to_params(theta, m), derived(_theta_to_params(theta, m))])
    names = list(law.param_names) + derived_names

    rng = np.random.default_rng(seed)
    draws, failed = [], 0
    n = len(y)
    for _ in range(n_bootstrap):
        idx = rng.integers(0, n, n)
        if len(np.unique(idx)) < k:
            failed += 1
            continue
        weights = np.bincount(idx, minlength=n).astype(float)
        keep = weights > 0
        lx, ly, w = log_x[keep], log_y[keep], weights[keep]
        res = _lbfgs(theta, lx, ly, delta, w)
        if not np.isfinite(res.fun):
            failed += 1
            continue
        p = _theta_to_params(res.x, m)
        draws.append(np.concatenate([p, derived(p)]))
    params = {}
    tail = (1 - confidence_level) / 2
    draws_arr = np.array(draws) if draws else np.empty((0, len(names)))
    method = f"percentile bootstrap over {n_unit}, {len(draws)} resamples"
    for j, name in enumerate(names):
        if len(draws_arr) >= 10:
            col = draws_arr[:, j]
            params[name] = Param(
                point[j],
                se=float(np.std(col, ddof=1)),
                se_type="bootstrap",
                ci_low=float(np.quantile(col, tail)),
                ci_high=float(np.quantile(col, 1 - tail)),
                ci_method=method,
            )
        else:
            params[name] = Param(point[j])
    warnings = []
    if n - k < 3:
        warnings.append(f"{n} points for {k} parameters: {n - k} degree(s) of freedom")
    if failed:
        warnings.append(f"{failed} of {n_bootstrap} bootstrap resamples had fewer than {k} distinct points or failed")
    return FitResult(
        analysis=analysis,
        law=law.name,
        estimator=f"huber_log(delta={delta:g}), L-BFGS-B",
        params=params,
        n=n,
        n_unit=n_unit,
        confidence_level=confidence_level,
        formula=law.formula,
        group=dict(group or {}),
        k=k,
        loglik=loglik,
        aicc=aicc,
        aicc_scale="log y, Gaussian (same points only)",
        n_resamples=len(draws),
        n_failed_resamples=failed,
        converged=bool(best.success),
        diagnostics={
            "objective": float(best.fun),
            "n_starts": int(len(starts)),
            "x_columns": list(law.x_names),
            "delta": delta,
            "rmse_log": float(np.sqrt(np.mean(residuals**2))),
            "x_min": x.min(axis=0).tolist(),
            "x_max": x.max(axis=0).tolist(),
            "decades": np.log10(x.max(axis=0) / x.min(axis=0)).tolist(),
        },
        warnings=warnings,
    )


def published_recipe_fit(x: np.ndarray, y: np.ndarray, delta: float = DELTA, starts: np.ndarray | None = None):
    """The Epoch AI recipe as published: L-BFGS-B with finite-difference gradients from every
    point of :func:`published_start_grid`, keeping the lowest objective. Slow (minutes);
    for the benchmark and for checking :func:`fit_loss_law`. Returns (E, A, B, alpha, beta)."""
    log_x, log_y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    m = log_x.shape[1]
    starts = published_start_grid(m) if starts is None else starts
    best = None
    for start in starts:
        res = optimize.minimize(huber_objective, start, args=(log_x, log_y, delta), method="L-BFGS-B")
        if best is None or res.fun < best.fun:
            best = res
    return _theta_to_params(best.x, m), float(best.fun)


def leave_largest_out(x: np.ndarray, y: np.ndarray, law: LadderLaw | str = "chinchilla", column: int = 0, **kw) -> dict:
    """Refit without the rows at the largest value of x[:, column] and predict them: the
    extrapolation error a ladder's law makes one step beyond its data."""
    law = LADDER_LAWS[law] if isinstance(law, str) else law
    x = np.atleast_2d(np.asarray(x, float))
    if x.shape[0] == 1 and len(law.x_names) == 1:
        x = x.T
    y = np.asarray(y, float)
    largest = x[:, column] == x[:, column].max()
    if (~largest).sum() < 2 * len(law.x_names) + 1 + 1:
        return {"held_out": int(largest.sum()), "error": "too few points left to refit"}
    fit = fit_loss_law(x[~largest], y[~largest], law, n_bootstrap=0, **kw)
    pred = predict(law, fit.estimates, x[largest])
    rel = (pred - y[largest]) / y[largest]
    return {
        "held_out_column": law.x_names[column],
        "held_out_value": float(x[:, column].max()),
        "held_out": int(largest.sum()),
        "mean_relative_error": float(np.mean(rel)),
        "max_abs_relative_error": float(np.max(np.abs(rel))),
        "estimates_without_largest": fit.estimates,
    }


# --------------------------------------------------------------------------- Approach 2


def _isoflop_optima(log_c_groups: list[tuple[float, np.ndarray, np.ndarray]]):
    out = []
    for log_c, log_n, log_l in log_c_groups:
        if len(np.unique(log_n)) < 3:
            out.append((log_c, math.nan, "fewer than 3 sizes"))
            continue
        c2, c1, _ = np.polyfit(log_n, log_l, 2)
        if c2 <= 0:
            out.append((log_c, math.nan, "parabola opens downward (no minimum)"))
            continue
        out.append((log_c, -c1 / (2 * c2), ""))
    return out


def fit_isoflop(
    runs: pd.DataFrame,
    *,
    n_col: str = "N",
    c_col: str = "C",
    loss_col: str = "loss",
    n_bootstrap: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
    group: dict | None = None,
) -> tuple[list[FitResult], pd.DataFrame]:
    """Approach 2: per compute budget C a parabola of log L in log N gives N_opt(C); then
    N_opt = k_N C^a and D_opt = C / (6 N_opt) = k_D C^b by least squares in log-log.
    Intervals: bootstrap over runs within each budget. Returns the two power-law fits and
    the per-budget optima table."""
    groups = []
    for c, sub in runs.groupby(c_col):
        groups.append((math.log(c), np.log(sub[n_col].to_numpy(float)), np.log(sub[loss_col].to_numpy(float))))
    optima = _isoflop_optima(groups)
    table = pd.DataFrame(
        {
            "C": [math.exp(o[0]) for o in optima],
            "N_opt": [math.exp(o[1]) if np.isfinite(o[1]) else math.nan for o in optima],
            "note": [o[2] for o in optima],
        }
    )
    table["D_opt"] = table["C"] / (6 * table["N_opt"])

    def power_fit(opt):
        pts = [(lc, ln) for lc, ln, _ in opt if np.isfinite(ln)]
        if len(pts) < 2:
            return None
        lc, ln = np.array(pts).T
        slope, intercept = np.polyfit(lc, ln, 1)
        return slope, intercept

    point = power_fit(optima)
    if point is None:
        raise ValueError(f"Approach 2 needs at least 2 compute budgets with a minimum; got {table.to_dict('records')}")
    rng = np.random.default_rng(seed)
    draws, failed = [], 0
    for _ in range(n_bootstrap):
        resampled = []
        for log_c, log_n, log_l in groups:
            idx = rng.integers(0, len(log_n), len(log_n))
            resampled.append((log_c, log_n[idx], log_l[idx]))
        fit = power_fit(_isoflop_optima(resampled))
        if fit is None:
            failed += 1
        else:
            draws.append(fit)
    draws_arr = np.array(draws) if draws else np.empty((0, 2))
    tail = (1 - confidence_level) / 2
    method = f"percentile bootstrap over runs within budgets, {len(draws)} resamples"

    def param(value, col, transform=lambda v: v):
        if len(draws_arr) < 10:
            return Param(value)
        vals = transform(draws_arr[:, col])
        return Param(value, float(np.std(vals, ddof=1)), "bootstrap", float(np.quantile(vals, tail)), float(np.quantile(vals, 1 - tail)), method)

    slope, intercept = point
    n_budgets = int(table["N_opt"].notna().sum())
    shared = dict(
        analysis="isoflop",
        estimator="parabola in log N per budget, then OLS in log-log",
        n=n_budgets,
        n_unit="points",
        confidence_level=confidence_level,
        group=dict(group or {}),
        k=2,
        n_resamples=len(draws),
        n_failed_resamples=failed,
        diagnostics={"budgets": table.to_dict("records"), "n_runs": int(len(runs))},
        warnings=[f"{n_budgets} compute budgets for a 2-parameter line"] if n_budgets < 4 else [],
    )
    n_fit = FitResult(
        law="power",
        formula="N_opt = k * C^a",
        params={"a": param(slope, 0), "k": param(math.exp(intercept), 1, np.exp)},
        **shared,
    )
    d_fit = FitResult(
        law="power",
        formula="D_opt = C / (6 N_opt) = k * C^b",
        params={
            "b": param(1 - slope, 0, lambda v: 1 - v),
            "k": param(math.exp(-intercept) / 6, 1, lambda v: np.exp(-v) / 6),
        },
        **{**shared, "group": {**shared["group"], "quantity": "D_opt"}},
    )
    n_fit.group = {**n_fit.group, "quantity": "N_opt"}
    return [n_fit, d_fit], table


# --------------------------------------------------------------------------- any table


def fit_table(
    table: pd.DataFrame,
    x_columns: Sequence[str],
    y_column: str,
    law: str,
    *,
    source: str = "table",
    **kw,
) -> FitResult:
    """Any table, any law: fit ``law`` (a name in :data:`LADDER_LAWS`) of ``y_column`` on
    ``x_columns``. Rows with a missing or non-positive value are an error naming the column."""
    if law not in LADDER_LAWS:
        raise ValueError(f"unknown law {law!r}; known: {', '.join(LADDER_LAWS)}")
    spec = LADDER_LAWS[law]
    if len(x_columns) != len(spec.x_names):
        raise ValueError(f"law {law!r} takes {len(spec.x_names)} x column(s) ({', '.join(spec.x_names)}), got {list(x_columns)}")
    for col in [*x_columns, y_column]:
        if col not in table.columns:
            raise ValueError(f"{source}: no column {col!r} (columns: {', '.join(map(str, table.columns))})")
        values = pd.to_numeric(table[col], errors="coerce")
        bad = ~(values > 0)
        if bad.any():
            raise ValueError(f"{source}: column {col!r} has {int(bad.sum())} missing or non-positive value(s) (first at row {int(np.argmax(bad.to_numpy()))})")
    x = table[list(x_columns)].to_numpy(float)
    y = table[y_column].to_numpy(float)
    group = {"source": source, "x": list(x_columns), "y": y_column, **kw.pop("group", {})}
    return fit_loss_law(x, y, spec, group=group, **kw)
