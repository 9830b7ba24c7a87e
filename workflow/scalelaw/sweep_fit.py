"""Fits over the generation sweep: censored lengths, S against L, loss against size.

Plain functions over DataFrames (the tables written by the generate rules).

Generated length is a survival time. ``n_steps`` (decoding steps: generated tokens, plus
one for the EOS token when the model stopped itself) is observed exactly when the model
emitted EOS and is right-censored at ``max_new_tokens`` when it hit the cap: its natural
length is only known to be at least the cap. A plain mean of such lengths is biased
downward by the cap, so:

* :func:`km_medians`: Kaplan-Meier median of ``n_steps`` per (model, decoding,
  max_new_tokens, prompt length), with its 95% CI (statsmodels ``SurvfuncRight``,
  cloglog); NaN with ``median_reached=False`` when more than half hit the cap.
* :func:`lognormal_aft`: a lognormal accelerated-failure-time model,
  ``log T = b0 + b1 log P + sigma e``, ``e ~ N(0, 1)``, fitted by maximum likelihood
  (statsmodels ``GenericLikelihoodModel``) with censored observations contributing
  ``log S(t)``; standard errors clustered by source document (the same document gives
  the prompts of every prompt length). ``b1`` is the elasticity of the median generated
  length with respect to prompt length.
* :func:`loss_vs_size`: L(N) as a pure power law and as E + A N^-alpha through
  ``scalelaw.fit.fit_law`` (Huber loss on log L), on total and non-embedding parameter
  counts, with percentile bootstrap intervals over prompts, AICc, and a warning when the
  number of model sizes cannot identify the law.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

CELL_KEYS = ["model", "decoding", "max_new_tokens"]
KM_KEYS = CELL_KEYS + ["prompt_tokens"]


# ----------------------------------------------------------------------------- censoring


def km_medians(gen: pd.DataFrame, by: Sequence[str] = KM_KEYS) -> pd.DataFrame:
    """Kaplan-Meier median decoding steps per group, with the censoring counts.

    Also gives the naive mean and median of ``gen_tokens`` (biased by the cap; for
    contrast) and the mean prompt length in model tokens (the x of the figure).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    rows = []
    for key, g in gen.groupby(list(by), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        t = g["n_steps"].to_numpy(dtype=float)
        event = (~g["censored"].astype(bool)).to_numpy().astype(int)
        row = dict(zip(by, key))
        row.update(
            n=len(g), n_censored=int((event == 0).sum()),
            frac_censored=float((event == 0).mean()) if len(g) else float("nan"),
            cap=int(g["max_new_tokens"].max()),
            prompt_len_tokens_mean=float(g["prompt_len_tokens"].mean()),
            naive_mean_gen_tokens=float(g["gen_tokens"].mean()),
            naive_median_gen_tokens=float(g["gen_tokens"].median()),
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


def _aft_loglike_obs(params, logt, X, event):
    beta, log_sigma = params[:-1], params[-1]
    sigma = math.exp(log_sigma)
    z = (logt - X @ beta) / sigma
    # density of T at t for events (Jacobian -log t), survivor function for censored
    return np.where(event, stats.norm.logpdf(z) - log_sigma - logt, stats.norm.logsf(z))


def lognormal_aft(time: Any, event: Any, x: Any, groups: Any = None) -> dict[str, Any]:
    """Lognormal AFT of T on log x with right censoring; returns a flat record.

    ``time`` > 0; ``event`` 1 when observed, 0 when censored; ``groups`` for clustered
    standard errors (else robust HC0 sandwich). Keys: b0, b1, sigma with se, 95% CI
    (Wald), n, n_events, n_censored, loglik, converged, se_type and ``warning`` (empty
    when the fit is identified).
    """
    from statsmodels.base.model import GenericLikelihoodModel

    t = np.asarray(time, dtype=float)
    ev = np.asarray(event, dtype=bool)
    lx = np.log(np.asarray(x, dtype=float))
    n, n_ev = t.size, int(ev.sum())
    out: dict[str, Any] = {"n": n, "n_events": n_ev, "n_censored": n - n_ev,
                           "n_x": int(np.unique(lx).size), "warning": ""}
    nan = float("nan")
    for k in ("b0", "b1", "sigma"):
        out.update({k: nan, f"{k}_se": nan, f"{k}_ci_low": nan, f"{k}_ci_high": nan})
    out.update(loglik=nan, converged=False, se_type="")
    problems = []
    if n < 3:
        problems.append(f"only {n} generations")
    if n_ev == 0:
        problems.append("every generation hit the cap: no event, the length scale is not "
                        "identified (raise max_new_tokens)")
    if out["n_x"] < 2:
        problems.append("a single prompt length: the slope b1 is not identified")
    if problems:
        out["warning"] = "; ".join(problems)
        return out
    if n_ev and np.unique(t[ev]).size == 1 and n_ev == n:
        problems.append(f"every generation stopped after exactly {int(t[0])} steps: no "
                        "spread in length to model")
        out["warning"] = "; ".join(problems)
        return out
    if n_ev < 5:
        problems.append(f"only {n_ev} generations stopped by EOS: estimates are fragile")
    logt = np.log(t)
    X = np.column_stack([np.ones(n), lx])

    class LogNormalAFT(GenericLikelihoodModel):
        def loglikeobs(self, params):
            return _aft_loglike_obs(params, self.endog, self.exog, ev)

    ols = np.linalg.lstsq(X, logt, rcond=None)[0]
    resid_sd = float(np.std(logt - X @ ols)) or 0.5
    start = np.r_[ols, math.log(max(resid_sd, 1e-2))]
    model = LogNormalAFT(logt, X, extra_params_names=["log_sigma"])
    if groups is not None and pd.Series(groups).nunique() >= 5:
        codes = pd.factorize(pd.Series(groups))[0]
        cov = dict(cov_type="cluster", cov_kwds={"groups": codes})
        se_type = f"cluster-robust by document ({pd.Series(groups).nunique()} clusters)"
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
            out["warning"] = f"fit failed: {err}"
            return out
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    z = stats.norm.ppf(0.975)
    for i, k in enumerate(("b0", "b1")):
        out.update({k: float(params[i]), f"{k}_se": float(bse[i]),
                    f"{k}_ci_low": float(params[i] - z * bse[i]),
                    f"{k}_ci_high": float(params[i] + z * bse[i])})
    ls, ls_se = float(params[2]), float(bse[2])
    out.update(sigma=math.exp(ls), sigma_se=math.exp(ls) * ls_se,
               sigma_ci_low=math.exp(ls - z * ls_se), sigma_ci_high=math.exp(ls + z * ls_se),
               loglik=float(res.llf), converged=bool(res.mle_retvals.get("converged", False)),
               se_type=se_type)
    if not out["converged"]:
        problems.append("optimizer did not converge")
    if not np.all(np.isfinite(bse)):
        problems.append("standard errors not finite")
    out["warning"] = "; ".join(problems)
    return out


def aft_fits(gen: pd.DataFrame, by: Sequence[str] = CELL_KEYS) -> pd.DataFrame:
    """:func:`lognormal_aft` of ``n_steps`` on ``prompt_len_tokens`` per group."""
    rows = []
    for key, g in gen.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rec = lognormal_aft(g["n_steps"], ~g["censored"].astype(bool), g["prompt_len_tokens"],
                            groups=g["doc_id"] if "doc_id" in g else None)
        rows.append({**dict(zip(by, key)), "response": "log n_steps",
                     "x": "log prompt_len_tokens", "cap": int(g["max_new_tokens"].max()),
                     **rec})
    return pd.DataFrame(rows)


def censoring_summary(gen: pd.DataFrame, by: Sequence[str] = CELL_KEYS) -> pd.DataFrame:
    """How many generations hit the cap, per group and overall (model = "all")."""
    def one(g):
        return pd.Series({"n": len(g), "n_eos": int((~g["censored"]).sum()),
                          "n_capped": int(g["censored"].sum()),
                          "frac_capped": float(g["censored"].mean()) if len(g) else float("nan")})
    parts = [gen.groupby(list(by), sort=True).apply(one, include_groups=False).reset_index()]
    total = one(gen).to_dict()
    parts.append(pd.DataFrame([{**{k: "all" for k in by}, **total}]))
    out = pd.concat([p.astype({k: str for k in by}) for p in parts], ignore_index=True)
    return out.astype({"n": "int64", "n_eos": "int64", "n_capped": "int64"})


# ----------------------------------------------------------------------------- S vs L


def s_vs_l(lengths: pd.DataFrame, by: Sequence[str], unit: str = "words",
           min_docs: int = 5) -> pd.DataFrame:
    """S = a L^b per group by OLS on logs with HC3 errors (``scalelaw.fit.ols_log``).

    ``lengths`` is a doc_lengths table (scalelaw.lengths) with the ``by`` columns added;
    rows with status != "ok" are left out and counted.
    """
    from scalelaw import fit

    xcol, ycol = f"L_{unit}", f"S_{unit}_mean"
    rows = []
    for key, g in lengths.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        ok = g[(g["status"] == "ok") & (g[xcol] > 0) & (g[ycol] > 0)]
        row = {**dict(zip(by, key)), "unit": unit, "n": len(ok),
               "n_excluded": len(g) - len(ok), "b": np.nan, "b_se": np.nan,
               "b_ci_low": np.nan, "b_ci_high": np.nan, "a": np.nan,
               "S_mean": float(ok[ycol].mean()) if len(ok) else np.nan,
               "L_mean": float(ok[xcol].mean()) if len(ok) else np.nan,
               "se_type": "", "warning": ""}
        if len(ok) < min_docs or ok[xcol].nunique() < 2:
            row["warning"] = f"{len(ok)} usable texts (need {min_docs} with spread in L)"
        else:
            try:
                rec = fit.ols_log(ok[xcol].to_numpy(float), ok[ycol].to_numpy(float))
                z = stats.norm.ppf(0.975)
                row.update(b=rec.b, b_se=rec.se_b, b_ci_low=rec.b - z * rec.se_b,
                           b_ci_high=rec.b + z * rec.se_b, a=rec.a, se_type=rec.se_type)
            except Exception as err:
                row["warning"] = str(err)
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- loss vs N

SIZE_COLUMNS = ("n_params_total", "n_params_nonembedding")


def size_laws() -> dict[str, Any]:
    """The laws of loss against size (``scalelaw.fitting.over_models.size_law``): E + A N^-alpha
    keeps alpha > 0, so a loss that does not fall with N is not turned into a growing curve."""
    from scalelaw.fitting.over_models import size_law

    return {name: size_law(name) for name in ("power", "saturating_power")}


def loss_vs_size(
    losses: pd.DataFrame,
    facts: pd.DataFrame,
    *,
    laws: Sequence[str] = ("power", "saturating_power"),
    conventions: Sequence[str] = SIZE_COLUMNS,
    metric: str = "loss_nats_per_token",
    n_boot: int = 1000,
    seed: int = 0,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Loss against parameter count for every (law, convention): the FitResult long table
    (``scalelaw.fitting.over_models.law_over_models``: per-model means, bootstrap over
    models with prompts within, AICc with n = models, leave-largest-out error on the
    fit's log scale) with its group labels and the columns the sweep report reads
    (convention, delta_aicc, identified, holdout_rel_error, warning)."""
    from scalelaw.fitting import results_frame
    from scalelaw.fitting.laws import compare
    from scalelaw.fitting.over_models import law_over_models

    fits = []
    base_warn = []
    known = facts.drop_duplicates("model").set_index("model")
    if "vocab_size" in known and known["vocab_size"].nunique() > 1 and metric == "loss_nats_per_token":
        base_warn.append("models use different vocabularies: nats per token are not comparable across them "
                         "(consider loss_bits_per_byte)")
    for conv in conventions:
        per_conv = []
        for law in laws:
            f = law_over_models(losses, facts, law, size_column=conv, metric=metric, n_resamples=max(int(n_boot), 1),
                                confidence_level=confidence_level, seed=seed, group={"convention": conv})
            f.warnings = base_warn + f.warnings
            per_conv.append(f)
        compare([f for f in per_conv if np.isfinite(f.aicc)])
        fits.extend(per_conv)
    out = results_frame(fits)
    diag = [json.loads(d) for d in out["diagnostics"]]
    out["convention"] = [json.loads(g)["convention"] for g in out["group"]]
    out["n_models"] = out["n"]
    for key in ("delta_aicc", "identified", "holdout_rel_error", "holdout_log_error", "n_sizes", "n_prompts"):
        out[key] = [d.get(key, np.nan) for d in diag]
    out["warning"] = ["; ".join(json.loads(w)) for w in out["warnings"]]
    out["alpha_N"] = np.where(out["law"] == "power", -out["estimate"].where(out["parameter"] == "b")
                              .groupby([out["law"], out["convention"]]).transform("max"), np.nan)
    return out


def _leave_largest_out(sizes: pd.Series, wide: pd.DataFrame, law) -> dict[str, float]:
    """Fit per-model means without the largest model; its prediction against its mean loss
    on the fit's log scale (``scalelaw.fitting.over_models``)."""
    from scalelaw.fitting.over_models import _leave_largest_out as holdout

    models = list(wide.columns)
    return holdout(law, sizes[models].to_numpy(float), wide.mean(axis=0).to_numpy(float), models)


def model_means(losses: pd.DataFrame, facts: pd.DataFrame,
                metric: str = "loss_nats_per_token") -> pd.DataFrame:
    """Mean loss per model (over the prompts all models scored), with sizes: the points the
    law over models is fitted to (and the figure draws)."""
    from scalelaw.fitting.over_models import model_means_table

    wide, _ = model_means_table(losses, metric)
    out = wide.agg(["mean", "sem"]).T.reset_index().rename(
        columns={"mean": f"{metric}_mean", "sem": f"{metric}_sem"})
    out["n_prompts"] = len(wide)
    cols = ["model"] + [c for c in ("n_params_total", "n_params_nonembedding", "vocab_size")
                        if c in facts.columns]
    return out.merge(facts[cols].drop_duplicates("model"), on="model", how="left")


# ----------------------------------------------------------------------------- all fits


def fit_sweep(gen: pd.DataFrame, human: pd.DataFrame, losses: pd.DataFrame,
              facts: pd.DataFrame, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every fit of the sweep; returns tables and a JSON-able summary.

    ``gen``: generations with measured lengths (generate_collect); ``human``: doc_lengths
    of the human continuations; ``losses``: per-prompt losses; ``facts``: one row per
    model. Options: ``n_bootstrap`` (1000), ``seed`` (0), ``loss_metric``
    ("loss_nats_per_token"), ``unit`` for S vs L ("words"), ``min_texts`` (5).
    """
    options = dict(options or {})
    unit = options.get("unit", "words")
    metric = options.get("loss_metric", "loss_nats_per_token")
    out: dict[str, Any] = {
        "censoring": censoring_summary(gen),
        "km": km_medians(gen),
        "aft": aft_fits(gen),
    }
    glen = gen.rename(columns={"gen_sentences": "n_sentences", "gen_words": "L_words",
                               "gen_tokens_measure": "L_tokens", "gen_chars": "L_chars",
                               "measure_status": "status"})
    s_gen = s_vs_l(glen.assign(source="generated"), ["source", *CELL_KEYS], unit,
                   min_docs=int(options.get("min_texts", 5)))
    s_hum = s_vs_l(human.assign(source="human"), ["source"], unit,
                   min_docs=int(options.get("min_texts", 5)))
    out["s_vs_l"] = pd.concat([s_hum, s_gen], ignore_index=True)
    n_models = int(facts["model"].nunique()) if "model" in facts else int(facts["name"].nunique())
    if n_models >= 2:
        out["loss_size"] = loss_vs_size(losses, facts, metric=metric,
                                        n_boot=int(options.get("n_bootstrap", 1000)),
                                        seed=int(options.get("seed", 0)))
    else:
        out["loss_size"] = pd.DataFrame([{
            "law": None, "convention": None, "parameter": None, "n_models": n_models,
            "warning": f"{n_models} model in the config: loss against size needs two or more",
        }])
    out["model_means"] = model_means(losses, facts, metric) if len(losses) else pd.DataFrame()
    out["summary"] = _summary(out, gen, facts, metric)
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records")) if len(df) else []


def _summary(out, gen, facts, metric) -> dict[str, Any]:
    warnings_ = sorted({w for t in ("aft", "s_vs_l", "loss_size") if "warning" in out[t]
                        for w in out[t]["warning"].dropna() if w})
    return {
        "n_generations": int(len(gen)),
        "n_capped": int(gen["censored"].sum()),
        "frac_capped": float(gen["censored"].mean()) if len(gen) else None,
        "models": _records(facts),
        "censoring": _records(out["censoring"]),
        "aft": _records(out["aft"]),
        "s_vs_l": _records(out["s_vs_l"]),
        "loss_metric": metric,
        "loss_vs_size": _records(out["loss_size"]),
        "model_means": _records(out["model_means"]),
        "tokens_per_s": _records(
            gen.drop_duplicates(["model", "decoding", "max_new_tokens", "seed", "prompt_tokens", "batch_index"])
            .groupby("model").apply(lambda g: pd.Series({
                "tokens_per_s": float(g["tokens_per_s"].mul(g["seconds"]).sum() / g["seconds"].sum()),
                "device": g["device"].iloc[0], "dtype": g["dtype"].iloc[0],
                "threads": int(g["threads"].iloc[0])}), include_groups=False).reset_index()
        ) if len(gen) else [],
        "warnings": warnings_,
    }
