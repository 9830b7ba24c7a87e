"""Corpora with a known truth, at the document level, for the simulation tests.

Every simulator returns a :class:`Corpus`: per document L, S, n_sentences and the sd of
its sentence lengths, measured from simulated sentences as the pipeline measures them,
and the sentences themselves (length and document), so that the null can draw its
noise from them as it does in the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Corpus:
    L: np.ndarray
    S: np.ndarray
    n: np.ndarray
    sd: np.ndarray
    lengths: np.ndarray
    doc: np.ndarray

    def __iter__(self):  # L, S, n, sd = corpus (the four the estimators take)
        return iter((self.L, self.S, self.n, self.sd))


def _measure(lengths: np.ndarray, doc: np.ndarray, n_docs: int) -> Corpus:
    n = np.bincount(doc, minlength=n_docs)
    L = np.bincount(doc, lengths, minlength=n_docs)
    S = L / n
    sd = np.sqrt(np.maximum(np.bincount(doc, lengths**2, minlength=n_docs) - n * S**2, 0) / np.maximum(n - 1, 1))
    sd = np.where(n > 1, sd, np.nan)
    return Corpus(L, S, n.astype(float), sd, lengths, doc)


def _sentences(rng, mu: np.ndarray, n: np.ndarray, sent_sd: float):
    doc = np.repeat(np.arange(mu.size), n)
    return mu[doc] * np.exp(sent_sd * rng.standard_normal(doc.size) - sent_sd**2 / 2), doc


def _counts(rng, n_docs, n_range, poisson):
    if poisson:
        # Poisson sentence counts with means spread over n_range; documents without a
        # sentence are not documents the pipeline fits (status no_sentences)
        return np.maximum(rng.poisson(rng.uniform(*n_range, n_docs)), 1)
    return np.round(np.exp(rng.uniform(*np.log(n_range), n_docs))).astype(int)


def documents(n_docs: int, *, b: float = 0.0, doc_sd: float = 0.0, sent_sd: float = 0.55,
              n_range: tuple[int, int] = (5, 500), poisson: bool = False, seed: int = 0,
              a: float = 6.0) -> Corpus:
    """b = 0: nothing links S to the sentence count. Each document draws its count
    (log-uniform over ``n_range``, or Poisson with a mean uniform over it) and,
    independently, its level (20 words times a lognormal of log-sd ``doc_sd``); its
    sentences are i.i.d. lognormal (log-sd ``sent_sd``) around that level.

    b != 0: the law holds for the geometric mean of the measured S given the measured L
    (what OLS on logs describes): L log-uniform over 20 * n_range words, S = a L^b e^u
    (u normal, sd ``doc_sd``), n = round(L / S), the sentences scaled to mean exactly S
    and L recomputed as n S; the law is then refitted on the L actually measured, so
    the exact truth is ``b`` only up to the rounding of n (which the sizes here make
    negligible).
    """
    rng = np.random.default_rng(seed)
    if b == 0:
        n = _counts(rng, n_docs, n_range, poisson)
        mu = 20.0 * np.exp(doc_sd * rng.standard_normal(n_docs))
        return _measure(*_sentences(rng, mu, n, sent_sd), n_docs)
    L_law = np.exp(rng.uniform(np.log(20 * n_range[0]), np.log(20 * n_range[1]), n_docs))
    mu = a * L_law**b * np.exp(doc_sd * rng.standard_normal(n_docs))
    n = np.maximum(1, np.round(L_law / mu)).astype(int)
    lengths, doc = _sentences(rng, mu, n, sent_sd)
    lengths *= (mu / (np.bincount(doc, lengths) / n))[doc]
    return _measure(lengths, doc, n_docs)


def independent_of_length(n_docs: int, *, seed: int = 0, means=(30.0, 18.0), sent_sd: float = 0.55,
                          L_range=(300, 10_000)) -> Corpus:
    """S independent of L: two eras with mean sentences of 30 and 18 words and the same
    distribution of L (log-uniform); n = L / S, so documents with more sentences are
    the ones with shorter sentences."""
    rng = np.random.default_rng(seed)
    L_target = np.exp(rng.uniform(*np.log(L_range), n_docs))
    mu = np.asarray(means)[rng.integers(0, len(means), n_docs)]
    n = np.maximum(1, np.round(L_target / mu)).astype(int)
    return _measure(*_sentences(rng, mu, n, sent_sd), n_docs)


def law_for(quantity: str, n_docs: int, *, b: float, seed: int = 0, a: float = 6.0, spread: float = 0.3,
            L_range=(200, 20_000)) -> Corpus:
    """The law S = a L^b holds exactly for one quantity, conditional on the measured L:

    * ``geometric_mean``: E[log S | L] = log a + b log L (S = a L^b e^u, u normal);
    * ``mean``: E[S | L] = a L^b (S = a L^b g, g gamma with mean 1, cv ``spread``);
    * ``count``: E[n | L] = L^(1-b) / a (n Poisson, at least 1; S = L / n).

    L is drawn first (log-uniform) and kept as measured; n = L / S need not be whole for
    the first two (only the estimators' inputs matter here; no sentences are drawn).
    """
    rng = np.random.default_rng(seed)
    L = np.exp(rng.uniform(*np.log(L_range), n_docs))
    if quantity == "geometric_mean":
        S = a * L**b * np.exp(spread * rng.standard_normal(n_docs))
    elif quantity == "mean":
        S = a * L**b * rng.gamma(1 / spread**2, spread**2, n_docs)
    elif quantity == "count":
        n = np.maximum(rng.poisson(L ** (1 - b) / a), 1)
        S = L / n
    else:
        raise ValueError(f"unknown quantity {quantity!r}")
    n = L / S
    return Corpus(L, S, n, np.full(n_docs, np.nan), np.empty(0), np.empty(0, dtype=int))
