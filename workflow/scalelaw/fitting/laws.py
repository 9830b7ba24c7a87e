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
``fit.laws`` enum is tied to it by a test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy import optimize, stats

from .result import FitResult, Param

__all__ = ["LAWS", "Law", "aicc", "akaike_weights", "compare", "gaussian_loglik", "get_law"]

# log of the smallest positive double: where a law predicts f(x) <= 0 (or overflows) the
# log-residual is computed against this floor, a huge but finite cost that least_squares
# rejects as a step instead of crashing on log(negative).
_LOG_FLOOR = float(np.log(np.finfo(float).tiny))
WALD = "Wald, normal quantile (Jacobian SE; log scale for positive parameters)"


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


@dataclass(frozen=True)
class Law:
    """A law form y = func(x, params).

    ``func(x, p)`` takes x as given to :meth:`fit` and a parameter vector in ``params``
    order. ``starts(x, y)`` returns starting vectors (natural scale), best guess first.
    ``positive`` marks parameters fitted through their logarithm: that keeps f > 0 where
    the form allows it (so log f exists) and conditions scale parameters like a or A.
    """

    name: str
    params: tuple[str, ...]
    formula: str
    func: Callable[[np.ndarray, np.ndarray], np.ndarray]
    starts: Callable[[np.ndarray, np.ndarray], list[np.ndarray]]
    positive: tuple[bool, ...]
    x_positive: bool = True

    @property
    def k(self) -> int:
        """Number of parameters of the form (the residual variance is not counted)."""
        return len(self.params)

    def with_starts(self, *starts: Sequence[float]) -> "Law":
        """The same law starting only from ``starts`` (e.g. a full-sample estimate)."""
        fixed = [np.asarray(s, dtype=float) for s in starts]
        return replace(self, starts=lambda _x, _y: [s.copy() for s in fixed])

    def with_positive(self, positive: Sequence[bool]) -> "Law":
        return replace(self, positive=tuple(bool(p) for p in positive))

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

    def fit(
        self,
        x: Any,
        y: Any,
        *,
        loss: str = "linear",
        f_scale: float | None = None,
        confidence_level: float = 0.95,
        n_unit: str = "points",
        group: Mapping[str, Any] | None = None,
        analysis: str = "law",
    ) -> FitResult:
        """Least squares of log y - log f(x); returns a FitResult.

        ``loss="huber"`` downweights outlying residuals; its ``f_scale`` (the residual
        size where it turns linear, in log units) defaults to 1.345 times a MAD estimate
        of the residual sd, re-estimated from the Huber fit's residuals until it settles.
        Several starts are tried and the lowest cost wins. Standard errors come from the
        Jacobian of the log-residuals at the optimum (Gaussian errors on log y; positive
        parameters through the delta method); intervals are Wald intervals from
        ``scipy.stats.norm``, on the log scale for positive parameters.
        """
        x, y = _check_law_data(self, x, y)
        n, p = y.size, self.k
        if loss not in ("linear", "huber"):
            raise ValueError(f"loss must be 'linear' or 'huber', got {loss!r}")
        logy = np.log(y)

        def residuals(theta: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                logf = np.log(self.func(x, self._to_natural(theta)))
            return logy - np.where(np.isfinite(logf), logf, _LOG_FLOOR)

        def solve(starts: Iterable[np.ndarray], loss_: str, scale: float) -> optimize.OptimizeResult:
            best = None
            for start in starts:
                theta0 = self._to_internal(start)
                if not np.all(np.isfinite(residuals(theta0))):
                    continue
                res = optimize.least_squares(
                    residuals, theta0, method="trf", jac="3-point", x_scale="jac",
                    loss=loss_, f_scale=scale, max_nfev=2000,
                )
                if best is None or res.cost < best.cost:
                    best = res
            if best is None:
                raise RuntimeError(f"no usable starting value for law {self.name!r}")
            return best

        starts = self.starts(x, y)
        res = solve(starts, "linear", 1.0)
        used_scale = None
        if loss == "huber" and f_scale is not None:
            used_scale = float(f_scale)
            res = solve([self._to_natural(res.x), *starts], "huber", used_scale)
        elif loss == "huber":
            # Least-squares residuals overstate the scale when outliers pulled the fit, so
            # re-estimate it from the Huber fit's own residuals until it settles (as RLM does).
            for step in range(20):
                mad = stats.median_abs_deviation(residuals(res.x), scale="normal")
                new_scale = 1.345 * mad if mad > 0 else 1e-3
                if used_scale is not None and abs(new_scale - used_scale) <= 1e-3 * used_scale:
                    break
                used_scale = float(new_scale)
                res = solve([self._to_natural(res.x), *(starts if step == 0 else [])], "huber", used_scale)

        theta = res.x
        resid = residuals(theta)
        rss = float(resid @ resid)
        jac = optimize.approx_fprime(theta, residuals)
        dof = max(n - p, 1)
        cov = rss / dof * np.linalg.pinv(jac.T @ jac)
        se_internal = np.sqrt(np.clip(np.diag(cov), 0, None))
        natural = self._to_natural(theta)
        params = {}
        for name, est, se_i, pos, th in zip(self.params, natural, se_internal, self.positive, theta):
            if pos:
                low, high = np.exp(stats.norm.interval(confidence_level, loc=th, scale=se_i)) if se_i > 0 else (est, est)
                params[name] = Param(est, est * se_i, "asymptotic (Jacobian, Gaussian errors on log y); delta method", low, high, WALD)
            else:
                low, high = stats.norm.interval(confidence_level, loc=est, scale=se_i) if se_i > 0 else (est, est)
                params[name] = Param(est, se_i, "asymptotic (Jacobian, Gaussian errors on log y)", low, high, WALD)
        loglik = gaussian_loglik(rss, n)
        tss = float(np.sum((logy - logy.mean()) ** 2))
        warnings_ = []
        if not res.success:
            warnings_.append(f"least_squares did not converge: {res.message}")
        if n - p < 3:
            warnings_.append(f"{n} points for a {p}-parameter law: {n - p} degree(s) of freedom")
        return FitResult(
            analysis=analysis, law=self.name, estimator="huber_log" if loss == "huber" else "least_squares_log",
            params=params, n=n, n_unit=n_unit, confidence_level=confidence_level,
            formula=self.formula, group=dict(group or {}), k=p + 1, loglik=loglik,
            aicc=aicc(loglik, n, p + 1), aicc_scale="log y (Gaussian)", converged=bool(res.success),
            diagnostics={
                "rss_log": rss, "r2_log": 1.0 - rss / tss if tss > 0 else float("nan"),
                "loss": loss, "f_scale": used_scale, "nfev": int(res.nfev), "dof": n - p,
            },
            warnings=warnings_,
        )


def _check_law_data(law: Law, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    if x.ndim not in (1, 2) or x.shape[0] != y.size:
        raise ValueError(f"x must have shape ({y.size},) or ({y.size}, d), got {x.shape}")
    for name, arr in (("x", x), ("y", y)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} has {int((~np.isfinite(arr)).sum())} non-finite values")
    if np.any(y <= 0):
        raise ValueError(f"y must be > 0 on the log scale: {int((y <= 0).sum())} values <= 0")
    if law.x_positive and np.any(x <= 0):
        raise ValueError(f"law {law.name!r} needs x > 0: {int((x <= 0).sum())} values <= 0")
    if y.size <= law.k:
        raise ValueError(f"law {law.name!r} has {law.k} parameters but only n = {y.size} points")
    return x, y


def _log_linear_start(x: np.ndarray, y: np.ndarray, columns: Sequence[np.ndarray]) -> np.ndarray:
    """Least squares of log y on [1, *columns]: exact for laws linear in logs."""
    design = np.column_stack([np.ones_like(x), *columns])
    return np.linalg.lstsq(design, np.log(y), rcond=None)[0]


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


def _saturating_starts(x, y, n_keep: int = 4):
    """Variable projection on a grid of alpha: for fixed alpha, E and A >= 0 are linear
    (non-negative least squares on y); rank the grid by the log-scale cost."""
    scored = []
    for alpha in np.geomspace(1e-3, 4.0, 48):
        z = np.power(x, -alpha)
        zmax = z.max()
        if not np.isfinite(zmax) or zmax <= 0:
            continue
        (e, a_scaled), _ = optimize.nnls(np.column_stack([np.ones_like(x), z / zmax]), y)
        a = a_scaled / zmax
        f = e + a * z
        if np.all(f > 0):
            scored.append((float(np.sum((np.log(y) - np.log(f)) ** 2)), alpha, e, a))
    scored.sort(key=lambda t: t[0])
    floor = 1e-6 * float(np.min(y))
    starts = [np.array([max(e, floor), max(a, floor), alpha]) for _, alpha, e, a in scored[:n_keep]]
    return starts or [np.array([0.5 * float(np.min(y)), float(np.max(y)), 0.5])]


LAWS: dict[str, Law] = {
    law.name: law
    for law in (
        Law("power", ("a", "b"), "y = a * x^b", _power, _power_starts, (True, False)),
        Law("menzerath_altmann", ("a", "b", "c"), "y = a * x^b * exp(c * x)", _menzerath_altmann,
            _ma_starts, (True, False, False)),
        Law("linear", ("a", "b"), "y = a + b * x", _linear, _linear_starts, (False, False), x_positive=False),
        Law("constant", ("a",), "y = a", _constant, _constant_starts, (True,), x_positive=False),
        Law("saturating_power", ("E", "A", "alpha"), "y = E + A * x^(-alpha)", _saturating,
            _saturating_starts, (True, True, False)),
    )
}


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
