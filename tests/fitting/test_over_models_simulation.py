"""Loss against model size with model-level deviations: the interval must cover alpha
(prompts are not replicates of a law over models)."""

import numpy as np
import pandas as pd

from scalelaw.fitting.over_models import law_over_models


def loss_table(seed, *, alpha=0.3, E=0.0, deviation=0.02, n_prompts=30, prompt_sd=0.2):
    """Six models whose mean losses deviate 2 % (log-sd) from L = A N^-alpha (+ E), and
    prompts of log-sd 0.2 within each model, shared across models."""
    rng = np.random.default_rng(seed)
    N = np.array([1e6, 3e6, 1e7, 3e7, 1e8, 3e8])
    model_dev = deviation * rng.standard_normal(N.size)
    prompt_dev = prompt_sd * rng.standard_normal(n_prompts)
    rows = [dict(model=f"m{i}", prompt_tokens=32, seed=0, prompt_id=f"p{p}",
                 loss_nats_per_token=(E + 40 * n ** -alpha) * np.exp(model_dev[i] + prompt_dev[p]
                                                                    + 0.05 * rng.standard_normal()))
            for i, n in enumerate(N) for p in range(n_prompts)]
    facts = pd.DataFrame({"model": [f"m{i}" for i in range(N.size)], "n_params_nonembedding": N})
    return pd.DataFrame(rows), facts


def test_loss_vs_size_interval_covers_alpha_with_model_level_deviations():
    covered = 0
    for seed in range(40):
        losses, facts = loss_table(seed)
        fit = law_over_models(losses, facts, "power", size_column="n_params_nonembedding",
                              n_resamples=1000, seed=seed)
        b = fit["b"]
        covered += b.ci_low <= -0.3 <= b.ci_high
        assert fit.n == 6 and fit.n_unit == "models"
    assert covered >= 34, covered  # 85 % of 40
