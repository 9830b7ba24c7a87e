"""Laws whose points are models (loss against size), fitted honestly.

Prompts are not replicates of a law over models: each model's architecture and training
put its mean loss off the law by a few percent, and that deviation is shared by all of
its prompts. So (issue 9, item 6):

* the law is fitted to per-model means (the arithmetic mean loss over the prompts every
  model scored), on the log scale (``Law.fit``), so n = the number of models;
* AICc uses n = the number of models;
* the interval comes from a bootstrap over models with prompts resampled within them
  (one prompt resample per bootstrap resample, shared by the models, since prompts are
  crossed with models); a resample that cannot identify the law (fewer distinct sizes
  than parameters, an optimizer failure) is counted in ``n_failed_resamples``;
* with few models the bootstrap distribution is too narrow (n / (n - k) in variance for
  a k-parameter law, and a normal where a t belongs): the interval is widened to the t
  quantile with n - k degrees of freedom around the estimate, using the bootstrap's
  standard error ("bootstrap-t-scaled normal"); see ``ci_method``;
* the leave-largest-out error compares the law's prediction for the largest model with
  its mean loss on the fit's own (log) scale.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import bootstrap, rng_for
from .laws import Law, get_law
from .result import FitResult, Param

__all__ = ["law_over_models", "model_means_table", "size_law"]

PROMPT_KEYS = ["prompt_tokens", "seed", "prompt_id"]


def size_law(name: str) -> Law:
    """A law of loss against size: E + A N^-alpha keeps alpha > 0 (fitted through its log)
    so that a loss that does not fall with N is not turned into a growing curve."""
    law = get_law(name)
    return law.with_positive((True, True, True)) if name == "saturating_power" else law


def model_means_table(losses: pd.DataFrame, metric: str = "loss_nats_per_token") -> tuple[pd.DataFrame, int]:
    """Models x prompts (only prompts every model scored) and how many prompts were dropped."""
    keys = [k for k in PROMPT_KEYS if k in losses.columns]
    wide = losses.pivot_table(index=keys, columns="model", values=metric, aggfunc="mean")
    kept = wide.dropna()
    return kept, int(len(wide) - len(kept))


def _power_slope_batch(logx: np.ndarray, logy: np.ndarray) -> np.ndarray:
    """(a, b) of log y = log a + b log x per row; NaN where x has no spread."""
    mx = logx.mean(-1, keepdims=True)
    my = logy.mean(-1, keepdims=True)
    dx = logx - mx
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (dx * (logy - my)).sum(-1) / (dx * dx).sum(-1)
    b = np.where((dx * dx).sum(-1) > 1e-12, b, np.nan)
    return np.stack([np.exp(my[..., 0] - b * mx[..., 0]), b])


def law_over_models(
    losses: pd.DataFrame,
    facts: pd.DataFrame,
    law: str | Law,
    *,
    size_column: str = "n_params_nonembedding",
    metric: str = "loss_nats_per_token",
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
    group: Mapping[str, Any] | None = None,
    holdout: bool = True,
    table: tuple[pd.DataFrame, int] | None = None,
) -> FitResult:
    """Fit ``law`` to per-model mean losses against ``size_column``; a FitResult with
    n = the number of models (see the module docstring for the method). ``table`` is
    :func:`model_means_table` of ``losses`` when the caller has built it already (one
    build for every law and convention of a run)."""
    form = size_law(law) if isinstance(law, str) else law
    wide, n_dropped = table if table is not None else model_means_table(losses, metric)
    facts = facts.drop_duplicates("model").set_index("model")
    models = [m for m in wide.columns if m in facts.index]
    missing = [m for m in wide.columns if m not in facts.index]
    if missing:
        raise ValueError(f"models {missing} have losses but no row in the model facts")
    wide = wide[models]
    sizes = facts.loc[models, size_column].to_numpy(dtype=float)
    Y = wide.to_numpy(dtype=float)  # prompts x models
    means = Y.mean(axis=0)
    n_models, k = len(models), form.k
    warnings_: list[str] = []
    if n_dropped:
        warnings_.append(f"{n_dropped} prompts not scored by every model were left out")
    n_sizes = int(np.unique(sizes).size)
    if n_sizes <= k:
        warnings_.append(f"{n_sizes} model sizes for a {k}-parameter law: "
                         + ("parameters not identified" if n_sizes < k else "exactly determined; the form is not tested"))
    elif n_sizes - k < 3:
        warnings_.append(f"{n_sizes} model sizes for a {k}-parameter law: {n_sizes - k} degree(s) of freedom; "
                         "treat the fit as indicative")
    labels = {"size_column": size_column, "metric": metric, **dict(group or {})}
    info = dict(n_prompts=int(Y.shape[0]), n_sizes=n_sizes, models=models, sizes=sizes.tolist(),
                identified=bool(n_sizes >= k), form_tested=bool(n_sizes > k))
    if n_sizes < k or n_models <= k or Y.shape[0] == 0:
        return FitResult(
            analysis="loss_vs_size", law=form.name, estimator="least_squares_log", formula=form.formula,
            params={name: Param(math.nan) for name in form.params}, n=n_models, n_unit="models",
            confidence_level=confidence_level, group=labels, converged=False, diagnostics=info,
            warnings=warnings_ + [f"not fitted: {n_models} models for a {k}-parameter law"],
        )
    fit = form.fit(sizes, means, confidence_level=confidence_level, n_unit="models", group=labels,
                   analysis="loss_vs_size")
    fit.warnings = warnings_ + fit.warnings
    fit.diagnostics.update(info)

    prompt_rng = rng_for(seed, "prompts")
    start = list(fit.estimates.values())
    boot_law = form.with_starts(start)

    def statistic(idx: np.ndarray) -> np.ndarray:
        flat = idx.reshape(-1, idx.shape[-1])
        prompts = prompt_rng.integers(0, Y.shape[0], size=(flat.shape[0], Y.shape[0]))
        # per-model means over each resample's prompts: (rows, models)
        resampled_means = np.stack([Y[p].mean(axis=0) for p in prompts])
        y = np.take_along_axis(resampled_means, flat, axis=1)
        x = sizes[flat]
        if form.name == "power":
            out = _power_slope_batch(np.log(x), np.log(y))
        else:
            out = np.full((k, flat.shape[0]), np.nan)
            for r in range(flat.shape[0]):
                if np.unique(x[r]).size < k:
                    continue
                try:
                    res = boot_law.fit(x[r], y[r], confidence_level=confidence_level)
                except (ValueError, RuntimeError, np.linalg.LinAlgError):
                    continue
                if res.converged:
                    out[:, r] = list(res.estimates.values())
        return out.reshape((k,) + idx.shape[:-1])

    boot = bootstrap(statistic, n_models, unit="models", n_resamples=n_resamples,
                     confidence_level=confidence_level, method="percentile", seed=rng_for(seed, "models"))
    dof = max(n_models - k, 1)
    t = stats.t.ppf(0.5 + confidence_level / 2, dof)
    params = {}
    for j, (name, p) in enumerate(fit.params.items()):
        se = float(boot.se[j])
        low, high = float(boot.low[j]), float(boot.high[j])
        if np.isfinite(se):
            # never narrower than the t interval from the bootstrap's standard error
            low, high = min(low, p.estimate - t * se), max(high, p.estimate + t * se)
        params[name] = Param(p.estimate, se, f"bootstrap over models ({boot.n_failed} failed resamples)",
                             low, high,
                             f"{boot.method} with prompts resampled within models, widened to "
                             f"estimate ± t({dof}) x bootstrap SE where that is wider")
    fit.params = params
    fit.n_resamples, fit.n_failed_resamples = n_resamples, boot.n_failed
    if holdout and n_models - 1 > k:
        fit.diagnostics.update(_leave_largest_out(form, sizes, means, models))
    return fit


def _leave_largest_out(form: Law, sizes: np.ndarray, means: np.ndarray, models: Sequence[str]) -> dict[str, Any]:
    """Fit without the largest model; its predicted mean loss against the observed one,
    on the fit's log scale (and as a relative error)."""
    largest = int(np.argmax(sizes))
    keep = np.arange(sizes.size) != largest
    try:
        f = form.fit(sizes[keep], means[keep])
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as err:
        return {"holdout_model": models[largest], "holdout_error": str(err)}
    predicted = float(form.predict(sizes[largest:largest + 1], f)[0])
    log_error = math.log(predicted) - math.log(float(means[largest]))
    return {"holdout_model": models[largest], "holdout_predicted": predicted,
            "holdout_actual": float(means[largest]), "holdout_log_error": log_error,
            "holdout_rel_error": math.expm1(log_error)}

