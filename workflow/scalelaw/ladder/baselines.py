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
vectorised over integer n-gram keys (np.unique + searchsorted), counted block by block."""

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

    def __init__(self, keys: np.ndarray, counts: np.ndarray, vocab: int, discount: float):
        self.vocab, self.discount = vocab, discount
        self.keys, self.counts = keys, counts.astype(np.float64)
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


def _merge(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inverse, weights=counts, minlength=len(uniq))


def count_ngrams(chunks, order: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``order``-gram keys and their counts over an iterable of row blocks
    (so a long run's tokens are never held, or keyed, all at once)."""
    keys, counts = [np.empty(0, np.int64)], [np.empty(0)]
    for block in chunks:
        k, c = np.unique(_keys(block, order, vocab), return_counts=True)
        keys.append(k)
        counts.append(c.astype(np.float64))
        if len(keys) > 8:  # keep the partial tables few
            merged = _merge(np.concatenate(keys), np.concatenate(counts))
            keys, counts = [merged[0]], [merged[1]]
    return _merge(np.concatenate(keys), np.concatenate(counts))


def _continuation(longer_keys: np.ndarray, order: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuation counts of the ``order``-grams: how many distinct words precede each,
    from the distinct (order+1)-grams with their first word dropped."""
    return np.unique(longer_keys % (vocab**order), return_counts=True)


class KneserNey:
    """Interpolated KN model of ``order`` 1 (absolute-discount unigram), 2 or 3."""

    def __init__(self, train_seqs, vocab: int, order: int, discount: float = DISCOUNT, *, chunk_rows: int = 4096,
                 _counted: dict | None = None):
        """``train_seqs``: a 2-D array of token rows, or a function returning a fresh
        iterator of row blocks (for tokens that should not be gathered in memory)."""
        if order not in (1, 2, 3):
            raise ValueError(f"Kneser–Ney order {order}: only 1, 2 and 3")
        if callable(train_seqs):
            blocks = train_seqs
        else:
            rows = np.asarray(train_seqs)
            blocks = lambda: (rows[i : i + chunk_rows] for i in range(0, len(rows), chunk_rows))  # noqa: E731
        first = next(iter(blocks()), None)
        if first is None or first.shape[1] < order + 1:
            raise ValueError(f"training rows of {None if first is None else first.shape[1]} tokens are too short "
                             f"for an order-{order} model")
        self.vocab, self.order = vocab, order
        # level k (1-based) models P(w | k-1 previous words); the top level uses raw
        # counts, the lower ones continuation counts from the distinct (k+1)-grams
        counted = _counted or {k: count_ngrams(blocks(), k, vocab) for k in range(1, order + 1)}
        self.levels: list[_Level] = []
        for k in range(1, order + 1):
            keys, counts = counted[k] if k == order else _continuation(counted[k + 1][0], k, vocab)
            self.levels.append(_Level(keys, counts, vocab, discount))
        # the first positions of a row (fewer than order-1 words of context) are scored by
        # the model of the order below, as a bigram model would score them
        self._short = KneserNey(blocks, vocab, order - 1, discount, _counted=counted) if order > 1 else None

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


def run_baselines(train_seqs, eval_seqs: np.ndarray, vocab: int) -> dict[str, float]:
    """unigram, KN bigram and KN trigram validation loss (nats/token) from ``train_seqs``
    (rows, or a function returning an iterator of row blocks)."""
    trigram = KneserNey(train_seqs, vocab, 3)
    bigram = trigram._short  # the same counts, the order-2 model
    return {"unigram_val_loss": bigram._short.loss(eval_seqs), "bigram_val_loss": bigram.loss(eval_seqs),
            "trigram_val_loss": trigram.loss(eval_seqs)}
