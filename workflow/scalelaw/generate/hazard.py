"""The end-of-text hazard along a document's true text: the seed's question without sampling.

For a document of ``n`` tokens (in the model's own tokenizer) and a prompt of its first
``p`` tokens, the model's end-of-text probability after the prompt and the first
``k - 1`` tokens of the document's true continuation is the hazard

    h_k = P(stop | prompt, true tokens 1 .. k-1),   k = 1, 2, ...

where "stop" is any of the model's stop tokens (:func:`~scalelaw.generate.decoding.stop_token_ids`).
Its survival along the true text is ``S(k) = prod_{j <= k} (1 - h_j)``: the probability,
under the model read along this text, that at least ``k`` tokens follow the prompt. The
expected remaining length (in tokens, the stop token excluded) is

    E[min(G, K)] = sum_{k=1..K} S(k),   K = min(horizon, n - p),

a restricted mean: it stops at the document's real end (``n - p`` tokens after the
prompt: censored there) or at ``horizon`` tokens, whichever comes first. The true
remaining length is ``n - p`` (``true_remaining_tokens``), and within the horizon
``min(n - p, horizon)``. With a constant hazard h the sum is
``(1 - h) (1 - (1 - h)^K) / h`` (the check in the tests).

A trained model's hazard on running text is small (about 1e-4 per token for SmolLM2 on
speeches), so the window holds little of the stopping probability and the restricted
mean sits near the window whatever the prompt. The implied remaining length adds the
tail beyond the window as if the window's mean hazard hbar held there:

    implied = sum_{k=1..K} S(k) + S(K) (1 - hbar) / hbar,

exact for a constant hazard ((1 - h) / h) and otherwise an extrapolation that says how
the model's hazard near the prompt's end scales, in tokens. It is compared with the true
remaining length ``n - p`` of the same document.

A causal model's output at position t depends only on tokens up to t, so one teacher-
forced pass over a document's first ``max(p) + horizon`` tokens gives the hazards of every
prompt length at once: one forward pass per document and model. A prompt starts at the
document's start; when the model separates documents with its end-of-text token (its BOS
is one of its stop tokens, as for GPT-2 and the ladder's models) that token is put before
the document, as in training. Prompt lengths whose prompt and horizon do not fit the
model's context, or that leave no token after the prompt, are skipped and counted.

Not a sample of the model's own generations: the model is read along human text, so this
measures how the model's belief that the text is about to end changes with how much text
it has seen, free of sampling noise and of any cap.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np
import pandas as pd

from scalelaw.generate.decoding import left_padded, stop_token_ids
from scalelaw.generate.errors import SweepError

HAZARD_COLUMNS = [
    "model", "model_kind", "n_params", "n_params_nonembedding", "document_set", "doc_id", "prompt_tokens",
    "document_tokens", "true_remaining_tokens", "horizon_tokens", "scored_tokens",
    "censored_at", "true_remaining_within_horizon", "expected_remaining_tokens",
    "implied_remaining_tokens", "p_stop_within", "eos_prob_first", "eos_prob_mean", "document_start_token",
]


def expected_remaining(hazards: np.ndarray) -> tuple[float, float, float]:
    """From the hazards ``h_1 .. h_K``: the restricted mean ``sum_k S(k)``, the probability
    of a stop within the window (``1 - S(K)``), and the implied remaining length, the
    restricted mean plus the tail ``S(K) (1 - hbar) / hbar`` that the window's mean hazard
    hbar gives if it held beyond the window (a geometric tail). Computed on logs: long
    windows of small hazards lose nothing to rounding."""
    h = np.clip(np.asarray(hazards, dtype=np.float64), 0.0, 1.0)
    if h.size == 0:
        return 0.0, 0.0, float("nan")
    with np.errstate(divide="ignore"):
        log_survival = np.cumsum(np.log1p(-h))
    survival = np.exp(log_survival)
    restricted, tail_mass, hbar = float(survival.sum()), float(survival[-1]), float(h.mean())
    implied = restricted + tail_mass * (1.0 - hbar) / hbar if hbar > 0 else float("inf")
    return restricted, float(1.0 - tail_mass), implied


def constant_hazard_expectation(h: float, window: int) -> float:
    """``sum_{k=1..K} (1 - h)^k``: the restricted mean under a constant hazard."""
    if h <= 0:
        return float(window)
    return (1 - h) * (1 - (1 - h) ** window) / h


def hazard_documents(documents: pd.DataFrame, *, n_documents: int, seed: int,
                     split: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """The documents the hazard reads: a seeded sample of ``n_documents`` of the ladder's
    validation documents when ``split`` (doc_id, split) is given, so that no ladder model
    has trained on them; else of the whole corpus. Returns them and the set's name."""
    docs = documents[["doc_id", "text"]].copy()
    docs["doc_id"] = docs["doc_id"].astype(str)
    label = "corpus_sample"
    if split is not None:
        val = set(split.loc[split["split"] == "val", "doc_id"].astype(str))
        docs = docs[docs["doc_id"].isin(val)]
        label = "ladder_validation"
        if docs.empty:
            raise SweepError("the ladder's split has no validation document in the generate corpus "
                             "(ladder.corpus and generate.corpus differ?)")
    docs = docs.sort_values("doc_id", kind="stable").reset_index(drop=True)
    order = np.random.default_rng(int(seed)).permutation(len(docs))[: int(n_documents)]
    return docs.iloc[np.sort(order)].reset_index(drop=True), label


def _document_start(model, tokenizer, stops: Sequence[int]) -> int | None:
    bos = tokenizer.bos_token_id
    return int(bos) if bos is not None and int(bos) in set(stops) else None


def stop_probabilities(model, sequences: list[list[int]], stops: Sequence[int], *,
                       pad: int, batch_size: int = 4) -> list[np.ndarray]:
    """P(stop token next) at every position of each sequence (teacher-forced, one pass),
    in float64: entry t is the probability after tokens 0..t."""
    import torch

    device = str(next(model.parameters()).device)
    stop_index = torch.tensor(sorted(set(int(s) for s in stops)), device=device)
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for s in range(0, len(sequences), batch_size):
            chunk = sequences[s:s + batch_size]
            ids, mask = left_padded(chunk, pad, device)
            pos = (mask.cumsum(1) - 1).clamp(min=0)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()
            # log P(stop) = logsumexp over the stop ids - logsumexp over the vocabulary
            # (no full log-softmax copy of a batch x positions x vocabulary tensor)
            log_stop = torch.logsumexp(logits[..., stop_index], dim=-1) - torch.logsumexp(logits, dim=-1)
            p_stop = log_stop.double().exp().cpu().numpy()
            for i, x in enumerate(chunk):
                out.append(p_stop[i, ids.shape[1] - len(x):])
    return out


def eos_hazard(lm, documents: pd.DataFrame, *, prompt_tokens: Sequence[int], horizon: int,
               document_set: str = "", batch_size: int = 4,
               progress: bool = True) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One row per (document, prompt length) for model ``lm`` (a LoadedModel): the
    expected and the true remaining length (HAZARD_COLUMNS, see the module doc), and a
    record of the prompt lengths skipped (context) and documents too short."""
    model, tok, facts = lm.model, lm.tokenizer, lm.facts
    stops = stop_token_ids(model, tok)
    if not stops:
        raise SweepError(f"model {facts['name']!r} has no end-of-text token: no hazard to read")
    start = _document_start(model, tok, stops)
    prefix = [] if start is None else [start]
    context = int(facts.get("max_position_embeddings") or 0) or 10**9
    lengths = sorted({int(p) for p in prompt_tokens})
    fits = [p for p in lengths if len(prefix) + p + int(horizon) - 1 <= context]
    skipped = {"prompt_tokens_beyond_context": [p for p in lengths if p not in fits],
               "context": context, "too_short": 0}
    if not fits:
        raise SweepError(f"model {facts['name']!r}: no prompt length in {lengths} fits its context of "
                         f"{context} tokens with a horizon of {horizon}")
    encoded = tok(documents["text"].astype(str).tolist(), add_special_tokens=False,
                  verbose=False)["input_ids"]
    # one pass per document over the tokens every prompt length and its window need
    sequences = [prefix + list(ids[: max(fits) + int(horizon) - 1]) for ids in encoded]
    if progress:
        print(f"{facts['name']}: hazard over {len(sequences)} documents", file=sys.stderr)
    q = stop_probabilities(model, sequences, stops, pad=int(tok.pad_token_id
                                                             if tok.pad_token_id is not None else stops[0]),
                           batch_size=batch_size)
    rows = []
    for doc_id, ids, probs in zip(documents["doc_id"].astype(str), encoded, q):
        n = len(ids)
        probs = probs[len(prefix):]  # entry t: after the document's tokens 0..t
        for p in fits:
            if n <= p:
                skipped["too_short"] += 1
                continue
            remaining = n - p
            window = min(int(horizon), remaining)
            h = probs[p - 1: p - 1 + window]  # h_1 after the prompt, h_k after k-1 true tokens
            mean, p_stop, implied = expected_remaining(h)
            rows.append({
                "doc_id": doc_id, "prompt_tokens": p, "document_tokens": n,
                "true_remaining_tokens": remaining, "horizon_tokens": int(horizon),
                "scored_tokens": window,
                "censored_at": "document_end" if remaining <= horizon else "horizon",
                "true_remaining_within_horizon": window,
                "expected_remaining_tokens": mean, "implied_remaining_tokens": implied,
                "p_stop_within": p_stop,
                "eos_prob_first": float(h[0]), "eos_prob_mean": float(np.mean(h)),
            })
    out = pd.DataFrame(rows)
    out.insert(0, "model", facts["name"])
    out.insert(1, "model_kind", str(facts.get("kind", "")))
    out.insert(2, "n_params", int(facts.get("n_params_total") or 0))
    out.insert(3, "n_params_nonembedding", int(facts.get("n_params_nonembedding") or 0))
    out.insert(4, "document_set", document_set)
    out["document_start_token"] = "" if start is None else str(tok.convert_ids_to_tokens(start))
    return out.reindex(columns=HAZARD_COLUMNS), skipped

