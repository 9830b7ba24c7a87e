"""n-gram baselines for a ladder run: unigram, Kneser–Ney bigram and trigram models
counted from the very tokens the run trained on and scored on the run's evaluation
tokens. A run that loses to its own bigram has not learnt more than word-pair counts,
so its loss says how far the optimiser got, not how N and D set the loss.

Interpolated Kneser–Ney (Chen & Goodman 1998, eq. 7–9) with one absolute discount per
order: the highest order uses raw counts, lower orders continuation counts (how many
distinct words precede), and the recursion ends in the uniform distribution over the
vocabulary, so every token of the vocabulary has positive probability and each
conditional distribution sums to 1. n-grams are counted inside each training sequence
only, as the model sees them (no context across a sequence boundary). Everything is
vectorised over integer n-gram keys (np.unique + searchsorted)."""

from __future__ import annotations

import numpy as np

DISCOUNT = 0.75  # Chen & Goodman's usual single discount; the issue-18 measurement used it too


def _keys(seqs: np.ndarray, order: int, vocab: int) -> np.ndarray:
    """Integer keys of every ``order``-gram inside each row (base-``vocab`` digits)."""
    seqs = np.asarray(seqs, np.int64)
    width = seqs.shape[1] - order + 1
    key = np.zeros((seqs.shape[0], width), np.int64)
    for k in range(order):
        key = key * vocab + seqs[:, k : k + width]
    return key.ravel()


def _lookup(table_keys: np.ndarray, table_values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[key] for each query key, 0 where the key is absent (table_keys sorted)."""
    if len(table_keys) == 0:
        return np.zeros(len(query), table_values.dtype if len(table_values) else np.float64)
    pos = np.searchsorted(table_keys, query).clip(max=len(table_keys) - 1)
    return np.where(table_keys[pos] == query, table_values[pos], 0)


class _Level:
    """One order of an interpolated KN model: counts c(h, w) (raw or continuation), per
    history their total c(h) and number of distinct followers N1+(h ·)."""

    def __init__(self, gram_keys: np.ndarray, vocab: int, discount: float):
        self.vocab, self.discount = vocab, discount
        self.keys, counts = np.unique(gram_keys, return_counts=True)
        self.counts = counts.astype(np.float64)
        hist = self.keys // vocab
        self.hist_keys, first = np.unique(hist, return_index=True)
        self.hist_total = np.add.reduceat(self.counts, first) if len(first) else np.empty(0)
        self.hist_types = np.diff(np.append(first, len(hist))).astype(np.float64)

    def prob(self, history: np.ndarray, word: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """P(word | history) interpolated with the lower-order probability ``lower``."""
        c_hw = _lookup(self.keys, self.counts, history * self.vocab + word)
        c_h = _lookup(self.hist_keys, self.hist_total, history)
        n_h = _lookup(self.hist_keys, self.hist_types, history)
        seen = c_h > 0
        safe = np.where(seen, c_h, 1.0)
        p = np.maximum(c_hw - self.discount, 0.0) / safe + self.discount * n_h / safe * lower
        return np.where(seen, p, lower)


def _continuation_keys(seqs: np.ndarray, order: int, vocab: int) -> np.ndarray:
    """The distinct (order)-grams, each counted once per distinct left word: the keys of
    the distinct (order+1)-grams with their first word dropped."""
    longer = np.unique(_keys(seqs, order + 1, vocab))
    return longer % (vocab**order)


class KneserNey:
    """Interpolated KN model of ``order`` 1 (absolute-discount unigram), 2 or 3."""

    def __init__(self, train_seqs: np.ndarray, vocab: int, order: int, discount: float = DISCOUNT):
        if order not in (1, 2, 3):
            raise ValueError(f"Kneser–Ney order {order}: only 1, 2 and 3")
        if np.asarray(train_seqs).shape[1] < order + 1:
            raise ValueError(f"training sequences of {np.asarray(train_seqs).shape[1]} tokens are too short for order {order}")
        self.vocab, self.order = vocab, order
        # level k (1-based) models P(w | k-1 previous words); the top level uses raw counts
        self.levels: list[_Level] = []
        for k in range(1, order + 1):
            keys = _keys(train_seqs, k, vocab) if k == order else _continuation_keys(train_seqs, k, vocab)
            self.levels.append(_Level(keys, vocab, discount))
        # for the first positions of a sequence (fewer than order-1 words of context) the
        # top level of the lower-order model is used, as a bigram model would be
        self._short = KneserNey(train_seqs, vocab, order - 1, discount) if order > 1 else None

    def prob(self, context: np.ndarray, word: np.ndarray) -> np.ndarray:
        """P(word | the last order-1 words of context); ``context`` has order-1 columns."""
        word = np.asarray(word, np.int64)
        p = np.full(len(word), 1.0 / self.vocab)
        for k, level in enumerate(self.levels):  # k words of history
            history = np.zeros(len(word), np.int64)
            for j in range(k):
                history = history * self.vocab + np.asarray(context[:, context.shape[1] - k + j], np.int64)
            p = level.prob(history, word, p)
        return p

    def loss(self, seqs: np.ndarray) -> float:
        """Mean next-token loss (nats/token) on ``seqs``, scoring the same positions as the
        model (tokens 1 … T-1 of each row, each from the tokens before it in the row)."""
        seqs = np.asarray(seqs, np.int64)
        n = self.order - 1  # words of context
        start = max(n, 1)
        windows = np.lib.stride_tricks.sliding_window_view(seqs, n + 1, axis=1)[:, start - n :]
        windows = windows.reshape(-1, n + 1)
        nll = -np.log(self.prob(windows[:, :n], windows[:, n])).sum()
        count = len(windows)
        for pos in range(1, start):  # the first positions have less context than the order
            nll -= np.log(self._short.prob(seqs[:, :pos], seqs[:, pos])).sum()
            count += len(seqs)
        return float(nll / count)


def run_baselines(train_seqs: np.ndarray, eval_seqs: np.ndarray, vocab: int) -> dict[str, float]:
    """unigram, KN bigram and KN trigram validation loss (nats/token) from ``train_seqs``."""
    return {
        f"{name}_val_loss": KneserNey(train_seqs, vocab, order).loss(eval_seqs)
        for order, name in ((1, "unigram"), (2, "bigram"), (3, "trigram"))
    }
