"""The nulls b must beat."""

import numpy as np
import pytest

from scalelaw.fitting import get_estimator
from scalelaw.fitting.nulls import document_null, sentence_shuffle_null
from scalelaw.fitting.noise import EXACT_MAX_N, SentenceNoise
from support.corpora import b_of, corpus
from support.simulate import documents


def test_sentence_shuffle_null_matches_real_fit_when_sentences_are_iid():
    docs, sentences = corpus(200, beta=0.0, seed=1)
    real = b_of(get_estimator("ols_log").fit(docs["L_words"], docs["S_words_mean"]))
    null = sentence_shuffle_null(sentences[["doc_id", "n_words"]], "n_words", 200, seed=0)
    assert null.diagnostics["b_observed"] == pytest.approx(real, rel=1e-9)
    b_null = null["b_null"]
    assert abs(b_null.estimate) < 0.05 and abs(real) < 0.05
    assert b_null.ci_low <= real <= b_null.ci_high


def test_sentence_shuffle_null_is_seeded():
    _, sentences = corpus(50, seed=3)
    a = sentence_shuffle_null(sentences, "n_tokens", 30, seed=4)
    b = sentence_shuffle_null(sentences, "n_tokens", 30, seed=4)
    assert a.to_frame().equals(b.to_frame())


def test_document_null_separates_a_built_in_exponent():
    docs, _ = corpus(300, beta=0.3, seed=2)
    null = document_null("ols_log", docs["L_words"], docs["S_words_mean"], docs["n_sentences"], seed=0)
    assert null.n_unit == "documents" and null.n_resamples == 1000
    d = null["b_minus_null"]
    assert d.ci_low > 0 and "levels permuted against sentence counts" in d.ci_method
    assert "mean of 8 null draws" in d.ci_method


def test_document_null_keeps_between_document_variation():
    """Documents' mean sentence lengths vary (log-sd 0.3) independently of their counts:
    b > 0 through L = n S, and the document null must give that b too."""
    rng = np.random.default_rng(4)
    n = np.round(np.exp(rng.uniform(np.log(10), np.log(400), 400)))
    S = 20 * np.exp(0.3 * rng.standard_normal(400))
    L = n * S
    rec = get_estimator("ols_log").fit(L, S)
    assert rec["b"].estimate > 0.05
    null = document_null("ols_log", L, S, n, np.zeros_like(S), seed=1)
    assert null["b_minus_null"].ci_low < 0 < null["b_minus_null"].ci_high
    assert null["b_null"].estimate == pytest.approx(rec["b"].estimate, abs=0.03)


def test_sentence_pool_has_the_within_document_spread_even_from_short_documents():
    # lognormal sentences of log-sd 0.55: cv^2 = exp(0.55^2) - 1 = 0.353; deviations from
    # a document's own mean understate it by (n - 1) / n, which the pool undoes
    c = documents(3000, n_range=(2, 6), poisson=True, seed=0)
    pool = SentenceNoise.from_sentences(c.lengths, c.doc)
    assert pool.relative.mean() == pytest.approx(1.0)
    assert pool.cv2 == pytest.approx(np.expm1(0.55**2), rel=0.08)
    from_sd = SentenceNoise.from_summaries(c.S, c.sd, c.n, seed=0)
    assert from_sd.cv2 == pytest.approx(np.expm1(0.55**2), rel=0.08)


def test_log_mean_draws_are_exact_at_small_counts():
    """The mean and variance of the log of a mean of n sentences, from the bank, against
    a direct simulation of lognormal sentences (where -cv^2 / (2n) is off at n = 3)."""
    rng = np.random.default_rng(1)
    s = 0.55
    pool = SentenceNoise(np.exp(s * rng.standard_normal(1 << 18) - s**2 / 2), "lognormal")
    counts = np.array([1, 3, 10, EXACT_MAX_N + 1, 400])
    sampler = pool.sampler(counts, rng)
    for n, mean, var in zip(counts, sampler.mean, sampler.var):
        direct = np.log(np.exp(s * rng.standard_normal((20_000, n)) - s**2 / 2).mean(axis=1))
        assert mean == pytest.approx(direct.mean(), abs=0.004), n
        assert var == pytest.approx(direct.var(), rel=0.05), n
    draws = sampler.draw(np.repeat(np.arange(counts.size), 4000).reshape(counts.size, 4000), rng)
    assert np.allclose(draws.mean(axis=1), sampler.mean, atol=0.01)


def test_document_null_without_spreads_says_it_has_no_sampling_noise():
    c = documents(200, seed=2)
    null = document_null("ols_log", c.L, c.S, c.n, None, n_resamples=1000, n_permutations=20, seed=0)
    assert any("no sampling noise" in w for w in null.warnings)
    with_noise = document_null("ols_log", c.L, c.S, c.n, SentenceNoise.from_sentences(c.lengths, c.doc),
                               n_resamples=1000, n_permutations=20, seed=0)
    assert not with_noise.warnings and "sentences of the corpus" in with_noise.diagnostics["noise"]
