"""Corpora with a known truth, at the document level, for the simulation tests."""

from __future__ import annotations

import numpy as np


def documents(n_docs: int, *, b: float = 0.0, doc_sd: float = 0.0, sent_sd: float = 0.55,
              n_range: tuple[int, int] = (5, 500), seed: int = 0, a: float = 6.0):
    """(L, S, n_sentences, S_sd) of simulated documents.

    b = 0: each document draws its sentence count (log-uniform over ``n_range``) and,
    independently, its mean sentence length (20 words times a lognormal of log-sd
    ``doc_sd``); its sentences are i.i.d. lognormal (log-sd ``sent_sd``) around that
    mean, and S, L and the sd are measured from them, as the pipeline measures them:
    nothing links S to document length.

    b != 0: the law holds for the measured quantities, S = a L^b e^u (u with log-sd
    ``doc_sd``, L log-uniform over 20 * n_range words), n = round(L / S), and the
    sentences are lognormal scaled to mean exactly S. (Were the law stated for the
    population mean instead, the sampling noise of S, shared with L = n S, would bias
    OLS on logs upward by about cv^2 E[1/n] / var(log L): +0.009 here.)
    """
    rng = np.random.default_rng(seed)
    if b == 0:
        n = np.round(np.exp(rng.uniform(*np.log(n_range), n_docs))).astype(int)
        mu = 20.0 * np.exp(doc_sd * rng.standard_normal(n_docs))
    else:
        L_law = np.exp(rng.uniform(np.log(20 * n_range[0]), np.log(20 * n_range[1]), n_docs))
        mu = a * L_law**b * np.exp(doc_sd * rng.standard_normal(n_docs))
        n = np.maximum(1, np.round(L_law / mu)).astype(int)
    doc = np.repeat(np.arange(n_docs), n)
    lengths = mu[doc] * np.exp(sent_sd * rng.standard_normal(doc.size) - sent_sd**2 / 2)
    if b != 0:
        lengths *= (mu / (np.bincount(doc, lengths) / n))[doc]
    L = np.bincount(doc, lengths)
    S = L / n
    sd = np.sqrt(np.maximum(np.bincount(doc, lengths**2) - n * S**2, 0) / np.maximum(n - 1, 1))
    return L, S, n.astype(float), sd
