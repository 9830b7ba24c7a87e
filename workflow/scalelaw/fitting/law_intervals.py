"""Resampled intervals for any law of the registry, the identification verdict, and the one
leave-largest-out record.

:func:`fit_with_intervals` fits a :class:`~.laws.Law` and resamples its rows (runs,
points, models) through the one :func:`~.bootstrap.bootstrap`: each resample is refitted
by ``law.estimate`` from several starts (every distinct optimum the full-sample fit reached
from its ``n_starts`` starts), so a resample whose optimum lies in another basin the data
showed is not held at the full sample's. Percentile intervals: with a handful of
runs BCa's jackknife acceleration is itself noise, and the coverage study
(tests/ladder/test_laws_coverage.py) measures what the percentile interval achieves at the
designs the configs use.

A parameter the rows do not identify gets no interval (:func:`not_identified`): its
interval is unbounded, reaches zero or spans more than :data:`MAX_DECADES` decades, or too
few resamples succeeded. The FitResult keeps its estimate and says why in the ``ci_method``
and in ``diagnostics["not_identified"]``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .bootstrap import bootstrap
from .laws import Law, get_law
from .result import FitResult, Param

__all__ = ["MAX_DECADES", "MIN_RESIDUAL_DOF", "fit_with_intervals", "leave_largest_out", "not_identified",
           "structurally_unidentified", "too_few_rows"]

# An interval whose ends differ by more than 100x says the runs do not pin the parameter
# down (the default ladder of 2026-12-07 gave alpha 0.19 to 21, A up to 1e100).
MAX_DECADES = 2.0
MIN_OK_RESAMPLES = 10
# A bootstrap over rows needs rows to spare: with n rows and k parameters its intervals
# are too narrow when n - k is small (tests/ladder/test_laws_coverage.py: 9 runs for the 5
# parameters of L(N, D) covered the true exponents 83 to 87 % of the time, 24 runs 97 %).
MIN_RESIDUAL_DOF = 5


def too_few_rows(n: int, k: int, unit: str) -> str:
    """Why a fit of k parameters to n rows gets no interval (bootstrap or Wald), or "" when it
    gets one."""
    if n - k >= MIN_RESIDUAL_DOF:
        return ""
    dof = n - k
    return (f"{n} {unit} for {k} parameters leave {dof} residual degree{'' if dof == 1 else 's'} of freedom, fewer than "
            f"{MIN_RESIDUAL_DOF}: intervals from so few {unit} are too narrow")


def not_identified(p: Param, n_ok: int) -> str:
    """Why the parameter has no usable interval, or "" when it has one."""
    if n_ok < MIN_OK_RESAMPLES:
        return f"{n_ok} successful resamples"
    low, high = p.ci_low, p.ci_high
    if not (math.isfinite(low) and math.isfinite(high)):
        return "interval unbounded"
    if high - low <= 1e-9 * max(abs(p.estimate), abs(low), abs(high)):
        # every resample lands on one value: the fit sits on a bound (E at zero), not on data
        return f"every resample gives {p.estimate:.3g} (a bound of the fit, not a value the runs set)"
    if p.estimate > 0 and (low <= 0 or high / low > 10**MAX_DECADES):
        span = "reaches zero" if low <= 0 else f"spans {math.log10(high / low):.1f} decades"
        return f"interval {low:.3g} to {high:.3g} {span}"
    if p.estimate <= 0 and high - low > 10**MAX_DECADES * max(abs(p.estimate), 1e-12):
        return f"interval {low:.3g} to {high:.3g} is over 100 times the estimate"
    return ""


def structurally_unidentified(law: Law, x: np.ndarray) -> dict[str, str]:
    """Parameters of a saturating law that the design cannot identify whatever the noise.

    With E free, the term A_j / x_j^alpha_j is seen only through differences between the
    distinct values of x_j: two values give one difference, so E, A_j and alpha_j trade off
    along a line (a 2-budget ladder cannot give beta, however many sizes it has). Each
    exponent needs at least 3 distinct values of its x; E and the derived allocation
    exponents fall with any exponent that is not identified."""
    if law.solver != "power_sum":
        return {}
    x2 = np.asarray(x, float).reshape(x.shape[0], -1)
    m = x2.shape[1]
    out: dict[str, str] = {}
    for j in range(m):
        distinct = len(np.unique(x2[:, j]))
        if distinct < 3:
            why = (f"{distinct} distinct value(s) of {law.x_names[j]}; the term in {law.x_names[j]} needs at "
                   "least 3 to be told apart from E")
            for name in (law.params[1 + j], law.params[1 + m + j], law.params[0]):
                out.setdefault(name, why)
            if law.derived is not None:
                for name in law.derived(np.ones(law.k)):
                    out.setdefault(name, why)
    return out


def fit_with_intervals(
    law: Law | str,
    x: Any,
    y: Any,
    *,
    loss: str = "huber",
    f_scale: float | None = None,
    n_starts: int | None = None,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
    unit: str = "runs",
    analysis: str = "law",
    group: dict | None = None,
) -> FitResult:
    """``law.fit`` with intervals from a bootstrap over rows (``unit``): each resample enters
    as integer row weights and is refitted from several starts. ``n_resamples = 0``: the
    fit's Wald intervals."""
    law = get_law(law)
    fit = law.fit(x, y, loss=loss, f_scale=f_scale, n_starts=n_starts, confidence_level=confidence_level,
                  n_unit=unit, group=group, analysis=analysis)
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(law.x_names) == 1:
        x = x.reshape(-1)
    n, k = len(y), law.k
    structural = structurally_unidentified(law, x)
    few = too_few_rows(n, k, unit)
    if few:
        return _without_intervals(fit, few, structural, unit)
    if n_resamples <= 0:
        return _mark_unidentified(fit, structural, unit)
    starts = _resample_starts(law, fit)
    scale = fit.diagnostics.get("f_scale") if loss == "huber" else None
    names = list(fit.params)

    def one(idx: np.ndarray) -> np.ndarray:
        weights = np.bincount(idx, minlength=n).astype(float)
        keep = weights > 0
        if keep.sum() < k:
            return np.full(len(names), np.nan)
        try:
            est = law.estimate(x[keep], y[keep], loss=loss, f_scale=scale, starts=starts, weights=weights[keep])
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            return np.full(len(names), np.nan)
        values = list(est.params)
        if law.derived is not None:
            values += list(law.derived(est.params).values())
        return np.array(values, float)

    def statistic(idx: np.ndarray) -> np.ndarray:
        flat = idx.reshape(-1, idx.shape[-1])
        out = np.stack([one(row) for row in flat], axis=1)
        return out.reshape((len(names),) + idx.shape[:-1])

    boot = bootstrap(statistic, n, unit=unit, n_resamples=n_resamples, confidence_level=confidence_level,
                     method="percentile", seed=seed)
    n_ok = n_resamples - boot.n_failed
    points, fit.params, unidentified = fit.estimates, {}, {}
    for j, name in enumerate(names):
        estimate = points[name]
        p = Param(estimate, float(boot.se[j]), "bootstrap", float(boot.low[j]), float(boot.high[j]), boot.method)
        why = structural.get(name) or not_identified(p, n_ok)
        if why:
            unidentified[name] = why
            p = Param(estimate, ci_method=f"not identified: {why}")
        fit.params[name] = p
    fit.n_resamples, fit.n_failed_resamples = n_resamples, boot.n_failed
    fit.diagnostics["not_identified"] = unidentified
    fit.diagnostics["resample_starts"] = len(starts)
    if boot.n_failed:
        fit.warnings.append(f"{boot.n_failed} of {n_resamples} bootstrap resamples had fewer than {k} distinct "
                            f"{unit} or failed")
    if unidentified:
        fit.warnings.append("not identified by these " + unit + ": " + "; ".join(f"{k_}: {v}" for k_, v in unidentified.items()))
    return fit


def _without_intervals(fit: FitResult, why: str, structural: dict[str, str], unit: str) -> FitResult:
    """Point estimates only: every parameter says why it has no interval (a parameter the
    design cannot identify says that first)."""
    fit.params = {name: Param(p.estimate, ci_method=f"not identified: {structural[name]}" if name in structural
                              else f"no interval: {why}") for name, p in fit.params.items()}
    fit.diagnostics["not_identified"] = dict(structural)
    fit.diagnostics["no_interval"] = why
    if structural:
        fit.warnings.append(f"not identified by these {unit}: " + "; ".join(f"{k}: {v}" for k, v in structural.items()))
    fit.warnings.append(f"no interval: {why}")
    return fit


def _mark_unidentified(fit: FitResult, structural: dict[str, str], unit: str) -> FitResult:
    """Wald intervals (no resamples) pass the same test as resampled ones."""
    unidentified = {}
    for name, p in fit.params.items():
        if not np.isfinite(p.ci_low) and p.ci_method == "none":
            continue  # a derived quantity: no interval was claimed
        why = structural.get(name) or not_identified(p, MIN_OK_RESAMPLES)
        if why:
            unidentified[name] = why
            fit.params[name] = Param(p.estimate, ci_method=f"not identified: {why}")
    fit.diagnostics["not_identified"] = unidentified
    if unidentified:
        fit.warnings.append("not identified by these " + unit + ": "
                            + "; ".join(f"{k}: {v}" for k, v in unidentified.items()))
    return fit


def _resample_starts(law: Law, fit: FitResult) -> list[np.ndarray]:
    """The full-sample optimum and every other distinct optimum the full-sample fit reached
    from its starts (power_sum laws): each basin the data showed. Converged points, so a
    resample's refit from them takes a few iterations (the raw grid starts cost about 100
    times more per resample on the Chinchilla table)."""
    starts = [np.array([fit.params[p].estimate for p in law.params])]
    starts += [np.array(o) for o in fit.diagnostics.get("local_optima", [])[1:]]
    return starts


def leave_largest_out(law: Law | str, x: Any, y: Any, *, column: int = 0, labels: Sequence[str] | None = None,
                      **fit_kw) -> dict[str, Any]:
    """The one leave-largest-out record: refit without the rows at the largest value of
    x[:, column] and predict them, the extrapolation error one step beyond the data.
    Keys: holdout (the x column), holdout_value, holdout_n, holdout_rows (labels, when
    given), holdout_predicted, holdout_actual (means over the held-out rows),
    holdout_log_error, holdout_rel_error (mean), holdout_max_abs_rel_error,
    holdout_estimates; or holdout_error when the refit is impossible."""
    law = get_law(law)
    x, y = np.asarray(x, float), np.asarray(y, float)
    x2 = x.reshape(len(y), -1)
    largest = x2[:, column] == x2[:, column].max()
    record: dict[str, Any] = {"holdout": law.x_names[column], "holdout_value": float(x2[:, column].max()),
                              "holdout_n": int(largest.sum())}
    if labels is not None:
        record["holdout_rows"] = [str(labels[i]) for i in np.flatnonzero(largest)]
    if (~largest).sum() < law.k + 1:
        return {**record, "holdout_error": f"{int((~largest).sum())} rows left for a {law.k}-parameter law"}
    try:
        fit = law.fit(x[~largest], y[~largest], **fit_kw)
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as err:
        return {**record, "holdout_error": str(err)}
    predicted = law.predict(x[largest], fit)
    rel = (predicted - y[largest]) / y[largest]
    return {**record, "holdout_predicted": float(np.mean(predicted)), "holdout_actual": float(np.mean(y[largest])),
            "holdout_log_error": float(np.mean(np.log(predicted) - np.log(y[largest]))),
            "holdout_rel_error": float(np.mean(rel)), "holdout_max_abs_rel_error": float(np.max(np.abs(rel))),
            "holdout_estimates": {k: v for k, v in fit.estimates.items() if k in law.params}}
