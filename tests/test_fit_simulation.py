"""Simulation tests with a known truth, at realistic sizes (hundreds to thousands of
documents): the conclusion must not find an effect where there is none, must find a real
one, and the intervals must cover the truth; loss against size with model-level
deviations must cover alpha.

Each scenario runs 20 (or 40) seeds through the same functions the pipeline uses.
"""

import numpy as np
import pandas as pd
import pytest

from scalelaw.fitting.over_models import law_over_models
from scalelaw.fitting.sentence_length import fit_with_null
from support.simulate import documents

SEEDS = range(20)


def conclusions(n_docs, **truth):
    out = []
    for seed in SEEDS:
        L, S, n, sd = documents(n_docs, seed=seed, **truth)
        rec, null = fit_with_null("ols_log", L, S, n, sd, seed=seed, null_reps=50)
        out.append((null.diagnostics["conclusion"], rec["b"]))
    return out


@pytest.mark.parametrize("doc_sd", [0.0, 0.2], ids=["iid_sentences", "between_document_variation"])
def test_no_effect_is_never_called_longer_sentences(doc_sd):
    # i.i.d. sentences; or documents whose mean sentence length varies (log-sd 0.2)
    # independently of their sentence count, which alone makes b > 0 through L = n S.
    found = [c for c, _ in conclusions(2000, doc_sd=doc_sd)]
    assert sum(c == "longer_sentences" for c in found) <= 1, found
    assert sum(c in ("longer_sentences", "shorter_sentences") for c in found) <= 2, found


def test_true_exponent_is_detected_and_covered():
    found = conclusions(500, b=0.1, doc_sd=0.1)
    assert sum(c == "longer_sentences" for c, _ in found) >= 18, [c for c, _ in found]
    covered = sum(b.ci_low <= 0.1 <= b.ci_high for _, b in found)
    assert covered >= 18, [(round(b.ci_low, 3), round(b.ci_high, 3)) for _, b in found]


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


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["gamma_glm", "count_glm", "huber"])
def test_every_estimator_has_a_null_that_fits_it(estimator):
    """The same document null serves every estimator: no effect is not called an effect
    (i.i.d. sentences, and between-document variation), a real b = 0.1 is found."""
    wrong = []
    for doc_sd in (0.0, 0.2):
        for seed in range(6):
            L, S, n, sd = documents(500, doc_sd=doc_sd, seed=seed)
            _, null = fit_with_null(estimator, L, S, n, sd, seed=seed, null_reps=10, n_resamples=250)
            wrong.append(null.diagnostics["conclusion"] in ("longer_sentences", "shorter_sentences"))
    assert sum(wrong) <= 1, wrong
    found = []
    for seed in range(6):
        L, S, n, sd = documents(500, b=0.1, doc_sd=0.1, seed=seed)
        found.append(fit_with_null(estimator, L, S, n, sd, seed=seed, null_reps=10,
                                   n_resamples=250)[1].diagnostics["conclusion"])
    assert found.count("longer_sentences") >= 5, found
