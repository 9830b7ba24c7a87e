"""Generated length as a right-censored survival time, and what a length cap implies.

Plain functions over the generations table (``results/{corpus}/generate/generations.parquet``).

A generation stops at EOS (its length is observed) or at its cap (right-censored: its
natural length is only known to be at least the cap). The cap of a row is
``cap_tokens``: ``max_new_tokens``, or under a total cap such as the seed's
``max_length=100`` the room left by the prompt, ``max_length - prompt length``. The
survival time is ``n_steps`` (decoding steps: generated tokens plus one for EOS). A row
with no room at all (``stop_reason == "no_room"``: the prompt alone fills the total
cap) has no survival time; it is left out of every fit and counted.

* :func:`censoring_summary`: how many stopped by EOS, hit a cap, or had no room.
* :func:`km_medians`: Kaplan-Meier median of ``n_steps`` per prompt length with its 95%
  CI (statsmodels ``SurvfuncRight``); NaN and ``median_reached=False`` when more than
  half hit the cap.
* :func:`lognormal_aft`: ``log T = b0 + b1 log P + sigma e``, ``e ~ N(0, 1)``, by
  maximum likelihood with censored rows contributing ``log S(t)``, standard errors
  clustered by source document. ``b1`` is the elasticity of the median generated length
  with respect to prompt length. Returns a :class:`~scalelaw.fitting.result.FitResult`.
* :func:`elasticity`: ``b1`` as "percent per doubling of the prompt", ``100 (2^b1 - 1)``,
  with its interval and a verdict (grows, shrinks, or the data cannot tell).
* :func:`cap_artifact`: under a total cap, the slopes that the cap alone produces.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from scalelaw.fitting.result import FitResult, Param

CELL_KEYS = ["model", "decoding", "max_new_tokens"]
KM_KEYS = CELL_KEYS + ["prompt_tokens"]
#: Settings recorded with every fit of a cell (constant within a cell).
CELL_SETTINGS = ["prompt_format", "max_length", "do_sample", "temperature", "top_p", "top_k"]
MIN_EVENTS = 30  # below this many EOS events an AFT slope is flagged as fragile
#: The prompt length of the fits: the prompt text in model tokens, without the tokens a
#: chat template adds (a constant offset that would flatten log P and inflate the slope).
PROMPT_X = "prompt_text_tokens"
AFT_FORMULA = "log T = b0 + b1 log P + sigma e, e ~ N(0,1); T right-censored at its cap"


def with_room(gen: pd.DataFrame) -> pd.DataFrame:
    """Rows that had room to generate (every fit uses these; the rest are counted)."""
    return gen[gen["n_steps"] > 0]


def _group_labels(g: pd.DataFrame, by: Sequence[str], key: Any) -> dict[str, Any]:
    key = key if isinstance(key, tuple) else (key,)
    labels = dict(zip(by, key))
    for col in CELL_SETTINGS:
        if col in g and col not in labels:
            value = g[col].iloc[0]
            labels[col] = None if pd.isna(value) else value.item() if hasattr(value, "item") else value
    if labels.get("max_length") == -1:
        labels["max_length"] = None
    return labels


def censoring_summary(gen: pd.DataFrame, by: Sequence[str] = CELL_KEYS) -> pd.DataFrame:
    """How many generations stopped by EOS, hit their cap, or had no room, per group and
    overall (group columns "all")."""
    def one(g):
        room = g["n_steps"] > 0
        capped = g["censored"].astype(bool) & room
        return pd.Series({
            "n": len(g), "n_eos": int((~g["censored"].astype(bool)).sum()),
            "n_capped": int(capped.sum()), "n_no_room": int((~room).sum()),
            "frac_capped": float(capped.sum() / room.sum()) if room.any() else float("nan"),
        })
    parts = [gen.groupby(list(by), sort=True).apply(one, include_groups=False).reset_index()]
    parts.append(pd.DataFrame([{**{k: "all" for k in by}, **one(gen).to_dict()}]))
    out = pd.concat([p.astype({k: str for k in by}) for p in parts], ignore_index=True)
    return out.astype({"n": "int64", "n_eos": "int64", "n_capped": "int64", "n_no_room": "int64"})


def km_medians(gen: pd.DataFrame, by: Sequence[str] = KM_KEYS) -> pd.DataFrame:
    """Kaplan-Meier median decoding steps per group, with the censoring counts.

    Also gives the naive mean and median of ``gen_tokens`` (biased by the cap; for
    contrast), the mean prompt length in model tokens (the x of the figure) and the mean
    cap.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    rows = []
    for key, g_all in gen.groupby(list(by), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        g = with_room(g_all)
        t = g["n_steps"].to_numpy(dtype=float)
        event = (~g["censored"].astype(bool)).to_numpy().astype(int)
        row = dict(zip(by, key))
        row.update(
            n=len(g), n_censored=int((event == 0).sum()), n_no_room=len(g_all) - len(g),
            frac_censored=float((event == 0).mean()) if len(g) else float("nan"),
            cap_mean=float(g["cap_tokens"].mean()) if len(g) else float("nan"),
            prompt_len_tokens_mean=float(g_all["prompt_len_tokens"].mean()),
            prompt_text_tokens_mean=float(g_all[PROMPT_X].mean()),
            naive_mean_gen_tokens=float(g["gen_tokens"].mean()) if len(g) else float("nan"),
            naive_median_gen_tokens=float(g["gen_tokens"].median()) if len(g) else float("nan"),
        )
        med = lo = hi = float("nan")
        if len(g) and event.sum() > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sf = SurvfuncRight(t, event)
                med = float(sf.quantile(0.5))
                try:
                    lo, hi = (float(v) for v in sf.quantile_ci(0.5))
                except Exception:  # too few events for an interval
                    pass
        row.update(km_median_steps=med, km_median_ci_low=lo, km_median_ci_high=hi,
                   median_reached=bool(np.isfinite(med)))
        rows.append(row)
    return pd.DataFrame(rows)


def _aft_loglike_obs(params, logt, X, event, family: str = "lognormal"):
    beta, log_sigma = params[:-1], params[-1]
    sigma = math.exp(log_sigma)
    z = (logt - X @ beta) / sigma
    # density of T at t for events (Jacobian -log t), survivor function for censored
    if family == "weibull":  # log T = X b + sigma W, W the standard minimum extreme value
        ez = np.exp(np.minimum(z, 50.0))
        return np.where(event, z - ez - log_sigma - logt, -ez)
    return np.where(event, stats.norm.logpdf(z) - log_sigma - logt, stats.norm.logsf(z))


def weibull_aft_aic(time: Any, event: Any, x: Any, covariates: Any = None) -> tuple[float, float, float]:
    """AIC and slope b1 of the Weibull AFT (``log T = b0 + b1 log x + sigma W``, W the
    standard minimum extreme-value variable) and AIC of the lognormal AFT on the same rows,
    by maximum likelihood (scipy): the check of the lognormal's shape. The lifelines
    package has both families; it is not installed here, so the likelihoods above are
    maximized directly. Returns (aic_lognormal, aic_weibull, b1_weibull)."""
    from scipy.optimize import minimize

    t = np.asarray(time, dtype=float)
    ev = np.asarray(event, dtype=bool)
    X = np.column_stack([np.ones(t.size), np.log(np.asarray(x, dtype=float)),
                         *([] if covariates is None else np.asarray(covariates, dtype=float).T)])
    logt = np.log(t)
    ols = np.linalg.lstsq(X, logt, rcond=None)[0]
    start = np.r_[ols, math.log(max(float(np.std(logt - X @ ols)), 1e-2))]
    k = X.shape[1] + 1
    out = []
    for family in ("lognormal", "weibull"):
        res = minimize(lambda q: -_aft_loglike_obs(q, logt, X, ev, family).sum(), start, method="BFGS")
        if not res.success:
            res = minimize(lambda q: -_aft_loglike_obs(q, logt, X, ev, family).sum(), res.x,
                           method="Nelder-Mead", options={"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-10})
        out.append((2 * k + 2 * float(res.fun), float(res.x[1])))
    return out[0][0], out[1][0], out[1][1]


def lognormal_aft(time: Any, event: Any, x: Any, groups: Any = None, *,
                  group: Mapping[str, Any] | None = None,
                  confidence_level: float = 0.95,
                  covariates: pd.DataFrame | None = None) -> FitResult:
    """Lognormal AFT of T on log x with right censoring (see module doc).

    ``time`` > 0; ``event`` 1 when observed, 0 when censored; ``groups`` for clustered
    standard errors (5 clusters or more; else a robust HC0 sandwich). Parameters b0, b1
    and sigma with Wald intervals; ``diagnostics`` counts events, censored rows, prompt
    lengths and clusters. When the slope is not identified (no event, one prompt
    length) the estimates are NaN and ``warnings`` says why. ``covariates`` (columns of
    indicators, e.g. the instruction wording) enter as fixed shifts of log T, reported as
    parameters under their column names.
    """
    from statsmodels.base.model import GenericLikelihoodModel

    t = np.asarray(time, dtype=float)
    ev = np.asarray(event, dtype=bool)
    lx = np.log(np.asarray(x, dtype=float))
    n, n_ev = t.size, int(ev.sum())
    n_clusters = int(pd.Series(groups).nunique()) if groups is not None else 0
    diagnostics = {"n_events": n_ev, "n_censored": n - n_ev, "n_prompt_lengths": int(np.unique(lx).size),
                   "n_clusters": n_clusters, "min_events": MIN_EVENTS}
    nan = float("nan")

    extra = [] if covariates is None else list(covariates.columns)
    names = ["b0", "b1", *extra]

    def result(params, *, problems, converged=False, loglik=nan, se_type="none"):
        return FitResult(analysis="generated_length", law="power", formula=AFT_FORMULA,
                         estimator="lognormal_aft_mle", params=params, n=n, n_unit="generations",
                         confidence_level=confidence_level, group=dict(group or {}), k=3 + len(extra),
                         loglik=loglik, converged=converged,
                         diagnostics={**diagnostics, "se_type": se_type}, warnings=problems)

    empty = {k: Param(nan) for k in (*names, "sigma")}
    problems: list[str] = []
    if n < 3:
        problems.append(f"only {n} generations")
    if n_ev == 0:
        problems.append("every generation hit its cap: no EOS event, the length scale is not "
                        "identified (raise max_new_tokens)")
    if diagnostics["n_prompt_lengths"] < 2:
        problems.append("a single prompt length: the slope b1 is not identified")
    if not problems and n_ev == n and np.unique(t).size == 1:
        problems.append(f"every generation stopped after exactly {int(t[0])} steps: no "
                        "spread in length to model")
    if problems:
        return result(empty, problems=problems)
    if n_ev < MIN_EVENTS:
        problems.append(f"only {n_ev} generations stopped by EOS (fewer than {MIN_EVENTS}): "
                        "the slope is fragile")
    logt = np.log(t)
    X = np.column_stack([np.ones(n), lx, *([] if covariates is None else covariates.to_numpy(float).T)])

    class LogNormalAFT(GenericLikelihoodModel):
        def loglikeobs(self, params):
            return _aft_loglike_obs(params, self.endog, self.exog, ev)

    ols = np.linalg.lstsq(X, logt, rcond=None)[0]
    resid_sd = float(np.std(logt - X @ ols)) or 0.5
    start = np.r_[ols, math.log(max(resid_sd, 1e-2))]
    model = LogNormalAFT(logt, X, extra_params_names=["log_sigma"])
    if n_clusters >= 5:
        cov = dict(cov_type="cluster", cov_kwds={"groups": pd.factorize(pd.Series(groups))[0]})
        se_type = f"cluster-robust by document ({n_clusters} clusters)"
    else:
        cov = dict(cov_type="HC0")
        se_type = "robust sandwich (HC0)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = model.fit(start_params=start, method="bfgs", maxiter=2000, disp=0, **cov)
            if not res.mle_retvals.get("converged", False):
                res = model.fit(start_params=res.params, method="nm", maxiter=20000,
                                disp=0, **cov)
        except Exception as err:  # singular covariance and the like
            return result(empty, problems=problems + [f"fit failed: {err}"])
    est, bse = np.asarray(res.params, dtype=float), np.asarray(res.bse, dtype=float)
    if n_clusters >= 5:  # few clusters: a t quantile with G - 1 degrees of freedom
        z = stats.t.ppf(0.5 + confidence_level / 2, n_clusters - 1)
        wald = f"Wald with t({n_clusters - 1}), {se_type}"
    else:
        z = stats.norm.ppf(0.5 + confidence_level / 2)
        wald = f"Wald, {se_type}"
    params = {k: Param(est[i], bse[i], se_type, est[i] - z * bse[i], est[i] + z * bse[i], wald)
              for i, k in enumerate(names)}
    ls, ls_se = float(est[-1]), float(bse[-1])
    params["sigma"] = Param(math.exp(ls), math.exp(ls) * ls_se, f"{se_type}, delta method",
                            math.exp(ls - z * ls_se), math.exp(ls + z * ls_se),
                            f"Wald on log sigma, {se_type}")
    converged = bool(res.mle_retvals.get("converged", False))
    aic_lognormal, aic_weibull, b1_weibull = weibull_aft_aic(
        t, ev, np.exp(lx), None if covariates is None else covariates.to_numpy(float))
    diagnostics.update(aic_lognormal=aic_lognormal, aic_weibull=aic_weibull, b1_weibull=b1_weibull,
                       shape_preferred_by_aic="weibull" if aic_weibull < aic_lognormal - 2 else
                       "lognormal" if aic_lognormal < aic_weibull - 2 else "neither (|delta AIC| <= 2)")
    if diagnostics["shape_preferred_by_aic"] == "weibull":
        problems.append(f"the Weibull AFT fits better by AIC ({aic_weibull:.1f} against {aic_lognormal:.1f}); "
                        f"its b1 is {b1_weibull:.3f}")
    if not converged:
        problems.append("optimizer did not converge")
    if not np.all(np.isfinite(bse)):
        problems.append("standard errors not finite")
    return result(params, problems=problems, converged=converged, loglik=float(res.llf),
                  se_type=se_type)


def aft_fits(gen: pd.DataFrame, by: Sequence[str] = CELL_KEYS) -> list[FitResult]:
    """:func:`lognormal_aft` of ``n_steps`` on the prompt text's length per group (rows with
    room only; the others are counted in ``diagnostics['n_no_room']``)."""
    fits = []
    for key, g_all in gen.groupby(list(by), sort=True):
        g = with_room(g_all)
        wordings = g["instruction_index"] if "instruction_index" in g else pd.Series(-1, index=g.index)
        levels = sorted(int(v) for v in wordings.unique())
        # instruction wordings: a shift of log T per wording beyond the first (fixed effects:
        # 3 or so wordings are too few to estimate a random-effect variance)
        covariates = (pd.DataFrame({f"wording_{v}": (wordings == v).astype(float) for v in levels[1:]})
                      if len(levels) > 1 else None)
        fit = lognormal_aft(g["n_steps"], ~g["censored"].astype(bool), g[PROMPT_X],
                            groups=g["doc_id"] if "doc_id" in g else None,
                            group=_group_labels(g_all, by, key), covariates=covariates)
        fit.diagnostics["n_wordings"] = len(levels) if levels != [-1] else 0
        fit.diagnostics["n_no_room"] = int(len(g_all) - len(g))
        fits.append(fit)
    return fits


def pct_per_doubling(b: float) -> float:
    """An elasticity ``b`` as the percent change per doubling of x: ``100 (2^b - 1)``."""
    return 100.0 * (2.0 ** b - 1.0)


def elasticity(aft: FitResult) -> FitResult:
    """The AFT's ``b1`` as percent change of the median generated length per doubling of
    the prompt, with the interval mapped through the same monotone function.

    ``diagnostics['verdict']`` is ``grows`` or ``shrinks`` when the interval excludes 0,
    ``cannot tell`` when it includes 0 or the slope is not identified.
    """
    b1 = aft.params["b1"]
    est = pct_per_doubling(b1.estimate)
    se = math.log(2) * 2.0 ** b1.estimate * 100.0 * b1.se if np.isfinite(b1.se) else math.nan
    lo, hi = pct_per_doubling(b1.ci_low), pct_per_doubling(b1.ci_high)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        verdict = "cannot tell"
    elif lo > 0:
        verdict = "grows"
    elif hi < 0:
        verdict = "shrinks"
    else:
        verdict = "cannot tell"
    return FitResult(
        analysis="generated_length_elasticity", law="power",
        formula="100 (2^b1 - 1): % change of the median generated length per doubling of the prompt",
        estimator="lognormal_aft_mle", n=aft.n, n_unit=aft.n_unit,
        confidence_level=aft.confidence_level, group=dict(aft.group), k=aft.k,
        params={"pct_per_doubling": Param(est, se, f"delta method from b1 ({b1.se_type})",
                                          lo, hi, f"b1's interval mapped by 100 (2^b1 - 1) ({b1.ci_method})")},
        converged=aft.converged, diagnostics={**aft.diagnostics, "verdict": verdict},
        warnings=list(aft.warnings),
    )


def _ols_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    import statsmodels.api as sm

    res = sm.OLS(np.log(y), sm.add_constant(np.log(x))).fit(cov_type="HC3")
    return float(res.params[1]), float(res.bse[1])


def cap_artifact(gen: pd.DataFrame, by: Sequence[str] = CELL_KEYS,
                 confidence_level: float = 0.95) -> list[FitResult]:
    """What a total cap (``max_length``: prompt + generation) does to the lengths.

    For each group run under a total cap: the slope of log(returned length) on log
    prompt length, where the returned length is prompt + generated tokens (the text a
    text-generation pipeline returns, prompt included, as the seed printed), and of log
    generated tokens on log prompt length, both by OLS with HC3 errors and both ignoring
    censoring, as the seed did. ``diagnostics`` says how many rows hit the total cap and
    whether each of them has exactly ``max_length - prompt length`` new tokens.
    """
    fits = []
    z = stats.norm.ppf(0.5 + confidence_level / 2)
    for key, g_all in gen[gen["max_length"] > 0].groupby(list(by), sort=True):
        g = with_room(g_all)
        cap = int(g_all["max_length"].iloc[0])
        at_cap = g["stop_reason"] == "max_length"
        diagnostics = {
            "max_length": cap, "n_at_total_cap": int(at_cap.sum()),
            "n_eos": int((g["stop_reason"] == "eos").sum()),
            "n_at_max_new_tokens": int((g["stop_reason"] == "max_new_tokens").sum()),
            "n_no_room": int(len(g_all) - len(g)),
            "cap_identity_holds": bool((g.loc[at_cap, "gen_tokens"]
                                        == cap - g.loc[at_cap, "prompt_len_tokens"]).all()),
            "frac_at_total_cap": float(at_cap.mean()) if len(g) else float("nan"),
        }
        for response, y in (("returned_tokens", g[PROMPT_X] + g["gen_tokens"]),
                            ("generated_tokens", g["gen_tokens"])):
            ok = (y > 0).to_numpy()
            x = g[PROMPT_X].to_numpy(float)[ok]
            problems = []
            if np.unique(x).size < 2:
                problems.append("fewer than two prompt lengths with room under the cap")
                b = se = math.nan
            else:
                b, se = _ols_slope(x, y.to_numpy(float)[ok])
            if diagnostics["cap_identity_holds"] and diagnostics["frac_at_total_cap"] > 0.5:
                # most lengths are max_length - P (generated) or max_length (returned): an
                # identity of the cap, not a sample of the model: no interval
                param = Param(b, math.nan, "none", math.nan, math.nan,
                              f"none: set by the cap ({diagnostics['n_at_total_cap']} of {len(g)} rows "
                              "have exactly the lengths the cap leaves)")
            else:
                param = Param(b, se, "HC3", b - z * se, b + z * se, "Wald, HC3")
            fits.append(FitResult(
                analysis="cap_artifact", law="power", formula=f"{response} = a P^b",
                estimator="ols_log", n=int(ok.sum()), n_unit="generations",
                confidence_level=confidence_level,
                group={**_group_labels(g_all, by, key), "response": response},
                params={"b": param},
                diagnostics={**diagnostics, "pct_per_doubling": pct_per_doubling(b),
                             "n_zero_excluded": int((~ok).sum())},
                warnings=problems,
            ))
    return fits
