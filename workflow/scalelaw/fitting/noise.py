"""The sampling noise of a document's mean sentence length, exact at small sentence counts.

A document with n sentences of lengths mu * e_1, ..., mu * e_n (mu its level, the e_k
relative lengths of mean 1) has S = mu * m_n, m_n the mean of n relative lengths. The
document null (nulls.py) needs, for every sentence count n, draws of log m_n and its
mean and variance: the log of a mean of few sentences is biased low (about
-cv^2 / (2 n), plus terms in 1 / n^2 that matter at 3 to 10 sentences) and the bias
changes with n, so an approximation that is wrong at small n makes a trend of its own.

:class:`SentenceNoise` holds a pool of relative sentence lengths: from the corpus's own
sentences (each sentence over its document's mean, the deviations scaled to the
within-document cv^2, see :meth:`SentenceNoise.from_sentences`), or, when only per-document summaries are at hand,
lognormal with the pooled cv^2 of the documents. :class:`LogMeanSampler` then draws
log m_n by averaging n pool members (exactly the small-sample distribution of the mean,
skewness included) for n up to ``EXACT_MAX_N``; above it the lognormal approximation
with the same mean and variance is used, whose error there is below 1e-4 on the log
scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BANK_SIZE", "EXACT_MAX_N", "LogMeanSampler", "SentenceNoise"]

EXACT_MAX_N = 64
BANK_SIZE = 4096
_POOL_SIZE = 1 << 16
_SHAPE_MIN_SENTENCES = (20, 10, 5, 2)
_SHAPE_MIN_POOL = 500


@dataclass(frozen=True)
class SentenceNoise:
    """A pool of relative sentence lengths (mean 1) and where it came from."""

    relative: np.ndarray
    source: str

    @property
    def cv2(self) -> float:
        """Squared coefficient of variation of one sentence's length within a document."""
        return float(self.relative.var())

    @classmethod
    def none(cls) -> "SentenceNoise":
        """No within-document noise (every sentence of a document as long as its mean)."""
        return cls(np.ones(1), "none: no sentence lengths or spreads were given")

    @classmethod
    def from_sentences(cls, lengths, documents) -> "SentenceNoise":
        """The pool from sentence lengths and the document each belongs to.

        Its shape is that of the sentences over their document's mean; its variance is
        the ratio estimate of cv^2 (see :meth:`from_summaries`), because the spread of
        x / S within short documents understates cv^2 (S is estimated from the same few
        sentences, and for skewed lengths a long sentence raises S with it).
        """
        lengths = np.asarray(lengths, dtype=float)
        codes = np.unique(np.asarray(documents), return_inverse=True)[1].ravel()
        counts = np.bincount(codes)
        sums = np.bincount(codes, lengths)
        means = sums / counts
        n = counts[codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            deviation = lengths / means[codes] - 1.0
        usable = (n >= 2) & np.isfinite(deviation)
        if not usable.any():
            return cls.none()
        sd = np.sqrt(np.bincount(codes, np.where(usable, (lengths - means[codes]) ** 2, 0.0)) / np.maximum(counts - 1, 1))
        cv2 = _ratio_cv2(means, sd, counts.astype(float))
        # the shape from the longest documents that hold enough sentences: deviations from
        # the mean of a short document are bounded and less skewed than the sentences are
        for floor in _SHAPE_MIN_SENTENCES:
            if (usable & (n >= floor)).sum() >= _SHAPE_MIN_POOL:
                break
        chosen = usable & (n >= floor) if (usable & (n >= floor)).any() else usable
        # each sentence over the mean of the *other* sentences of its document: the two are
        # independent, so the ratio keeps the skew of the lengths (x / S - 1 loses it: a
        # long sentence raises S with it)
        with np.errstate(divide="ignore", invalid="ignore"):
            others = (sums[codes] - lengths) / (n - 1)
            shape = lengths[chosen] / others[chosen]
        shape = shape[np.isfinite(shape)]
        shape = shape / shape.mean() - 1.0
        if cv2 <= 0 or not np.any(shape):
            return cls(np.ones(1), f"{int(usable.sum())} sentences of the corpus (no spread)")
        relative = np.clip(1.0 + shape * np.sqrt(cv2 / np.mean(shape**2)), 1e-3, None)
        return cls(relative / relative.mean(), f"{int(usable.sum())} sentences of the corpus")

    @classmethod
    def from_summaries(cls, S, sd, n, seed: int | np.random.Generator = 0) -> "SentenceNoise":
        """A lognormal pool with the documents' pooled cv^2, from per-document mean S,
        sentence-length sd and sentence count n (documents with n >= 2 and a finite sd).

        cv^2 = sum (n-1) sd^2 / sum (n-1) (S^2 - sd^2 / n): numerator and denominator
        estimate cv^2 * sum (n-1) mu^2 and sum (n-1) mu^2 without bias (E S^2 = mu^2 (1 +
        cv^2 / n)), so the ratio is consistent for any mix of sentence counts; a mean of
        per-document (sd / S)^2 is not (it is biased at small n).
        """
        S, sd, n = (np.asarray(v, dtype=float) for v in (S, sd, n))
        ok = (n >= 2) & np.isfinite(sd) & np.isfinite(S)
        if not ok.any():
            return cls.none()
        cv2 = _ratio_cv2(S, sd, n)
        if cv2 <= 0:
            return cls(np.ones(1), f"{int(ok.sum())} documents' sentence-length sd (all 0)")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        s2 = np.log1p(cv2)
        pool = np.exp(np.sqrt(s2) * rng.standard_normal(_POOL_SIZE) - s2 / 2)
        return cls(pool / pool.mean(), f"lognormal with the pooled cv^2 {cv2:.3g} of {int(ok.sum())} documents")

    def sampler(self, counts, rng: np.random.Generator) -> "LogMeanSampler":
        return LogMeanSampler(self, counts, rng)


def _ratio_cv2(S: np.ndarray, sd: np.ndarray, n: np.ndarray) -> float:
    """sum (n-1) sd^2 / sum (n-1) (S^2 - sd^2 / n) over documents with n >= 2 and a finite sd."""
    ok = (n >= 2) & np.isfinite(sd) & np.isfinite(S)
    w = n[ok] - 1.0
    denominator = float(np.sum(w * (S[ok] ** 2 - sd[ok] ** 2 / n[ok])))
    return float(np.sum(w * sd[ok] ** 2)) / denominator if denominator > 0 else 0.0


class LogMeanSampler:
    """Draws of log m_n for a fixed set of documents (their sentence counts ``counts``).

    ``mean`` and ``var`` are per document: the mean and variance of log m_n at its n
    (from the bank of exact draws for n <= EXACT_MAX_N, lognormal moments above). The
    bank holds BANK_SIZE * EXACT_MAX_N / n draws for count n: every count costs the same
    number of pool draws, and the Monte Carlo error of its mean is the same small
    sqrt(cv^2 / (BANK_SIZE * EXACT_MAX_N)) (0.0012 for cv^2 = 0.35) at every n.
    """

    def __init__(self, noise: SentenceNoise, counts, rng: np.random.Generator):
        counts = np.maximum(np.rint(np.asarray(counts, dtype=float)), 1).astype(np.int64)
        pool = noise.relative
        small = counts <= EXACT_MAX_N
        distinct = np.unique(counts[small])
        sizes = BANK_SIZE * EXACT_MAX_N // np.maximum(distinct, 1)
        banks = [np.log(pool[rng.integers(0, pool.size, (size, k))].mean(axis=1)) for k, size in zip(distinct, sizes)]
        self.bank = np.concatenate(banks) if banks else np.empty(0)
        self.offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.size = sizes.astype(np.int64)
        self.row = np.where(small, np.searchsorted(distinct, counts), -1)
        rows = np.clip(self.row, 0, None)
        v = np.log1p(noise.cv2 / counts)
        bank_mean = np.array([b.mean() for b in banks]) if banks else np.zeros(1)
        bank_var = np.array([b.var() for b in banks]) if banks else np.zeros(1)
        self.mean = np.where(small, bank_mean[rows], -v / 2)
        self.var = np.where(small, bank_var[rows], v)
        self._large_v = v

    def draw(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw of log m_n for each document index in ``idx`` (any shape)."""
        row = self.row[idx]
        v = self._large_v[idx]
        out = -v / 2 + np.sqrt(v) * rng.standard_normal(idx.shape)
        small = row >= 0
        if small.any():
            r = row[small]
            pick = self.offset[r] + (rng.random(r.size) * self.size[r]).astype(np.int64)
            out[small] = self.bank[pick]
        return out
