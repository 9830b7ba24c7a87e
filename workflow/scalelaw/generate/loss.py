"""The mean negative log-likelihood (nats per model token) of each human continuation
given its prompt, plus bits per UTF-8 byte (comparable across tokenizers)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd

LOSS_COLUMNS = [
    "model", "prompt_tokens", "seed", "prompt_index", "prompt_id", "doc_id",
    "prompt_len_tokens", "continuation_len_tokens", "continuation_bytes", "truncated",
    "loss_nats_sum", "loss_nats_per_token", "loss_bits_per_byte",
]


def continuation_loss(lm, prompts: pd.DataFrame, *, batch_size: int = 8,
                      progress: bool = True) -> pd.DataFrame:
    """Mean NLL of each human continuation given its prompt (LOSS_COLUMNS).

    Prompt and continuation are tokenized separately (the prompt as in generation, the
    continuation without special tokens) and concatenated; batches are left-padded with
    explicit position ids, and only the continuation positions' logits are computed.
    A pair longer than the model's context keeps the prompt and truncates the
    continuation (``truncated``).
    """
    import torch
    from tqdm.auto import tqdm

    model, tok = lm.model, lm.tokenizer
    device = str(next(model.parameters()).device)
    max_len = int(lm.facts.get("max_position_embeddings") or 0) or 10**9
    pad = tok.pad_token_id
    items = []
    for p, c in zip(prompts["prompt_text"], prompts["continuation_text"]):
        pi = tok(p, verbose=False)["input_ids"]
        ci = tok(c, add_special_tokens=False, verbose=False)["input_ids"]
        trunc = len(pi) + len(ci) > max_len
        if trunc:
            ci = ci[: max(0, max_len - len(pi))]
        items.append((pi, ci, trunc, len(c.encode("utf-8"))))
    sums, counts = [], []
    bar = tqdm(total=len(items), desc=f"{lm.facts['name']} loss", unit="prompt",
               file=sys.stderr, disable=not progress, mininterval=2.0)
    with torch.inference_mode():
        for s in range(0, len(items), batch_size):
            chunk = items[s:s + batch_size]
            seqs = [pi + ci for pi, ci, _, _ in chunk]
            width = max(len(x) for x in seqs)
            keep = max(len(ci) for _, ci, _, _ in chunk)
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, x in enumerate(seqs):
                ids[i, width - len(x):] = torch.tensor(x)
                mask[i, width - len(x):] = 1
            pos = (mask.cumsum(1) - 1).clamp(min=0)
            ids, mask, pos = ids.to(device), mask.to(device), pos.to(device)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=pos,
                           logits_to_keep=keep + 1).logits.float()
            # logits[:, j] predicts token at position width-keep-1+j+1
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            target = ids[:, width - keep:]
            nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
            for i, (_, ci, _, _) in enumerate(chunk):
                n = len(ci)
                sums.append(float(nll[i, keep - n:].sum()) if n else float("nan"))
                counts.append(n)
            bar.update(len(chunk))
    bar.close()
    out = prompts[["prompt_tokens", "seed", "prompt_index", "prompt_id", "doc_id"]].reset_index(drop=True)
    out.insert(0, "model", lm.facts["name"])
    out["prompt_len_tokens"] = [len(pi) for pi, _, _, _ in items]
    out["continuation_len_tokens"] = counts
    out["continuation_bytes"] = [b for _, _, _, b in items]
    out["truncated"] = [t for _, _, t, _ in items]
    out["loss_nats_sum"] = sums
    cnt = np.asarray(counts, dtype=float)
    out["loss_nats_per_token"] = np.where(cnt > 0, np.asarray(sums) / np.maximum(cnt, 1), np.nan)
    nbytes = out["continuation_bytes"].to_numpy(dtype=float)
    out["loss_bits_per_byte"] = np.where(nbytes > 0, np.asarray(sums) / math.log(2) / np.maximum(nbytes, 1), np.nan)
    return out[LOSS_COLUMNS].astype({"prompt_len_tokens": "int64",
                                     "continuation_len_tokens": "int64",
                                     "continuation_bytes": "int64", "truncated": "bool"})
