"""Synthetic data with a known truth for the fitting tests (estimators, nulls, report)."""

from __future__ import annotations

import numpy as np
import pandas as pd

A_TRUE, B_TRUE, SIGMA = 3.0, 0.15, 0.25


def power_data(n, *, a=A_TRUE, b=B_TRUE, sigma=SIGMA, seed=0, n_decades=3, L0=100.0):
    """L log-uniform over n_decades, S = a L^b times lognormal noise (median a L^b)."""
    rng = np.random.default_rng(seed)
    L = L0 * 10 ** rng.uniform(0, n_decades, n)
    S = a * L**b * rng.lognormal(0.0, sigma, n)
    return L, S


def count_data(n, *, a=A_TRUE, b=B_TRUE, seed=0):
    """Sentence counts consistent with S = a L^b: E[n_sent] = L^(1-b) / a, Poisson noise."""
    rng = np.random.default_rng(seed)
    L = np.round(100 * 10 ** rng.uniform(0, 3, n))
    counts = np.maximum(rng.poisson(L ** (1 - b) / a), 1).astype(float)
    return L, L / counts, counts


def corpus(n_docs=120, *, beta=0.0, seed=0, max_sent=300):
    """A document table and a sentence table as docs/contracts.md describes them.

    Each document draws a sentence count; its sentences draw lengths around a mean that
    grows as n_sent^beta (beta = 0: i.i.d. sentence lengths across the corpus).
    """
    rng = np.random.default_rng(seed)
    n_sent = np.round(np.exp(rng.uniform(np.log(2), np.log(max_sent), n_docs))).astype(int)
    mean = 8.0 * n_sent**beta * (rng.lognormal(0.0, 0.2, n_docs) if beta else 1.0)
    doc_ids = np.array([f"doc{i:04d}" for i in range(n_docs)])
    doc_of = np.repeat(np.arange(n_docs), n_sent)
    words = rng.poisson(np.repeat(mean, n_sent)) + 1
    tokens = np.round(1.3 * words).astype(int) + rng.poisson(1.0, words.size)
    sentences = pd.DataFrame({
        "corpus": "synth",
        "doc_id": doc_ids[doc_of],
        "sentence_index": np.concatenate([np.arange(k) for k in n_sent]).astype(np.int32),
        "n_words": words.astype(np.int64),
        "n_tokens": tokens.astype(np.int64),
        "n_chars": (6 * words).astype(np.int64),
    })
    g = sentences.groupby("doc_id", sort=False)
    docs = pd.DataFrame({
        "corpus": "synth",
        "doc_id": doc_ids,
        "n_sentences": g.size().to_numpy(),
        "L_words": g["n_words"].sum().to_numpy(),
        "L_tokens": g["n_tokens"].sum().to_numpy(),
        "S_words_mean": g["n_words"].mean().to_numpy(),
        "S_tokens_mean": g["n_tokens"].mean().to_numpy(),
        "status": "ok",
    })
    return docs, sentences



def b_of(rec):
    """The estimate of b of a FitResult."""
    return rec["b"].estimate
