"""n-gram baselines (scalelaw.ladder.baselines): Kneser–Ney against a hand computation,
proper distributions, and the baselines of a run counted from its own training tokens."""

import math

import numpy as np
import pytest

from scalelaw.ladder import baselines, train
from scalelaw.ladder.baselines import KneserNey


def test_kn_bigram_matches_a_hand_computation():
    # one training row "0 1 0 2 0 1", vocabulary 3, discount 0.75
    seqs = np.array([[0, 1, 0, 2, 0, 1]])
    kn = KneserNey(seqs, vocab=3, order=2, discount=0.75)
    d = 0.75
    # bigrams: (0,1) x2, (1,0), (0,2), (2,0): c(0·) = 3 with 2 distinct followers
    # continuation counts N1+(· w): w=0 after {1, 2} -> 2; w=1 after {0} -> 1; w=2 after {0} -> 1; total 4,
    # 3 distinct words with a left neighbour, so the uniform share is d * 3 / 4
    p_cont = {w: max(n - d, 0) / 4 + d * 3 / 4 / 3 for w, n in {0: 2, 1: 1, 2: 1}.items()}
    hand = {
        (0, 1): (2 - d) / 3 + d * 2 / 3 * p_cont[1],
        (0, 0): 0 + d * 2 / 3 * p_cont[0],
        (1, 0): (1 - d) / 1 + d * 1 / 1 * p_cont[0],
        (1, 2): d * 1 / 1 * p_cont[2],
    }
    for (v, w), expected in hand.items():
        assert kn.prob(np.array([[v]]), np.array([w]))[0] == pytest.approx(expected, rel=1e-12)
    # a history never seen falls back to the lower order (here: 2 never precedes anything)
    unseen = KneserNey(np.array([[0, 1, 0, 1]]), vocab=3, order=2)
    low = unseen.levels[0]
    p_low = low.prob(np.zeros(1, np.int64), np.array([2]), np.array([1 / 3]))[0]
    assert unseen.prob(np.array([[2]]), np.array([2]))[0] == pytest.approx(p_low)


def test_kn_loss_is_the_mean_negative_log_probability():
    seqs = np.array([[0, 1, 0, 2, 0, 1]])
    kn = KneserNey(seqs, vocab=3, order=2)
    ev = np.array([[1, 0, 1, 2]])
    by_hand = -np.mean([math.log(kn.prob(np.array([[a]]), np.array([b]))[0]) for a, b in [(1, 0), (0, 1), (1, 2)]])
    assert kn.loss(ev) == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_every_conditional_distribution_sums_to_one(order):
    rng = np.random.default_rng(order)
    vocab = 11
    kn = KneserNey(rng.integers(0, vocab, (6, 20)) % 7, vocab, order)  # words 7..10 never seen
    words = np.arange(vocab)
    for history in [(0, 1), (3, 3), (9, 10), (6, 2)]:
        ctx = np.tile(np.array(history[2 - (order - 1):], np.int64) if order > 1 else np.empty(0, np.int64),
                      (vocab, 1))
        p = kn.prob(ctx, words)
        assert (p > 0).all()
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_higher_orders_help_on_text_with_structure():
    rng = np.random.default_rng(0)
    # a Markov chain whose next word is nearly fixed by the last two: trigram < bigram < unigram
    vocab, n = 16, 20_000
    stream = [0, 1]
    for _ in range(n):
        stream.append((stream[-1] * 3 + stream[-2] + (rng.random() < 0.1)) % vocab)
    seqs = np.array(stream[: (len(stream) // 50) * 50]).reshape(-1, 50)
    out = baselines.run_baselines(seqs[:-20], seqs[-20:], vocab)
    assert out["trigram_val_loss"] < out["bigram_val_loss"] < out["unigram_val_loss"] <= math.log(vocab) + 1e-9


def test_run_train_tokens_are_the_batches_the_run_consumes():
    cache: dict = {}
    expected = np.concatenate([train.batch_indices(s, 4, 10, 3, cache) for s in range(7)])
    assert np.array_equal(train.run_train_tokens(7, 4, 10, 3), expected)
    assert len(expected) == 28  # more than one epoch: repeats are counted, as the run saw them


def test_eval_rows_stride_through_the_whole_split():
    rows = train.eval_rows(100, 32, 10 * 32)
    assert len(rows) == 10 and rows[0] == 0 and rows[-1] == 99
    assert np.array_equal(train.eval_rows(100, 32, 0), np.arange(100))
    assert np.array_equal(train.eval_rows(5, 32, 10**6), np.arange(5))
