"""Fit scaling laws honestly: several estimators, bootstrap intervals, alternatives, a null.

The question the pipeline asks of every corpus is whether mean sentence length S grows
with document length L as S = a * L^b.  A single log-log regression answers it badly:
the error model matters, a ratio S = L / n_sentences looks like a power law even in
shuffled text, and a power law is only interesting if it beats simpler and richer forms.
So this module provides, as plain functions over numpy arrays and pandas DataFrames:

* ``LAWS`` / ``fit_law`` / ``compare_laws``: a registry of law forms fitted by
  ``scipy.optimize.least_squares`` on the log-y scale, compared by AICc on that one scale;
* ``ESTIMATORS``: S = a * L^b estimated side by side (OLS on logs, Gamma GLM, count GLM,
  Huber, quantile regression), each returning the same ``PowerFit`` record;
* ``bootstrap_ci``: BCa intervals over documents (``scipy.stats.bootstrap``; percentile
  above ``BCA_MAX_N`` documents);
* ``shuffled_null``: the exponent of sentence-shuffled text, the baseline b must beat;
* ``fit_sentence_length``: all of the above for one corpus, as one tidy long table, and
  ``summary`` to condense it to one row per (corpus, unit).

Everything is seeded: the same inputs and seed give identical output.
"""

from __future__ import annotations

import json
import math
import re
import warnings
import zlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.stats.diagnostic import het_breuschpagan, linear_reset

__all__ = [
    "CI",
    "DEFAULT_ESTIMATORS",
    "ESTIMATORS",
    "InsufficientData",
    "LAWS",
    "Law",
    "LawFit",
    "NullResult",
    "PowerFit",
    "TABLE_COLUMNS",
    "bootstrap_ci",
    "compare_laws",
    "count_glm",
    "decades",
    "fit_law",
    "fit_sentence_length",
    "gamma_glm",
    "get_estimator",
    "huber",
    "ols_log",
    "quantile",
    "shuffled_null",
    "summary",
    "verdict",
]

# log of the smallest positive double: where a law predicts f(x) <= 0 (or overflows) the
# log-residual is computed against this floor, a huge but finite cost that least_squares
# rejects as a step instead of crashing on log(negative).
_LOG_FLOOR = float(np.log(np.finfo(float).tiny))
MIN_BOOTSTRAP_N = 8
MIN_RESAMPLES = 1000
# Cap on the number of float64 values one bootstrap / null batch holds (~32 MB).
_BATCH_VALUES = 4_000_000
# BCa's acceleration needs a jackknife: n statistics on n - 1 documents each, which
# scipy.stats.bootstrap computes by resampling, O(n^2) work even for the vectorized OLS
# statistic (about 175 s at n = 100,000, against 3 s for 2,000 resamples) and n refits for
# the other estimators. Above this many documents the interval is the percentile one: the
# corrections BCa makes shrink as n^(-1/2), and the method is recorded with the interval.
BCA_MAX_N = 10_000


class InsufficientData(ValueError):
    """Too few usable documents (or no spread in L) for a fit worth reporting."""


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has {int((~np.isfinite(arr)).sum())} non-finite values")
    return arr


def _check_power_data(
    x: Any, y: Any, counts: Any = None, *, min_n: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate (L, S[, n_sentences]) for an S = a L^b fit and say exactly what is wrong."""
    x = _as_1d(x, "x (L)")
    y = _as_1d(y, "y (S)")
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} vs {y.size}")
    if counts is not None:
        counts = _as_1d(counts, "counts (n_sentences)")
        if counts.shape != x.shape:
            raise ValueError(f"counts and x differ in length: {counts.size} vs {x.size}")
        if np.any(counts <= 0):
            raise ValueError(f"counts has {int((counts <= 0).sum())} values <= 0")
    if x.size < min_n:
        raise ValueError(f"too few observations: n = {x.size}, need at least {min_n}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError(
            f"x and y must be > 0 for a log-log fit: {int((x <= 0).sum())} x <= 0, "
            f"{int((y <= 0).sum())} y <= 0"
        )
    if np.ptp(x) == 0:
        raise ValueError(f"all x values are equal ({x[0]:g}): the exponent b is undefined")
    return x, y, counts


def _rng(seed: int | np.random.Generator, *keys: str) -> np.random.Generator:
    """A generator for one named sub-task, so adding a unit or estimator shifts no other."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng([int(seed), *(zlib.crc32(k.encode()) for k in keys)])


def decades(x: Any) -> float:
    """Orders of magnitude spanned by x, log10(max / min): a power law over < 1 decade is weak."""
    x = _as_1d(x, "x")
    if x.size == 0:
        raise ValueError("decades of an empty array")
    if np.any(x <= 0):
        raise ValueError("decades needs x > 0")
    return float(np.log10(x.max() / x.min()))


# --------------------------------------------------------------------------------------
# Law forms, fitted on the log-y scale
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Law:
    """A law form y = f(x; params).

    ``positive`` marks parameters fitted through their logarithm: that keeps f > 0 where
    the form allows it (so log f exists) and conditions scale parameters like a or A.
    ``starts(x, y)`` returns starting vectors (natural scale), best guess first.
    """

    name: str
    params: tuple[str, ...]
    formula: str
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray]
    starts: Callable[[np.ndarray, np.ndarray], list[np.ndarray]]
    positive: tuple[bool, ...]
    x_positive: bool = True

    @property
    def k(self) -> int:
        return len(self.params)

    def to_internal(self, params: np.ndarray) -> np.ndarray:
        params = np.asarray(params, dtype=float)
        pos = np.array(self.positive)
        out = params.copy()
        out[pos] = np.log(np.maximum(params[pos], np.finfo(float).tiny))
        return out

    def to_natural(self, theta: np.ndarray) -> np.ndarray:
        out = np.asarray(theta, dtype=float).copy()
        pos = np.array(self.positive)
        out[pos] = np.exp(out[pos])
        return out


def _log_linear_start(x: np.ndarray, y: np.ndarray, columns: Sequence[np.ndarray]) -> np.ndarray:
    """Least squares of log y on [1, *columns]: exact for laws linear in logs."""
    design = np.column_stack([np.ones_like(x), *columns])
    return np.linalg.lstsq(design, np.log(y), rcond=None)[0]


def _power_predict(x, p):
    return p[0] * np.power(x, p[1])


def _power_starts(x, y):
    c0, b = _log_linear_start(x, y, [np.log(x)])
    return [np.array([np.exp(c0), b])]


def _ma_predict(x, p):
    return p[0] * np.power(x, p[1]) * np.exp(p[2] * x)


def _ma_starts(x, y):
    c0, b, c = _log_linear_start(x, y, [np.log(x), x])
    p0, b0 = _log_linear_start(x, y, [np.log(x)])
    return [np.array([np.exp(c0), b, c]), np.array([np.exp(p0), b0, 0.0])]


def _linear_predict(x, p):
    return p[0] + p[1] * x


def _linear_starts(x, y):
    b, a = np.polyfit(x, y, 1)
    starts = []
    if np.all(a + b * x > 0):
        starts.append(np.array([a, b]))
    starts.append(np.array([float(np.exp(np.mean(np.log(y)))), 0.0]))
    return starts


def _constant_predict(x, p):
    return np.full_like(np.asarray(x, dtype=float), p[0])


def _constant_starts(x, y):
    return [np.array([float(np.exp(np.mean(np.log(y))))])]


def _saturating_predict(x, p):
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
        if not np.all(f > 0):
            continue
        scored.append((float(np.sum((np.log(y) - np.log(f)) ** 2)), alpha, e, a))
    scored.sort(key=lambda t: t[0])
    floor = 1e-6 * float(np.min(y))
    starts = [np.array([max(e, floor), max(a, floor), alpha]) for _, alpha, e, a in scored[:n_keep]]
    if not starts:
        starts = [np.array([0.5 * float(np.min(y)), float(np.max(y)), 0.5])]
    return starts


LAWS: dict[str, Law] = {
    law.name: law
    for law in (
        Law("power", ("a", "b"), "y = a * x^b", _power_predict, _power_starts, (True, False)),
        Law(
            "menzerath_altmann",
            ("a", "b", "c"),
            "y = a * x^b * exp(c * x)",
            _ma_predict,
            _ma_starts,
            (True, False, False),
        ),
        Law(
            "linear", ("a", "b"), "y = a + b * x", _linear_predict, _linear_starts,
            (False, False), x_positive=False,
        ),
        Law(
            "constant", ("a",), "y = a", _constant_predict, _constant_starts, (True,),
            x_positive=False,
        ),
        Law(
            "saturating_power",
            ("E", "A", "alpha"),
            "y = E + A * x^(-alpha)",
            _saturating_predict,
            _saturating_starts,
            (True, True, False),
        ),
    )
}


def _get_law(law: str | Law) -> Law:
    if isinstance(law, Law):
        return law
    try:
        return LAWS[law]
    except KeyError:
        raise ValueError(f"unknown law {law!r}; known: {', '.join(LAWS)}") from None


@dataclass(frozen=True)
class LawFit:
    """One law fitted on the log-y scale.

    ``loglik`` is the Gaussian log-likelihood of log y at the MLE of the residual variance,
    and ``k`` counts that variance as a parameter; so AICc values of different laws on
    the same data are comparable, while an AICc of a model of y itself would not be
    (it lacks the Jacobian term -sum(log y)).
    """

    law: str
    formula: str
    params: dict[str, float]
    se: dict[str, float]
    se_type: str
    loglik: float
    aicc: float
    r2: float
    n: int
    k: int
    loss: str
    f_scale: float | None
    rss: float
    converged: bool
    positive: tuple[bool, ...]

    def predict(self, x: Any) -> np.ndarray:
        return LAWS[self.law].predict(np.asarray(x, dtype=float), np.array(list(self.params.values())))

    def ci(self, confidence_level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Wald intervals from the Jacobian SEs; on the log scale for positive parameters,
        where the asymptotic normality was assumed, so they stay positive."""
        z = stats.norm.ppf(0.5 + confidence_level / 2)
        out = {}
        for (name, est), pos in zip(self.params.items(), self.positive):
            se = self.se[name]
            if pos and est > 0:
                half = z * se / est
                out[name] = (est * math.exp(-half), est * math.exp(half))
            else:
                out[name] = (est - z * se, est + z * se)
        return out


def _aicc(loglik: float, n: int, k: int) -> float:
    if n - k - 1 <= 0:
        return float("nan")
    return -2.0 * loglik + 2.0 * k + 2.0 * k * (k + 1) / (n - k - 1)


def _gaussian_loglik(rss: float, n: int) -> float:
    sigma2 = max(rss / n, np.finfo(float).tiny)
    return -0.5 * n * (math.log(2 * math.pi * sigma2) + 1.0)


def fit_law(
    x: Any,
    y: Any,
    law: str | Law,
    *,
    loss: str = "linear",
    f_scale: float | None = None,
) -> LawFit:
    """Fit ``law`` to (x, y) by least squares of log y - log f(x).

    Why the log scale: multiplicative noise, and every law is then judged on the same
    scale, so AICc differences mean something.  ``loss="huber"`` downweights outlying
    residuals; its ``f_scale`` (the residual size where it turns linear, in log units)
    defaults to 1.345 times a MAD estimate of the residual sd, re-estimated from the
    Huber fit's residuals until it settles.
    Several starts are tried and the lowest cost wins.  Standard errors come from the
    Jacobian of the log-residuals at the optimum (Gaussian errors on log y; for positive
    parameters through the delta method).
    """
    law = _get_law(law)
    x = _as_1d(x, "x")
    y = _as_1d(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} vs {y.size}")
    if np.any(y <= 0):
        raise ValueError(f"y must be > 0 on the log scale: {int((y <= 0).sum())} values <= 0")
    if law.x_positive and np.any(x <= 0):
        raise ValueError(f"law {law.name!r} needs x > 0: {int((x <= 0).sum())} values <= 0")
    n, p = x.size, law.k
    if n <= p:
        raise ValueError(f"law {law.name!r} has {p} parameters but only n = {n} points")
    if loss not in ("linear", "huber"):
        raise ValueError(f"loss must be 'linear' or 'huber', got {loss!r}")
    logy = np.log(y)

    def residuals(theta: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            f = law.predict(x, law.to_natural(theta))
            logf = np.log(f)
        logf = np.where(np.isfinite(logf), logf, _LOG_FLOOR)
        return logy - logf

    def solve(starts: Iterable[np.ndarray], loss_: str, scale: float) -> optimize.OptimizeResult:
        best = None
        for start in starts:
            theta0 = law.to_internal(start)
            if not np.all(np.isfinite(residuals(theta0))):
                continue
            res = optimize.least_squares(
                residuals, theta0, method="trf", jac="3-point", x_scale="jac",
                loss=loss_, f_scale=scale, max_nfev=2000,
            )
            if best is None or res.cost < best.cost:
                best = res
        if best is None:
            raise RuntimeError(f"no usable starting value for law {law.name!r}")
        return best

    starts = law.starts(x, y)
    res = solve(starts, "linear", 1.0)
    used_scale = None
    if loss == "huber" and f_scale is not None:
        used_scale = float(f_scale)
        res = solve([law.to_natural(res.x), *starts], "huber", used_scale)
    elif loss == "huber":
        # The least-squares residuals overstate the scale when outliers pulled the fit, so
        # re-estimate it from the Huber fit's own residuals until it settles (as RLM does).
        for step in range(20):
            mad = stats.median_abs_deviation(residuals(res.x), scale="normal")
            new_scale = 1.345 * mad if mad > 0 else 1e-3
            if used_scale is not None and abs(new_scale - used_scale) <= 1e-3 * used_scale:
                break
            used_scale = float(new_scale)
            # All starts once; later rescalings only move the current optimum a little.
            res = solve([law.to_natural(res.x), *(starts if step == 0 else [])], "huber", used_scale)

    theta = res.x
    resid = residuals(theta)
    rss = float(resid @ resid)
    jac = optimize.approx_fprime(theta, residuals)
    sigma2 = rss / (n - p)
    cov = sigma2 * np.linalg.pinv(jac.T @ jac)
    se_internal = np.sqrt(np.clip(np.diag(cov), 0, None))
    natural = law.to_natural(theta)
    se = np.where(np.array(law.positive), natural * se_internal, se_internal)
    k = p + 1  # the residual variance is estimated too
    loglik = _gaussian_loglik(rss, n)
    tss = float(np.sum((logy - logy.mean()) ** 2))
    se_type = "asymptotic (Jacobian, Gaussian errors on log y)"
    if loss == "huber":
        se_type += ", evaluated at the Huber estimate"
    return LawFit(
        law=law.name,
        formula=law.formula,
        params=dict(zip(law.params, map(float, natural))),
        se=dict(zip(law.params, map(float, se))),
        se_type=se_type,
        loglik=loglik,
        aicc=_aicc(loglik, n, k),
        r2=1.0 - rss / tss if tss > 0 else float("nan"),
        n=n,
        k=k,
        loss=loss,
        f_scale=used_scale,
        rss=rss,
        converged=bool(res.success),
        positive=law.positive,
    )


def _comparison_table(fits: Sequence[LawFit]) -> pd.DataFrame:
    aicc = np.array([f.aicc for f in fits], dtype=float)
    delta = aicc - np.nanmin(aicc) if np.any(np.isfinite(aicc)) else aicc
    rel = np.exp(-0.5 * delta)
    weight = rel / np.nansum(rel)
    return pd.DataFrame(
        {
            "law": [f.law for f in fits],
            "formula": [f.formula for f in fits],
            "k": [f.k for f in fits],
            "n": [f.n for f in fits],
            "loglik": [f.loglik for f in fits],
            "aicc": aicc,
            "delta_aicc": delta,
            "akaike_weight": weight,
            "scale": "log y",
        }
    )


def compare_laws(
    x: Any,
    y: Any,
    names: Sequence[str] = ("power", "menzerath_altmann", "linear", "constant"),
    *,
    loss: str = "linear",
    f_scale: float | None = None,
) -> pd.DataFrame:
    """Fit each named law on the log-y scale and rank them by AICc.

    Returns law, formula, k (incl. residual variance), n, loglik, aicc, delta_aicc
    (to the best), akaike_weight and scale ("log y": the one scale all were judged on).
    """
    return _comparison_table([fit_law(x, y, name, loss=loss, f_scale=f_scale) for name in names])


# --------------------------------------------------------------------------------------
# Estimators of S = a * L^b
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerFit:
    """The same record from every estimator, so they can be laid side by side.

    ``a`` means different things by design: exp(intercept) of OLS on logs is the median
    S at L = 1 (under symmetric noise), the Gamma GLM's is the mean, a quantile fit's the
    quantile.  ``pseudo_r2`` is only comparable within one ``r2_scale``.
    """

    estimator: str
    a: float
    b: float
    se_a: float
    se_b: float
    se_type: str
    pseudo_r2: float
    r2_scale: str
    n: int
    response: str
    diagnostics: dict[str, Any] = field(default_factory=dict)


def _design(L: np.ndarray) -> np.ndarray:
    return sm.add_constant(np.log(L), prepend=True, has_constant="add")


def _log_r2(logy: np.ndarray, fitted: np.ndarray) -> float:
    tss = float(np.sum((logy - logy.mean()) ** 2))
    return 1.0 - float(np.sum((logy - fitted) ** 2)) / tss if tss > 0 else float("nan")


def ols_log(L: Any, S: Any, n_sentences: Any = None, *, full: bool = True, start=None):
    """OLS of log S on log L with HC3 errors: the estimator most papers use.

    Diagnostics: Breusch-Pagan p (residual variance changing with log L would make the
    classical errors wrong) and Ramsey RESET p (curvature that a power law misses).
    With ``full=False`` returns only np.array([a, b]) (for resampling).
    """
    L, S, _ = _check_power_data(L, S)
    X, logS = _design(L), np.log(S)
    res = sm.OLS(logS, X).fit()
    if not full:
        return np.array([math.exp(res.params[0]), res.params[1]])
    robust = res.get_robustcov_results(cov_type="HC3")
    a = math.exp(robust.params[0])
    return PowerFit(
        estimator="ols_log",
        a=a,
        b=float(robust.params[1]),
        se_a=a * float(robust.bse[0]),
        se_b=float(robust.bse[1]),
        se_type="HC3 (heteroskedasticity-robust); se_a by delta method",
        pseudo_r2=float(res.rsquared),
        r2_scale="log S (R2)",
        n=L.size,
        response="log S",
        diagnostics={
            "bp_pvalue": float(het_breuschpagan(res.resid, X)[1]),
            "reset_pvalue": float(linear_reset(res, power=3, test_type="fitted", use_f=True).pvalue),
            "resid_sd": float(np.sqrt(res.scale)),
        },
    )


def gamma_glm(L: Any, S: Any, n_sentences: Any = None, *, full: bool = True, start=None):
    """Gamma GLM with log link on S: models the mean E[S] = a L^b directly.

    Why: exp(intercept) of log-OLS estimates a median, and back-transforming it to a mean
    needs a noise model; the GLM avoids that.  HC3 errors; Cox-Snell pseudo-R2.
    """
    L, S, _ = _check_power_data(L, S)
    model = sm.GLM(S, _design(L), family=sm.families.Gamma(link=sm.families.links.Log()))
    if not full:
        p = model.fit(start_params=start).params
        return np.array([math.exp(p[0]), p[1]])
    res = model.fit(cov_type="HC3")
    a = math.exp(res.params[0])
    # Cox-Snell from the likelihood ratio against an intercept-only Gamma GLM fitted with
    # its own dispersion.  Not res.pseudo_rsquared("cs"): statsmodels evaluates llnull at
    # the full model's dispersion, which inflates the ratio for families with a scale.
    null = sm.GLM(S, np.ones((S.size, 1)), family=sm.families.Gamma(link=sm.families.links.Log())).fit()
    cox_snell = -math.expm1(2.0 * (null.llf - res.llf) / S.size)
    return PowerFit(
        estimator="gamma_glm",
        a=a,
        b=float(res.params[1]),
        se_a=a * float(res.bse[0]),
        se_b=float(res.bse[1]),
        se_type="HC3 (sandwich); se_a by delta method",
        pseudo_r2=float(cox_snell),
        r2_scale="S (Cox-Snell pseudo-R2, null with its own dispersion)",
        n=L.size,
        response="S (mean)",
        diagnostics={
            "dispersion": float(res.scale),
            "deviance_explained": float(1.0 - res.deviance / res.null_deviance),
            "converged": bool(res.converged),
        },
    )


def count_glm(L: Any, S: Any, n_sentences: Any = None, *, full: bool = True, start=None):
    """Poisson GLM (log link) of the number of sentences on log L, with HC3 errors.

    Since S = L / n_sentences, S = a L^b is n_sentences = L^(1-b) / a: the slope gamma of
    log E[n] on log L gives b = 1 - gamma (se_b = se_gamma) and a = exp(-intercept).
    Why Poisson with robust errors rather than negative binomial: the Poisson
    quasi-likelihood estimates the mean model consistently whatever the dispersion
    (sentence counts can be over- or under-dispersed), and the sandwich errors absorb
    the dispersion, without estimating the NB shape parameter.  The Pearson dispersion
    is reported.  Without ``n_sentences`` the counts are taken as L / S.
    """
    L, S, counts = _check_power_data(L, S, n_sentences)
    counts_from = "n_sentences"
    if counts is None:
        counts, counts_from = L / S, "L / S"
    model = sm.GLM(counts, _design(L), family=sm.families.Poisson())
    if not full:
        p = model.fit(start_params=start).params
        return np.array([math.exp(-p[0]), 1.0 - p[1]])
    res = model.fit(cov_type="HC3")
    a = math.exp(-res.params[0])
    return PowerFit(
        estimator="count_glm",
        a=a,
        b=1.0 - float(res.params[1]),
        se_a=a * float(res.bse[0]),
        se_b=float(res.bse[1]),
        se_type="HC3 (sandwich, quasi-Poisson); se_a by delta method",
        pseudo_r2=float(res.pseudo_rsquared(kind="cs")),
        r2_scale="n_sentences (Cox-Snell pseudo-R2, statsmodels)",
        n=L.size,
        response="n_sentences (count)",
        diagnostics={
            "gamma": float(res.params[1]),
            "pearson_dispersion": float(res.pearson_chi2 / res.df_resid),
            "counts_from": counts_from,
            "converged": bool(res.converged),
        },
    )


def huber(L: Any, S: Any, n_sentences: Any = None, *, full: bool = True, start=None):
    """Robust regression (statsmodels RLM, Huber's T) of log S on log L.

    Why: a few documents with odd segmentation (lists, tables, verse) can pull OLS; the
    Huber fit downweights them.  The R2 reported is of its fitted values on log S.
    """
    L, S, _ = _check_power_data(L, S)
    X, logS = _design(L), np.log(S)
    model = sm.RLM(logS, X, M=sm.robust.norms.HuberT())
    res = model.fit(start_params=start) if start is not None else model.fit()
    if not full:
        return np.array([math.exp(res.params[0]), res.params[1]])
    a = math.exp(res.params[0])
    return PowerFit(
        estimator="huber",
        a=a,
        b=float(res.params[1]),
        se_a=a * float(res.bse[0]),
        se_b=float(res.bse[1]),
        se_type="RLM Huber sandwich (H1); se_a by delta method",
        pseudo_r2=_log_r2(logS, res.fittedvalues),
        r2_scale="log S (R2 of the Huber fit)",
        n=L.size,
        response="log S",
        diagnostics={
            "scale": float(res.scale),
            "n_downweighted": int(np.sum(res.weights < 1)),
        },
    )


def quantile(L: Any, S: Any, n_sentences: Any = None, *, q: float = 0.5, full: bool = True, start=None):
    """Quantile regression (statsmodels QuantReg) of log S on log L at quantile q.

    Why: whether short and long sentences scale alike: b at q = 0.1 and 0.9 differing
    from b at 0.5 means the spread of S changes with L.  a is the q-quantile of S at L = 1.
    """
    L, S, _ = _check_power_data(L, S)
    X, logS = _design(L), np.log(S)
    with warnings.catch_warnings():
        # QuantReg warns when the iteration limit is reached; surfaced via diagnostics.
        warnings.simplefilter("ignore")
        res = sm.QuantReg(logS, X).fit(q=q, max_iter=5000)
    if not full:
        return np.array([math.exp(res.params[0]), res.params[1]])
    a = math.exp(res.params[0])
    return PowerFit(
        estimator=f"quantile_{q:g}",
        a=a,
        b=float(res.params[1]),
        se_a=a * float(res.bse[0]),
        se_b=float(res.bse[1]),
        se_type="QuantReg sandwich (Epanechnikov kernel, Hall-Sheather bandwidth); "
        "se_a by delta method",
        pseudo_r2=float(res.prsquared),
        r2_scale="log S (Koenker-Machado pseudo-R1)",
        n=L.size,
        response=f"log S (quantile {q:g})",
        diagnostics={"q": q, "iterations": int(res.iterations)},
    )


ESTIMATORS: dict[str, Callable[..., Any]] = {
    "ols_log": ols_log,
    "gamma_glm": gamma_glm,
    "count_glm": count_glm,
    "huber": huber,
    "quantile_0.1": partial(quantile, q=0.1),
    "quantile_0.5": partial(quantile, q=0.5),
    "quantile_0.9": partial(quantile, q=0.9),
}
# Quantile fits are opt-in: QuantReg refits dominate the bootstrap time (about 4 s per
# quantile and unit at 250 documents, against about 1 s for a GLM).
DEFAULT_ESTIMATORS = ("ols_log", "gamma_glm", "count_glm", "huber")


def get_estimator(name: str) -> Callable[..., Any]:
    """An estimator by name; ``quantile_<q>`` works for any 0 < q < 1."""
    if name in ESTIMATORS:
        return ESTIMATORS[name]
    match = re.fullmatch(r"quantile_(0?\.\d+)", name)
    if match:
        return partial(quantile, q=float(match.group(1)))
    raise ValueError(f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}, quantile_<q>")


# --------------------------------------------------------------------------------------
# Bootstrap over documents
# --------------------------------------------------------------------------------------


class CI(NamedTuple):
    low: float
    high: float
    method: str


def _ols_log_statistic(logx: np.ndarray, logy: np.ndarray, axis: int = -1) -> np.ndarray:
    """(a, b) of OLS of logy on logx along ``axis``, in closed form for all resamples at once."""
    mx = logx.mean(axis=axis, keepdims=True)
    my = logy.mean(axis=axis, keepdims=True)
    dx = logx - mx
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (dx * (logy - my)).sum(axis=axis) / (dx * dx).sum(axis=axis)
    loga = np.squeeze(my, axis) - b * np.squeeze(mx, axis)
    return np.stack([np.exp(loga), b])


# Vectorized refits for the bootstrap: each is the estimator's own iteration (IRLS for the
# GLMs, statsmodels RLM's reweighting with a MAD scale for Huber) run on every resample at
# once along the last axis, so that 1,000 resamples and BCa's jackknife cost milliseconds
# instead of thousands of statsmodels fits. tests/test_fit.py checks each against
# statsmodels on the full sample.
_IRLS_MAX_ITER = 100
_IRLS_TOL = 1e-12


def _weighted_line(x: np.ndarray, z: np.ndarray, w: np.ndarray | None, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of z on [1, x] along ``axis``: (intercept, slope)."""
    if w is None:
        w = np.ones_like(x)
    sw = w.sum(axis=axis, keepdims=True)
    mx = (w * x).sum(axis=axis, keepdims=True) / sw
    mz = (w * z).sum(axis=axis, keepdims=True) / sw
    dx = x - mx
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (w * dx * (z - mz)).sum(axis=axis, keepdims=True) / (w * dx * dx).sum(axis=axis, keepdims=True)
    return mz - slope * mx, slope


def _glm_log_link_irls(x: np.ndarray, y: np.ndarray, poisson: bool, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """IRLS for a log-link GLM (Poisson: weights mu; Gamma: weights 1), as statsmodels GLM."""
    mu = (y + y.mean(axis=axis, keepdims=True)) / 2.0  # statsmodels' starting_mu
    eta = np.log(mu)
    b0 = b1 = np.zeros_like(eta.sum(axis=axis, keepdims=True))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(_IRLS_MAX_ITER):
            z = eta + (y - mu) / mu
            new0, new1 = _weighted_line(x, z, mu if poisson else None, axis)
            change = np.nanmax(np.abs(new1 - b1)) if new1.size else 0.0
            b0, b1 = new0, new1
            eta = b0 + b1 * x
            mu = np.exp(eta)
            if change < _IRLS_TOL:
                break
    return np.squeeze(b0, axis), np.squeeze(b1, axis)


def _gamma_glm_statistic(logx: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    b0, b1 = _glm_log_link_irls(logx, y, poisson=False, axis=axis)
    return np.stack([np.exp(b0), b1])


def _count_glm_statistic(logx: np.ndarray, counts: np.ndarray, axis: int = -1) -> np.ndarray:
    b0, b1 = _glm_log_link_irls(logx, counts, poisson=True, axis=axis)
    return np.stack([np.exp(-b0), 1.0 - b1])


def _huber_statistic(logx: np.ndarray, logy: np.ndarray, axis: int = -1) -> np.ndarray:
    """statsmodels RLM with HuberT (t = 1.345) and its default MAD scale, reweighted to convergence.

    A resample with more than half its residuals at zero has a MAD scale of zero; it keeps
    equal weights (its OLS line) instead of turning into NaN, which would void BCa.
    """
    t = sm.robust.norms.HuberT().t
    b0, b1 = _weighted_line(logx, logy, None, axis)
    resid = logy - b0 - b1 * logx
    scale = np.median(np.abs(resid), axis=axis, keepdims=True) / 0.6744897501960817
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(_IRLS_MAX_ITER):
            r = np.where(scale > 0, np.abs(resid) / np.where(scale > 0, scale, 1.0), 0.0)
            weights = np.where(r <= t, 1.0, t / np.maximum(r, t))
            new0, new1 = _weighted_line(logx, logy, weights, axis)
            change = np.nanmax(np.abs(new1 - b1)) if new1.size else 0.0
            b0, b1 = new0, new1
            resid = logy - b0 - b1 * logx
            scale = np.median(np.abs(resid), axis=axis, keepdims=True) / 0.6744897501960817
            if change < _IRLS_TOL:
                break
    return np.stack([np.exp(np.squeeze(b0, axis)), np.squeeze(b1, axis)])


def _vectorized_statistic(name: str, x: np.ndarray, y: np.ndarray, counts: np.ndarray | None):
    """(data, statistic) for estimators with a vectorized refit, else None."""
    logx = np.log(x)
    if name == "ols_log":
        return (logx, np.log(y)), _ols_log_statistic
    if name == "gamma_glm":
        return (logx, y), _gamma_glm_statistic
    if name == "count_glm":
        return (logx, counts if counts is not None else x / y), _count_glm_statistic
    if name == "huber":
        return (logx, np.log(y)), _huber_statistic
    return None


def bootstrap_ci(
    x: Any,
    y: Any,
    estimator: str | Callable[..., Any] = "ols_log",
    *,
    counts: Any = None,
    n_resamples: int = MIN_RESAMPLES,
    seed: int | np.random.Generator = 0,
    confidence_level: float = 0.95,
) -> dict[str, CI]:
    """BCa bootstrap intervals for a and b, resampling documents (pairs) with replacement.

    Above ``BCA_MAX_N`` documents the intervals are percentile intervals (see there).

    Why documents: they are the independent units; resampling residuals would assume
    the error model each estimator is meant to be checked against.  "ols_log" (closed
    form), "gamma_glm", "count_glm" and "huber" (their iterations run on all resamples at
    once) are vectorized; other estimators refit per resample with statsmodels,
    warm-started at the full-sample estimate.  ``counts`` (n_sentences) is
    resampled with x and y for "count_glm".  Returns {"a": CI, "b": CI}.
    """
    name = estimator if isinstance(estimator, str) else getattr(estimator, "__name__", "custom")
    x, y, counts = _check_power_data(x, y, counts, min_n=MIN_BOOTSTRAP_N)
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"n_resamples must be >= {MIN_RESAMPLES} for BCa intervals, got {n_resamples}")
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level}")
    n = x.size
    batch = max(1, min(n_resamples, _BATCH_VALUES // n))
    interval = "BCa" if n <= BCA_MAX_N else "percentile"
    fast = _vectorized_statistic(name, x, y, counts) if isinstance(estimator, str) else None
    if fast is not None:
        data, statistic = fast
        vectorized = True
    else:
        fn = get_estimator(estimator) if isinstance(estimator, str) else estimator
        start = _start_params(name, x, y, counts)
        data = (x, y) if counts is None else (x, y, counts)

        def statistic(*sample: np.ndarray) -> np.ndarray:
            xs, ys = sample[0], sample[1]
            cs = sample[2] if len(sample) > 2 else None
            if np.ptp(xs) == 0:
                return np.array([np.nan, np.nan])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.asarray(fn(xs, ys, cs, full=False, start=start), dtype=float)

        vectorized = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(
            data, statistic, n_resamples=n_resamples, batch=batch, vectorized=vectorized,
            paired=True, confidence_level=confidence_level, method=interval, rng=_rng(seed),
        )
    low = np.atleast_1d(res.confidence_interval.low)
    high = np.atleast_1d(res.confidence_interval.high)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError(
            f"{interval} interval for {name} is undefined (degenerate or failed resamples; n = {n})"
        )
    method = f"{interval} bootstrap over documents, {n_resamples} resamples"
    return {p: CI(float(lo), float(hi), method) for p, lo, hi in zip(("a", "b"), low, high)}


def _start_params(name: str, x, y, counts) -> np.ndarray | None:
    """Full-sample coefficients (intercept, slope on log L) used to warm-start refits."""
    if name in ("gamma_glm", "huber"):
        return np.polyfit(np.log(x), np.log(y), 1)[::-1]
    if name == "count_glm":
        c = counts if counts is not None else x / y
        return np.polyfit(np.log(x), np.log(c), 1)[::-1]
    return None


# --------------------------------------------------------------------------------------
# Null model: sentences shuffled across documents
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NullResult:
    """Exponents b of OLS-log fits after shuffling sentences across documents.

    ``b_observed`` is the same fit on the unshuffled sentence table, so b - b_null can be
    read on equal terms.
    """

    b_null: float
    low: float
    high: float
    reps: np.ndarray
    b_observed: float
    n_docs: int
    n_sentences: int
    confidence_level: float


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
    with np.errstate(divide="ignore", invalid="ignore"):
        return (dx * dy).sum(axis=-1) / (dx * dx).sum(axis=-1)


def shuffled_null(
    sentence_lengths_per_doc: pd.DataFrame,
    n_reps: int = 200,
    seed: int | np.random.Generator = 0,
    *,
    length_col: str | None = None,
    doc_col: str = "doc_id",
    confidence_level: float = 0.95,
) -> NullResult:
    """Shuffle sentence lengths across documents, keeping each document's sentence count,
    recompute L (sum) and S (mean) per document and refit the OLS-log exponent.

    Why: S = L / n_sentences is a ratio of L, and such ratios follow a power law of L even
    in random text (Ferrer-i-Cancho et al. 2014); b only says something about documents
    if it exceeds this b_null.  ``length_col`` defaults to the only column besides doc_col
    and sentence_index, or "n_words".  Vectorized: one permutation per row of a matrix,
    np.add.reduceat per row.
    """
    df = sentence_lengths_per_doc
    if doc_col not in df.columns:
        raise ValueError(f"sentence table has no {doc_col!r} column")
    if length_col is None:
        others = [c for c in df.columns if c not in (doc_col, "sentence_index", "corpus")]
        length_col = others[0] if len(others) == 1 else "n_words"
    if length_col not in df.columns:
        raise ValueError(f"sentence table has no {length_col!r} column")
    if n_reps < 1:
        raise ValueError(f"n_reps must be >= 1, got {n_reps}")
    codes, uniques = pd.factorize(df[doc_col], sort=False)
    if len(uniques) < 3:
        raise ValueError(f"null model needs at least 3 documents, got {len(uniques)}")
    order = np.argsort(codes, kind="stable")
    values = df[length_col].to_numpy(dtype=float)[order]
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{length_col} must be finite and >= 0")
    counts = np.bincount(codes, minlength=len(uniques)).astype(float)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)

    b_observed = float(_masked_loglog_slope(np.add.reduceat(values, starts), counts))
    rng = _rng(seed)
    rows = max(1, min(n_reps, _BATCH_VALUES // values.size))
    reps = []
    for done in range(0, n_reps, rows):
        m = min(rows, n_reps - done)
        shuffled = rng.permuted(np.broadcast_to(values, (m, values.size)), axis=1)
        reps.append(_masked_loglog_slope(np.add.reduceat(shuffled, starts, axis=1), counts))
    reps_arr = np.concatenate(reps)
    tail = 50 * (1 - confidence_level)
    low, high = np.nanpercentile(reps_arr, [tail, 100 - tail])
    return NullResult(
        b_null=float(np.nanmean(reps_arr)),
        low=float(low),
        high=float(high),
        reps=reps_arr,
        b_observed=b_observed,
        n_docs=len(uniques),
        n_sentences=int(values.size),
        confidence_level=confidence_level,
    )


# --------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------


def verdict(
    b: float,
    ci_low: float,
    ci_high: float,
    *,
    confidence_level: float = 0.95,
    b_null_low: float | None = None,
    b_null_high: float | None = None,
) -> str:
    """A plain-language answer to "longer documents have longer sentences", with numbers.

    Supported when b > 0 and the interval excludes 0; contradicted when b < 0 and it
    excludes 0; otherwise inconclusive.  Given the shuffled-null interval, a note says
    when b is no different from what shuffled text gives.
    """
    pct = f"{100 * confidence_level:g}%"
    nums = f"b = {b:.3g}, {pct} CI {ci_low:.3g} to {ci_high:.3g}"
    if not all(np.isfinite([b, ci_low, ci_high])):
        text = f"inconclusive: no usable interval ({nums})"
    elif b > 0 and ci_low > 0:
        text = f"supported: longer documents have longer sentences ({nums})"
    elif b < 0 and ci_high < 0:
        text = f"contradicted: longer documents have shorter sentences ({nums})"
    else:
        text = f"inconclusive: the interval includes 0 ({nums})"
    if b_null_low is not None and b_null_high is not None and np.isfinite([b_null_low, b_null_high]).all():
        null = f"shuffled-sentence null {b_null_low:.3g} to {b_null_high:.3g}"
        if b_null_low <= b <= b_null_high:
            text += f"; but b lies within the {null}, so it may be an artifact of S = L / n"
        else:
            text += f"; b lies outside the {null}"
    return text


# --------------------------------------------------------------------------------------
# The pipeline's entry point
# --------------------------------------------------------------------------------------

TABLE_COLUMNS = (
    "corpus", "unit", "x", "y", "response", "estimator", "law", "formula", "parameter",
    "estimate", "se", "se_type", "ci_low", "ci_high", "ci_method", "confidence_level",
    "n", "n_excluded", "decades_x", "pseudo_r2", "r2_scale", "loglik", "aicc", "aicc_scale",
    "delta_aicc", "akaike_weight", "bp_pvalue", "reset_pvalue", "b_null", "b_null_low",
    "b_null_high", "b_minus_null", "null_reps", "verdict", "n_resamples", "seed",
    "diagnostics",
)
_STRING_COLUMNS = (
    "corpus", "unit", "x", "y", "response", "estimator", "law", "formula", "parameter",
    "se_type", "ci_method", "r2_scale", "aicc_scale", "verdict", "diagnostics",
)
PRIMARY_ESTIMATOR = "ols_log"
LAW_ESTIMATOR = "least_squares_log"


def _usable(docs: pd.DataFrame, unit: str, corpus: str) -> tuple[pd.DataFrame, int]:
    xcol, ycol = f"L_{unit}", f"S_{unit}_mean"
    missing = [c for c in (xcol, ycol, "status", "doc_id") if c not in docs.columns]
    if missing:
        raise ValueError(f"corpus {corpus!r}: document table lacks columns {missing}")
    L = pd.to_numeric(docs[xcol], errors="coerce").to_numpy(dtype=float)
    S = pd.to_numeric(docs[ycol], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        ok = (docs["status"] == "ok").to_numpy() & np.isfinite(L) & np.isfinite(S) & (L > 0) & (S > 0)
    return docs.loc[ok], int((~ok).sum())


def fit_sentence_length(
    docs: pd.DataFrame,
    sentences: pd.DataFrame | None,
    *,
    corpus: str,
    units: Sequence[str] = ("words", "tokens"),
    estimators: Sequence[str] = DEFAULT_ESTIMATORS,
    laws: Sequence[str] = ("power", "menzerath_altmann", "linear", "constant"),
    n_resamples: int = MIN_RESAMPLES,
    null_reps: int = 200,
    seed: int = 0,
    confidence_level: float = 0.95,
    min_docs: int = 10,
    law_loss: str = "linear",
) -> pd.DataFrame:
    """Fit S = a L^b for one corpus, in every unit, every way; return one tidy long table.

    One row per (corpus, unit, estimator, law, parameter).  Estimator rows (law "power")
    carry BCa intervals over documents; rows with estimator "least_squares_log" are the
    law comparison (one per law and parameter: Wald intervals, AICc on the log-S scale,
    delta_aicc and Akaike weight).  The ols_log b row also carries the shuffled-sentence
    null (from ``sentences``; skipped when it is None) and the verdict.

    Only documents with status == "ok", L > 0 and S > 0 are fitted; the rest are counted
    in n_excluded.  Raises InsufficientData when fewer than ``min_docs`` remain or L has
    no spread.  Sub-tasks draw from generators keyed by (seed, unit, task), so output is
    identical for identical inputs.
    """
    if "ols_log" not in estimators:
        raise ValueError("estimators must include 'ols_log': the verdict and null refer to it")
    for name in estimators:
        get_estimator(name)
    for name in laws:
        _get_law(name)
    rows: list[dict[str, Any]] = []
    for unit in units:
        rows.extend(
            _fit_unit(
                docs, sentences, corpus=corpus, unit=unit, estimators=estimators, laws=laws,
                n_resamples=n_resamples, null_reps=null_reps, seed=seed,
                confidence_level=confidence_level, min_docs=min_docs, law_loss=law_loss,
            )
        )
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    for col in TABLE_COLUMNS:
        if col in _STRING_COLUMNS:
            table[col] = table[col].astype(object)
        elif col in ("n", "n_excluded", "null_reps", "n_resamples", "seed"):
            table[col] = table[col].astype("Int64")
        else:
            table[col] = table[col].astype(float)
    return table


def _fit_unit(
    docs, sentences, *, corpus, unit, estimators, laws, n_resamples, null_reps, seed,
    confidence_level, min_docs, law_loss,
) -> list[dict[str, Any]]:
    used, n_excluded = _usable(docs, unit, corpus)
    xcol, ycol = f"L_{unit}", f"S_{unit}_mean"
    n = len(used)
    if n < min_docs:
        status = docs["status"].value_counts().to_dict() if "status" in docs else {}
        raise InsufficientData(
            f"corpus {corpus!r}, unit {unit!r}: {n} usable documents of {len(docs)} "
            f"({n_excluded} excluded; status counts {status}), need at least {min_docs}"
        )
    L = used[xcol].to_numpy(dtype=float)
    S = used[ycol].to_numpy(dtype=float)
    if np.ptp(L) == 0:
        raise InsufficientData(
            f"corpus {corpus!r}, unit {unit!r}: all {n} documents have {xcol} = {L[0]:g}; "
            "the exponent is undefined"
        )
    counts = used["n_sentences"].to_numpy(dtype=float) if "n_sentences" in used else None
    if counts is not None and not np.all(np.isfinite(counts) & (counts > 0)):
        counts = None
    base = {
        "corpus": corpus, "unit": unit, "x": xcol, "y": ycol, "n": n, "n_excluded": n_excluded,
        "decades_x": decades(L), "confidence_level": confidence_level, "seed": seed,
    }
    rows: list[dict[str, Any]] = []

    null = None
    if sentences is not None:
        length_col = f"n_{unit}"
        if length_col not in sentences.columns:
            raise ValueError(f"corpus {corpus!r}: sentence table lacks column {length_col!r}")
        kept = sentences.loc[sentences["doc_id"].isin(set(used["doc_id"])), ["doc_id", length_col]]
        if kept["doc_id"].nunique() < 3:
            raise ValueError(
                f"corpus {corpus!r}, unit {unit!r}: the sentence table covers "
                f"{kept['doc_id'].nunique()} of the {n} fitted documents"
            )
        null = shuffled_null(
            kept, null_reps, _rng(seed, unit, "null"), length_col=length_col,
            confidence_level=confidence_level,
        )

    for name in estimators:
        fn = get_estimator(name)
        rec: PowerFit = fn(L, S, counts)
        cis = bootstrap_ci(
            L, S, name, counts=counts if name == "count_glm" else None,
            n_resamples=n_resamples, seed=_rng(seed, unit, name), confidence_level=confidence_level,
        )
        diag = dict(rec.diagnostics)
        shared = {
            **base, "response": rec.response, "estimator": name, "law": "power",
            "formula": LAWS["power"].formula, "se_type": rec.se_type,
            "pseudo_r2": rec.pseudo_r2, "r2_scale": rec.r2_scale, "n_resamples": n_resamples,
            "bp_pvalue": diag.pop("bp_pvalue", np.nan),
            "reset_pvalue": diag.pop("reset_pvalue", np.nan),
            "diagnostics": json.dumps(diag, sort_keys=True, default=str),
        }
        for param, est, se in (("a", rec.a, rec.se_a), ("b", rec.b, rec.se_b)):
            row = {
                **shared, "parameter": param, "estimate": est, "se": se,
                "ci_low": cis[param].low, "ci_high": cis[param].high, "ci_method": cis[param].method,
            }
            if name == PRIMARY_ESTIMATOR and param == "b":
                nl = nh = None
                if null is not None:
                    nl, nh = null.low, null.high
                    row.update(
                        b_null=null.b_null, b_null_low=null.low, b_null_high=null.high,
                        b_minus_null=est - null.b_null, null_reps=null_reps,
                    )
                row["verdict"] = verdict(
                    est, row["ci_low"], row["ci_high"], confidence_level=confidence_level,
                    b_null_low=nl, b_null_high=nh,
                )
            rows.append(row)

    fits = [fit_law(L, S, name, loss=law_loss) for name in laws]
    table = _comparison_table(fits)
    z_method = (
        "Wald, asymptotic normal (Jacobian SE; log scale for positive parameters)"
    )
    for fitted, comp in zip(fits, table.itertuples(index=False)):
        cis = fitted.ci(confidence_level)
        for param, est in fitted.params.items():
            rows.append({
                **base, "response": "log S", "estimator": LAW_ESTIMATOR, "law": fitted.law,
                "formula": fitted.formula, "parameter": param, "estimate": est,
                "se": fitted.se[param], "se_type": fitted.se_type,
                "ci_low": cis[param][0], "ci_high": cis[param][1], "ci_method": z_method,
                "pseudo_r2": fitted.r2, "r2_scale": "log S (R2)", "loglik": fitted.loglik,
                "aicc": fitted.aicc, "aicc_scale": f"log {ycol} (Gaussian)",
                "delta_aicc": comp.delta_aicc, "akaike_weight": comp.akaike_weight,
                "diagnostics": json.dumps(
                    {"k": fitted.k, "loss": fitted.loss, "f_scale": fitted.f_scale,
                     "converged": fitted.converged}, sort_keys=True,
                ),
            })
    return rows


def summary(fits: pd.DataFrame) -> pd.DataFrame:
    """One row per (corpus, unit): the primary b with its interval and null, the best law
    by AICc, b from every other estimator, and the verdict; what the report prints."""
    out = []
    for (corpus, unit), group in fits.groupby(["corpus", "unit"], sort=False):
        primary = group[(group["estimator"] == PRIMARY_ESTIMATOR) & (group["parameter"] == "b")]
        if primary.empty:
            continue
        p = primary.iloc[0]
        row: dict[str, Any] = {
            "corpus": corpus, "unit": unit, "x": p["x"], "y": p["y"], "n": p["n"],
            "n_excluded": p["n_excluded"], "decades_x": p["decades_x"], "b": p["estimate"],
            "ci_low": p["ci_low"], "ci_high": p["ci_high"], "ci_method": p["ci_method"],
            "b_null": p["b_null"], "b_null_low": p["b_null_low"], "b_null_high": p["b_null_high"],
            "b_minus_null": p["b_minus_null"],
        }
        laws = group[group["estimator"] == LAW_ESTIMATOR].drop_duplicates("law")
        if not laws.empty and laws["aicc"].notna().any():
            best = laws.loc[laws["aicc"].idxmin()]
            row.update(best_law=best["law"], best_law_weight=best["akaike_weight"])
            power = laws[laws["law"] == "power"]
            row["delta_aicc_power"] = power["delta_aicc"].iloc[0] if not power.empty else np.nan
        else:
            row.update(best_law=None, best_law_weight=np.nan, delta_aicc_power=np.nan)
        others = group[
            (group["parameter"] == "b")
            & (group["estimator"] != PRIMARY_ESTIMATOR)
            & (group["estimator"] != LAW_ESTIMATOR)
        ]
        for est in others.itertuples(index=False):
            row[f"b_{est.estimator}"] = est.estimate
        row["verdict"] = p["verdict"]
        out.append(row)
    return pd.DataFrame(out)
