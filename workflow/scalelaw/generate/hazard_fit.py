"""Fits of the end-of-text hazard table (``eos_hazard.parquet``, :mod:`scalelaw.generate.hazard`).

* :func:`hazard_elasticity`: per model, the elasticity of the implied remaining length
  (and, beside it, of the restricted mean within the window) with respect to prompt length, b in ``log E = a + b log p`` by OLS, with standard errors
  clustered by document (every document gives a row at every prompt length: the rows of a
  document are not independent) and a t quantile with G - 1 degrees of freedom for G
  documents (the normal quantile undercovers with few clusters). Reported as
  ``100 (2^b - 1)`` % per doubling of the prompt.
* :func:`elasticity_against_size`: the elasticities of one model family (the ladder's
  models: same data, tokenizer and recipe) against log10 of their parameter count, by OLS
  with a t interval on n - 2 degrees of freedom. With few sizes the slope is indicative
  only, and with fewer than 3 it is not identified (said, never given an interval).
* :func:`hazard_summary`: per model and prompt length, the median implied and true
  remaining lengths, the mean expected and true remaining lengths within the horizon, and
  the probability of a stop within it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scalelaw.fitting.censored import pct_per_doubling
from scalelaw.fitting.result import FitResult, Param

HAZARD_FORMULA = "log remaining = a + b log p; 100 (2^b - 1) % per doubling of the prompt"
SIZE_FORMULA = "b(N) = c + d log10 N over one model family"


def _nan_fit(analysis: str, formula: str, params: list[str], n: int, n_unit: str,
             group: dict[str, Any], problems: list[str], diagnostics: dict[str, Any]) -> FitResult:
    return FitResult(analysis=analysis, law="power", formula=formula, estimator="ols_log",
                     params={k: Param(math.nan) for k in params}, n=n, n_unit=n_unit, group=group,
                     converged=False, diagnostics=diagnostics, warnings=problems)


#: The response of the elasticity: the implied remaining length (the window's hazard
#: extended beyond it) is the answer; the restricted mean within the window is reported
#: beside it (it sits near the window when the window holds little stopping probability).
RESPONSES = ("implied_remaining_tokens", "expected_remaining_tokens")


def hazard_elasticity(rows: pd.DataFrame, *, group: dict[str, Any], response: str = RESPONSES[0],
                      confidence_level: float = 0.95) -> FitResult:
    """b of log remaining length (``response``) on log prompt length for one model (see
    module doc)."""
    import statsmodels.api as sm

    group = {**group, "response": response}
    y = rows[response].to_numpy(float)
    x = rows["prompt_tokens"].to_numpy(float)
    ok = np.isfinite(y) & (y > 0) & (x > 0)
    docs = rows["doc_id"].astype(str).to_numpy()[ok]
    n_docs, n_lengths = int(pd.unique(docs).size), int(np.unique(x[ok]).size)
    diag = {"n_documents": n_docs, "n_prompt_lengths": n_lengths, "n_excluded": int((~ok).sum()),
            "mean_p_stop_within": float(rows["p_stop_within"].mean()) if "p_stop_within" in rows else float("nan"),
            "horizon_tokens": int(rows["horizon_tokens"].max()) if len(rows) else 0,
            "n_censored_at_document_end": int((rows["censored_at"] == "document_end").sum())}
    problems = []
    if n_lengths < 2:
        problems.append(f"{n_lengths} prompt length(s): the elasticity is not identified")
    if n_docs < 2:
        problems.append(f"{n_docs} document(s): no clustered interval")
    if problems:
        return _nan_fit("eos_hazard_elasticity", HAZARD_FORMULA, ["b", "pct_per_doubling"],
                        int(ok.sum()), "prompts", group, problems, diag)
    res = sm.OLS(np.log(y[ok]), sm.add_constant(np.log(x[ok]))).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(docs)[0]})
    b, se = float(res.params[1]), float(res.bse[1])
    t = stats.t.ppf(0.5 + confidence_level / 2, n_docs - 1)
    se_type = f"cluster-robust by document ({n_docs} clusters)"
    ci = f"t({n_docs - 1}) x {se_type}"
    lo, hi = b - t * se, b + t * se
    if n_docs < 10:
        problems.append(f"only {n_docs} documents: the clustered interval is rough")
    if response == "expected_remaining_tokens" and diag["mean_p_stop_within"] < 0.05:
        problems.append(f"the window holds {diag['mean_p_stop_within']:.1%} of the stopping probability: "
                        "the restricted mean sits near the window, whatever the prompt")
    verdict = "grows" if lo > 0 else "shrinks" if hi < 0 else "cannot tell"
    return FitResult(
        analysis="eos_hazard_elasticity", law="power", formula=HAZARD_FORMULA, estimator="ols_log",
        params={"b": Param(b, se, se_type, lo, hi, ci),
                "pct_per_doubling": Param(pct_per_doubling(b), math.log(2) * 2 ** b * 100 * se,
                                          f"delta method from b ({se_type})", pct_per_doubling(lo),
                                          pct_per_doubling(hi), f"b's interval mapped by 100 (2^b - 1) ({ci})")},
        n=int(ok.sum()), n_unit="prompts", confidence_level=confidence_level, group=group,
        loglik=float(res.llf), diagnostics={**diag, "verdict": verdict}, warnings=problems)


def hazard_fits(hazard: pd.DataFrame, confidence_level: float = 0.95) -> list[FitResult]:
    """:func:`hazard_elasticity` per model, then :func:`elasticity_against_size` over the
    ladder's models."""
    fits = []
    for model, rows in hazard.groupby("model", sort=True):
        for response in RESPONSES:
            fits.append(hazard_elasticity(rows, group={
                "model": model, "model_kind": str(rows["model_kind"].iloc[0]),
                "n_params": int(rows["n_params"].iloc[0]),
                "document_set": str(rows["document_set"].iloc[0])}, response=response,
                confidence_level=confidence_level))
    fits.append(elasticity_against_size(fits, family="ladder", confidence_level=confidence_level))
    return fits


def elasticity_against_size(fits: list[FitResult], *, family: str = "ladder",
                            confidence_level: float = 0.95) -> FitResult:
    """The per-model elasticities b of one model family against log10 N (module doc)."""
    own = [f for f in fits if f.analysis == "eos_hazard_elasticity" and f.group.get("response") == RESPONSES[0]
           and f.group.get("model_kind") == family and np.isfinite(f.params["b"].estimate)]
    n_sizes = len({f.group["n_params"] for f in own})
    diag = {"models": [f.group["model"] for f in own], "n_params": [f.group["n_params"] for f in own],
            "b": [f.params["b"].estimate for f in own], "n_sizes": n_sizes}
    group = {"family": family, "response": RESPONSES[0]}
    if n_sizes < 3:
        return _nan_fit("eos_hazard_vs_size", SIZE_FORMULA, ["c", "d"], len(own), "models", group,
                        [f"{n_sizes} {family} model size(s): the slope against size is not identified "
                         "(it needs 3 or more)"], diag)
    x = np.log10(np.asarray(diag["n_params"], dtype=float))
    y = np.asarray(diag["b"], dtype=float)
    res = stats.linregress(x, y)
    dof = len(own) - 2
    t = stats.t.ppf(0.5 + confidence_level / 2, dof)
    params = {"c": Param(res.intercept, res.intercept_stderr, "OLS", res.intercept - t * res.intercept_stderr,
                         res.intercept + t * res.intercept_stderr, f"t({dof})"),
              "d": Param(res.slope, res.stderr, "OLS", res.slope - t * res.stderr,
                         res.slope + t * res.stderr, f"t({dof})")}
    problems = [f"{len(own)} models, {dof} degree(s) of freedom: indicative only; the per-model "
                "intervals are not carried into this fit"] if dof < 5 else []
    return FitResult(analysis="eos_hazard_vs_size", law="linear", formula=SIZE_FORMULA, estimator="ols",
                     params=params, n=len(own), n_unit="models", confidence_level=confidence_level,
                     group=group, diagnostics=diag, warnings=problems)


def hazard_summary(hazard: pd.DataFrame) -> pd.DataFrame:
    """Per model and prompt length: documents, mean expected and true remaining length
    within the horizon, their ratio, and the mean probability of a stop within it."""
    g = hazard.groupby(["model", "n_params", "prompt_tokens"], sort=True)
    out = g.agg(n_documents=("doc_id", "nunique"),
                implied_remaining_median=("implied_remaining_tokens", "median"),
                true_remaining_median=("true_remaining_tokens", "median"),
                expected_remaining_mean=("expected_remaining_tokens", "mean"),
                true_remaining_within_horizon_mean=("true_remaining_within_horizon", "mean"),
                p_stop_within_mean=("p_stop_within", "mean"),
                eos_prob_mean=("eos_prob_mean", "mean"),
                n_document_end=("censored_at", lambda s: int((s == "document_end").sum())),
                horizon_tokens=("horizon_tokens", "max")).reset_index()
    out["expected_over_true"] = out["expected_remaining_mean"] / out["true_remaining_within_horizon_mean"]
    out["implied_over_true_median"] = out["implied_remaining_median"] / out["true_remaining_median"]
    return out
