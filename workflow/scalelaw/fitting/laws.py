"""Laws as objects (in the spirit of lmfit's ``Model``), fitted on the log-y scale.

A :class:`Law` is a named form y = f(x; params) with its parameter names, a formula,
starting values and which parameters are positive. ``law.fit(x, y)`` returns the one
result record :class:`~scalelaw.fitting.result.FitResult`; ``law.predict(x, params)``
evaluates it (params as an array, a dict or a FitResult). ``x`` may be one column
(shape (n,)) or several (shape (n, d)), e.g. L(N, D) over a model ladder: the law's
``func`` receives x exactly as given.

Why the log scale: noise in lengths and losses is multiplicative, and judging every law
on one scale makes AICc differences mean something. The Gaussian log-likelihood of
log y (residual variance at its MLE, counted in k) is reported with
``aicc_scale="log y (Gaussian)"``; an AICc of a model of y itself would lack the
Jacobian term -sum(log y) and is not comparable.

The registry :data:`LAWS` is the one list of law names (the config schema's
``fit.laws`` and ``law_tables.*.law`` enums are tied to it by tests): the text laws
(power, menzerath_altmann, linear, constant), the saturating laws of loss (saturating_power
for L(N), L(D) and loss over models; chinchilla for L(N, D)) and the IsoFLOP parabola.
Every law is fitted through one calling shape, ``law.estimate`` (the optimum only, as a
bootstrap resample needs it) and ``law.fit`` (with Wald intervals, log-likelihood and AICc),
by one of three solvers chosen by the form: the closed-form OLS on logs for laws linear in
logs (:func:`ols_log`), the L-BFGS sum-of-powers solver for the saturating laws
(:mod:`.power_sums`), ``scipy.optimize.least_squares`` for the rest. Resampled intervals
and the leave-largest-out record are in :mod:`.law_intervals`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy import optimize, stats

from . import power_sums
from .result import FitResult, Param, wald_param

__all__ = ["GENERIC_LAWS", "LAWS", "Estimate", "Law", "aicc", "akaike_weights", "compare", "gaussian_loglik", "get_law", "ols_log"]

# log of the smallest positive double: where a law predicts f(x) <= 0 (or overflows) the
# log-residual is computed against this floor, a huge but finite cost that least_squares
# rejects as a step instead of crashing on log(negative).
_LOG_FLOOR = float(np.log(np.finfo(float).tiny))


def aicc(loglik: float, n: int, k: int) -> float:
    """Small-sample AIC; NaN when n - k - 1 <= 0 (too few points to penalize)."""
    if n - k - 1 <= 0:
        return float("nan")
    return -2.0 * loglik + 2.0 * k + 2.0 * k * (k + 1) / (n - k - 1)


def gaussian_loglik(rss: float, n: int) -> float:
    sigma2 = max(rss / n, np.finfo(float).tiny)
    return -0.5 * n * (math.log(2 * math.pi * sigma2) + 1.0)


def akaike_weights(aiccs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(delta AICc to the best, Akaike weight) for AICc values on one scale."""
    values = np.asarray(aiccs, dtype=float)
    if not np.any(np.isfinite(values)):
        return values * np.nan, values * np.nan
    delta = values - np.nanmin(values)
    rel = np.exp(-0.5 * delta)
    return delta, rel / np.nansum(rel)


@dataclass
class Estimate:
    """The optimum of one fit: natural parameters and how the solver got there."""

    params: np.ndarray
    success: bool
    cost: float  # the solver's objective at the optimum
    nfev: int
    f_scale: float | None  # the Huber scale used (None: least squares)
    n_starts: int
    local_optima: list[list[float]] = field(default_factory=list)  # power_sum: natural params, best first
    message: str = ""


@dataclass(frozen=True)
class Law:
    """A law form y = func(x, params).

    ``func(x, p)`` takes x as given to :meth:`fit` and a parameter vector in ``params``
    order. ``starts(x, y)`` returns starting vectors (natural scale), best guess first.
    ``positive`` marks parameters fitted through their logarithm: that keeps f > 0 where
    the form allows it (so log f exists) and conditions scale parameters like a or A.
    ``solver`` is how the optimum is found: "least_squares" (scipy, from ``starts``),
    "ols_log" (closed form; ``log_design(x)`` gives the columns log y is linear in, the
    coefficients being the internal parameters) or "power_sum" (:mod:`.power_sums`).
    ``derived(params)`` adds quantities computed from the parameters (point estimates;
    resampled intervals give them intervals). ``x_names`` name the columns of x.
    """

    name: str
    params: tuple[str, ...]
    formula: str
    func: Callable[[np.ndarray, np.ndarray], np.ndarray]
    starts: Callable[[np.ndarray, np.ndarray], list[np.ndarray]]
    positive: tuple[bool, ...]
    x_positive: bool = True
    solver: str = "least_squares"
    log_design: Callable[[np.ndarray], list[np.ndarray]] | None = None
    derived: Callable[[np.ndarray], dict[str, float]] | None = None
    x_names: tuple[str, ...] = ("x",)
    n_starts: int = 4  # power_sum: L-BFGS-B runs from this many of the best candidate starts
    starts_fixed: bool = False  # power_sum: start from ``starts`` instead of ranking candidates

    @property
    def k(self) -> int:
        """Number of parameters of the form (the residual variance is not counted)."""
        return len(self.params)

    def with_starts(self, *starts: Sequence[float]) -> "Law":
        """The same law starting only from ``starts`` (e.g. a full-sample estimate)."""
        fixed = [np.asarray(s, dtype=float) for s in starts]
        return replace(self, starts=lambda _x, _y: [s.copy() for s in fixed], log_design=None, starts_fixed=True)

    def with_positive(self, positive: Sequence[bool]) -> "Law":
        positive = tuple(bool(p) for p in positive)
        return replace(self, positive=positive, log_design=self.log_design if positive == self.positive else None)

    def predict(self, x: Any, params: Any) -> np.ndarray:
        """f(x) for params given as a vector, a {name: value} dict or a FitResult."""
        if isinstance(params, FitResult):
            params = params.estimates
        if isinstance(params, Mapping):
            params = [params[name] for name in self.params]
        return self.func(np.asarray(x, dtype=float), np.asarray(params, dtype=float))

    def _to_internal(self, params: np.ndarray) -> np.ndarray:
        out = np.asarray(params, dtype=float).copy()
        pos = np.array(self.positive)
        out[pos] = np.log(np.maximum(out[pos], np.finfo(float).tiny))
        return out

    def _to_natural(self, theta: np.ndarray) -> np.ndarray:
        out = np.asarray(theta, dtype=float).copy()
        pos = np.array(self.positive)
        out[pos] = np.exp(out[pos])
        return out

    def _log_residuals(self, x: np.ndarray, logy: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        def residuals(theta: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                logf = np.log(self.func(x, self._to_natural(theta)))
            return logy - np.where(np.isfinite(logf), logf, _LOG_FLOOR)
        return residuals

    def estimate(
        self,
        x: Any,
        y: Any,
        *,
        loss: str = "linear",
        f_scale: float | None = None,
        starts: Sequence[Sequence[float]] | None = None,
        n_starts: int | None = None,
        weights: np.ndarray | None = None,
    ) -> Estimate:
        """The optimum of log y - log f(x) under ``loss`` ("linear" or "huber").

        ``f_scale`` is the Huber scale in log units; without it, 1.345 times a MAD estimate
        of the residual sd, re-estimated from the Huber fit's residuals until it settles.
        ``starts`` (natural scale) replace the law's own; ``weights`` are row
        multiplicities (a bootstrap resample)."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if loss not in ("linear", "huber"):
            raise ValueError(f"loss must be 'linear' or 'huber', got {loss!r}")
        logy = np.log(y)
        w = None if weights is None else np.asarray(weights, float)
        if self.solver == "ols_log" and self.log_design is not None and loss == "linear" and starts is None:
            theta = ols_log(self.log_design(x), logy, w)
            rss = float(_weighted_rss(self._log_residuals(x, logy)(theta), w))
            return Estimate(self._to_natural(theta), True, 0.5 * rss, 1, None, 1)
        own = [np.asarray(s, float) for s in starts] if starts is not None else None

        def solve(scale: float | None, first: list[np.ndarray] | None) -> Estimate:
            if self.solver == "power_sum":
                return self._solve_power_sum(x, logy, scale, own if own is not None else first, n_starts, w)
            return self._solve_least_squares(x, logy, scale, (first or []) + (own or self.starts(x, y)), w)

        if loss == "linear":
            return solve(None, None)
        if f_scale is not None:
            if self.solver == "power_sum":
                return solve(float(f_scale), None)
            # the least-squares optimum first, then the law's starts
            return self._solve_least_squares(x, logy, float(f_scale),
                                             [solve(None, None).params, *(own or self.starts(x, y))], w)
        # Least-squares residuals overstate the scale when outliers pulled the fit, so
        # re-estimate it from the Huber fit's own residuals until it settles (as RLM does).
        est, used = solve(None, None), None
        for step in range(20):
            resid = self._log_residuals(x, logy)(self._to_internal(est.params))
            mad = stats.median_abs_deviation(resid, scale="normal")
            new_scale = 1.345 * mad if mad > 0 else 1e-3
            if used is not None and abs(new_scale - used) <= 1e-3 * used:
                break
            used = float(new_scale)
            first = [est.params] if step or self.solver == "power_sum" else [est.params, *(own or self.starts(x, y))]
            est = (self._solve_power_sum(x, logy, used, first, None, w) if self.solver == "power_sum"
                   else self._solve_least_squares(x, logy, used, first, w))
        return est

    def _solve_least_squares(self, x, logy, scale, starts, weights) -> Estimate:
        base = self._log_residuals(x, logy)
        sw = None if weights is None else np.sqrt(weights)
        residuals = base if sw is None else (lambda theta: sw * base(theta))
        best, tried = None, 0
        for start in starts:
            theta0 = self._to_internal(start)
            if not np.all(np.isfinite(residuals(theta0))):
                continue
            tried += 1
            res = optimize.least_squares(residuals, theta0, method="trf", jac="3-point", x_scale="jac",
                                         loss="linear" if scale is None else "huber", f_scale=scale or 1.0,
                                         max_nfev=2000)
            if best is None or res.cost < best.cost:
                best = res
        if best is None:
            raise RuntimeError(f"no usable starting value for law {self.name!r}")
        return Estimate(self._to_natural(best.x), bool(best.success), float(best.cost), int(best.nfev), scale,
                        tried, message=str(best.message))

    def _solve_power_sum(self, x, logy, scale, starts, n_starts, weights) -> Estimate:
        log_x = np.log(x).reshape(len(logy), -1)
        delta = np.inf if scale is None else scale
        if starts is None and self.starts_fixed:
            starts = self.starts(x, np.exp(logy))
        if starts is None:
            starts = power_sums.start_candidates(log_x, logy, delta, n_starts or self.n_starts)
        else:
            starts = np.array([power_sums.to_theta(s) for s in starts])
        m = log_x.shape[1]
        sol = power_sums.solve(log_x, logy, delta=delta, starts=starts, weights=weights,
                               positive_exponents=all(self.positive[1 + m:]))
        return Estimate(power_sums.natural(sol.theta), sol.success, sol.objective, sol.nfev, scale, sol.n_starts,
                        [power_sums.natural(t).tolist() for t in sol.local_optima], sol.message)

    def fit(
        self,
        x: Any,
        y: Any,
        *,
        loss: str = "linear",
        f_scale: float | None = None,
        n_starts: int | None = None,
        confidence_level: float = 0.95,
        n_unit: str = "points",
        group: Mapping[str, Any] | None = None,
        analysis: str = "law",
    ) -> FitResult:
        """:meth:`estimate`, then inference: standard errors from the Jacobian of the
        log-residuals at the optimum (Gaussian errors on log y; positive parameters through
        the delta method), Wald intervals (:func:`~.result.wald_param`, on the log scale for
        positive parameters), the Gaussian log-likelihood of log y and its AICc."""
        x, y = _check_law_data(self, x, y)
        n, p = y.size, self.k
        est = self.estimate(x, y, loss=loss, f_scale=f_scale, n_starts=n_starts)
        logy = np.log(y)
        residuals = self._log_residuals(x, logy)
        theta = self._to_internal(est.params)
        resid = residuals(theta)
        rss = float(resid @ resid)
        jac = optimize.approx_fprime(theta, residuals)
        cov = rss / max(n - p, 1) * np.linalg.pinv(jac.T @ jac)
        se_internal = np.sqrt(np.clip(np.diag(cov), 0, None))
        params = {name: wald_param(est_, se_i, confidence_level, log_scale=pos,
                                   se_type="asymptotic (Jacobian, Gaussian errors on log y)")
                  for name, est_, se_i, pos in zip(self.params, est.params, se_internal, self.positive)}
        if self.derived is not None:
            params.update({name: Param(v) for name, v in self.derived(est.params).items()})
        loglik = gaussian_loglik(rss, n)
        tss = float(np.sum((logy - logy.mean()) ** 2))
        warnings_ = []
        if not est.success:
            warnings_.append(f"the solver did not converge: {est.message}")
        if n - p < 3:
            warnings_.append(f"{n} points for a {p}-parameter law: {n - p} degree(s) of freedom")
        x2 = x.reshape(n, -1)
        diagnostics = {
            "rss_log": rss, "r2_log": 1.0 - rss / tss if tss > 0 else float("nan"),
            "rmse_log": float(np.sqrt(rss / n)), "loss": loss, "f_scale": est.f_scale, "nfev": est.nfev,
            "dof": n - p, "solver": self.solver, "x_columns": list(self.x_names),
        }
        if self.x_positive:
            diagnostics.update(x_min=x2.min(axis=0).tolist(), x_max=x2.max(axis=0).tolist(),
                               decades=np.log10(x2.max(axis=0) / x2.min(axis=0)).tolist())
        estimator = "huber_log" if loss == "huber" else "least_squares_log"
        if self.solver == "power_sum":
            diagnostics.update(objective=est.cost, n_starts=est.n_starts, local_optima=est.local_optima)
            if loss == "huber":
                diagnostics["delta"] = est.f_scale
                estimator = f"huber_log(delta={est.f_scale:g}), L-BFGS-B"
        return FitResult(
            analysis=analysis, law=self.name, estimator=estimator,
            params=params, n=n, n_unit=n_unit, confidence_level=confidence_level,
            formula=self.formula, group=dict(group or {}), k=p + 1, loglik=loglik,
            aicc=aicc(loglik, n, p + 1), aicc_scale="log y (Gaussian)", converged=bool(est.success),
            diagnostics=diagnostics, warnings=warnings_,
        )


def _weighted_rss(resid: np.ndarray, weights: np.ndarray | None) -> float:
    return float(resid @ resid) if weights is None else float(weights @ (resid * resid))


def _check_law_data(law: Law, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    d = len(law.x_names)
    if x.ndim not in (1, 2) or x.shape[0] != y.size:
        raise ValueError(f"x must have shape ({y.size},) or ({y.size}, d), got {x.shape}")
    if d > 1 and x.shape != (y.size, d):
        # a law that names its x columns takes exactly those (a generic law takes x as given)
        raise ValueError(f"law {law.name!r} takes {d} x columns ({', '.join(law.x_names)}): x must have shape "
                         f"({y.size}, {d}), got {x.shape}")
    for name, arr in (("x", x), ("y", y)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} has {int((~np.isfinite(arr)).sum())} non-finite values")
    if np.any(y <= 0):
        raise ValueError(f"y must be > 0 on the log scale: {int((y <= 0).sum())} values <= 0")
    if law.x_positive and np.any(x <= 0):
        raise ValueError(f"law {law.name!r} needs x > 0: {int((x <= 0).sum())} values <= 0")
    if y.size <= law.k:
        raise ValueError(f"law {law.name!r} has {law.k} parameters but only n = {y.size} points")
    return (x.reshape(-1) if x.ndim == 2 and x.shape[1] == 1 else x), y


def ols_log(columns: Sequence[np.ndarray], log_y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The one OLS on logs: least squares of log y on [1, *columns] (weighted by row
    multiplicities when given). Exact for laws linear in logs, a start for the others."""
    design = np.column_stack([np.ones(len(log_y)), *columns])
    if weights is not None:
        sw = np.sqrt(weights)
        design, log_y = design * sw[:, None], log_y * sw
    return np.linalg.lstsq(design, log_y, rcond=None)[0]


def _log_linear_start(x: np.ndarray, y: np.ndarray, columns: Sequence[np.ndarray]) -> np.ndarray:
    return ols_log(columns, np.log(y))


def _power(x, p):
    return p[0] * np.power(x, p[1])


def _power_starts(x, y):
    c0, b = _log_linear_start(x, y, [np.log(x)])
    return [np.array([np.exp(c0), b])]


def _menzerath_altmann(x, p):
    return p[0] * np.power(x, p[1]) * np.exp(p[2] * x)


def _ma_starts(x, y):
    c0, b, c = _log_linear_start(x, y, [np.log(x), x])
    p0, b0 = _log_linear_start(x, y, [np.log(x)])
    return [np.array([np.exp(c0), b, c]), np.array([np.exp(p0), b0, 0.0])]


def _linear(x, p):
    return p[0] + p[1] * x


def _linear_starts(x, y):
    b, a = np.polyfit(x, y, 1)
    starts = [np.array([a, b])] if np.all(a + b * x > 0) else []
    return starts + [np.array([float(np.exp(np.mean(np.log(y)))), 0.0])]


def _constant(x, p):
    return np.full(np.shape(x)[:1], p[0], dtype=float)


def _constant_starts(x, y):
    return [np.array([float(np.exp(np.mean(np.log(y))))])]


def _saturating(x, p):
    return p[0] + p[1] * np.power(x, -p[2])


def _chinchilla(x, p):
    return p[0] + p[1] * np.power(x[:, 0], -p[3]) + p[2] * np.power(x[:, 1], -p[4])


def _power_sum_starts(x, y):
    """The power_sum solver ranks its own candidate starts (:func:`.power_sums.start_candidates`)."""
    log_x = np.log(np.asarray(x, float)).reshape(len(y), -1)
    return [power_sums.natural(t) for t in power_sums.start_candidates(log_x, np.log(y), np.inf, 4)]


def _compute_optimal_exponents(p: np.ndarray) -> dict[str, float]:
    """Under C = 6ND (Hoffmann et al. eq. 4): N_opt ∝ C^a, D_opt ∝ C^b."""
    alpha, beta = p[3], p[4]
    return {"a_N_opt": beta / (alpha + beta), "b_D_opt": alpha / (alpha + beta)}


def _parabola(x, p):
    lx = np.log(x)
    return np.exp(p[0] + p[1] * lx + p[2] * lx * lx)


def _parabola_design(x):
    return [np.log(x), np.log(x) ** 2]


def _parabola_starts(x, y):
    return [ols_log(_parabola_design(x), np.log(y))]


LAWS: dict[str, Law] = {
    law.name: law
    for law in (
        Law("power", ("a", "b"), "y = a * x^b", _power, _power_starts, (True, False), solver="ols_log",
            log_design=lambda x: [np.log(x)]),
        Law("menzerath_altmann", ("a", "b", "c"), "y = a * x^b * exp(c * x)", _menzerath_altmann,
            _ma_starts, (True, False, False), solver="ols_log", log_design=lambda x: [np.log(x), x]),
        Law("linear", ("a", "b"), "y = a + b * x", _linear, _linear_starts, (False, False), x_positive=False),
        Law("constant", ("a",), "y = a", _constant, _constant_starts, (True,), x_positive=False),
        Law("saturating_power", ("E", "A", "alpha"), "y = E + A * x^(-alpha)", _saturating,
            _power_sum_starts, (True, True, False), solver="power_sum"),
        Law("chinchilla", ("E", "A", "B", "alpha", "beta"), "L = E + A/N^alpha + B/D^beta", _chinchilla,
            _power_sum_starts, (True, True, True, False, False), solver="power_sum",
            derived=_compute_optimal_exponents, x_names=("N", "D")),
        Law("isoflop_parabola", ("c0", "c1", "c2"), "log L = c0 + c1 log N + c2 (log N)^2", _parabola,
            _parabola_starts, (False, False, False), solver="ols_log", log_design=_parabola_design,
            x_names=("N",)),
    )
}


# The laws of one generic x (y against x, any table): the choices of the text fit's
# ``fit.laws`` (the schema's enum is tied to this by tests/test_config.py). The others name
# their x (L(N, D) over a ladder, the IsoFLOP parabola in N) and are the ladder's.
GENERIC_LAWS: tuple[str, ...] = tuple(name for name, law in LAWS.items() if law.x_names == ("x",))


def get_law(law: str | Law) -> Law:
    """A law by name from :data:`LAWS` (a Law object passes through)."""
    if isinstance(law, Law):
        return law
    try:
        return LAWS[law]
    except KeyError:
        raise ValueError(f"unknown law {law!r}; known: {', '.join(LAWS)}") from None


def compare(fits: Sequence[FitResult]) -> list[FitResult]:
    """The same fits with delta_aicc and akaike_weight in their diagnostics.

    Only meaningful for fits of the same points on the same ``aicc_scale``.
    """
    scales = {f.aicc_scale for f in fits}
    if len(scales) > 1:
        raise ValueError(f"AICc values on different scales cannot be compared: {sorted(scales)}")
    delta, weight = akaike_weights([f.aicc for f in fits])
    for f, d, w in zip(fits, delta, weight):
        f.diagnostics.update(delta_aicc=float(d), akaike_weight=float(w))
    return list(fits)
