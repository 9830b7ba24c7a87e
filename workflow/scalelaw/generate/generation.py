"""Batched generation: one row per prompt, with its stop reason and censoring.

Left-padded batches through ``model.generate`` (KV cache on) under
``torch.inference_mode``, or through another engine (``generate.backend``,
:mod:`scalelaw.generate.engines`); ``torch.manual_seed(seed, batch)`` before each batch, so
a rerun with the same settings on the same machine gives the same text. A generation
stops at the first EOS token (``stop_reason="eos"``) or at ``max_new_tokens``
(``stop_reason="max_new_tokens"``, ``censored=True``: its natural length is only known to
be at least the cap). ``n_steps`` is the number of decoding steps: the generated tokens,
plus one for the EOS token when there is one; it is the survival time the censored fits
use.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

import numpy as np
import pandas as pd

from scalelaw.generate.decoding import encode_prompts, instruction_indices, stop_token_ids, token_budgets
from scalelaw.generate.engines import runner_for

GENERATION_COLUMNS = [
    "generation_id", "model", "decoding", "prompt_format", "instruction_index", "do_sample", "temperature",
    "top_p", "top_k", "max_new_tokens", "max_length", "seed", "prompt_tokens",
    "prompt_index", "prompt_id", "doc_id", "prompt_text", "prompt_len_tokens",
    "prompt_text_tokens", "prompt_tokens_ref", "cap_tokens", "generated_text", "gen_tokens", "n_steps",
    "stop_reason", "censored", "batch_index", "batch_size", "seconds", "tokens_per_s",
    "device", "dtype", "threads",
]


def generate_texts(
    model,
    tokenizer,
    texts: list[str],
    *,
    decoding: Mapping[str, Any],
    max_new_tokens: int,
    seed: int,
    batch_size: int = 16,
    progress: bool = True,
    desc: str = "generate",
    wording: Any = None,
) -> pd.DataFrame:
    """Generate from ``texts``; one row per text, in the order given.

    Prompts are encoded under ``decoding['prompt_format']``, sorted by length (so a
    batch holds prompts of similar length and little padding) and run in left-padded
    batches. Each prompt gets :func:`token_budgets` new tokens; a batch runs to its
    longest budget and every row is cut at its own, which for greedy and sampled
    decoding alike gives the tokens a run with that row's budget would give.

    Columns: prompt_len_tokens (as fed, template included), prompt_text_tokens (the
    prompt text alone), cap_tokens (the row's budget), generated_text,
    gen_tokens, n_steps, stop_reason (``eos``, ``max_new_tokens``, ``max_length``, or
    ``no_room`` when a total cap leaves no token), censored, batch_index, batch_size,
    seconds, tokens_per_s (the batch's wall time and decoded tokens per second;
    ``seconds`` is shared by the rows of a batch).

    ``model`` is a transformers model, or a :class:`scalelaw.generate.engines.CT2Model`
    (``generate.backend: ctranslate2``): same prompts, batches, budgets and columns.
    """
    from tqdm.auto import tqdm

    eos = stop_token_ids(model, tokenizer)
    eos_set = set(eos)
    encoded = encode_prompts(tokenizer, texts, decoding, wording)
    lengths = np.array([len(x) for x in encoded], dtype=np.int64)
    budgets = token_budgets(lengths, max_new_tokens, decoding.get("max_length"))
    capped_by = np.where(budgets < int(max_new_tokens), "max_length", "max_new_tokens")
    rows: list[dict[str, Any] | None] = [None] * len(texts)
    for i in np.flatnonzero(budgets == 0):
        rows[i] = {"generated_text": "", "gen_tokens": 0, "n_steps": 0,
                   "stop_reason": "no_room", "censored": True, "batch_index": -1,
                   "batch_size": 0, "seconds": 0.0, "tokens_per_s": float("nan")}
    runnable = [int(i) for i in np.argsort(lengths, kind="stable") if budgets[i] > 0]
    batches = [runnable[s:s + batch_size] for s in range(0, len(runnable), batch_size)]
    run_batch = runner_for(model, tokenizer, decoding, eos, seed)
    bar = tqdm(total=len(runnable), desc=desc, unit="gen", file=sys.stderr,
               disable=not progress, mininterval=2.0)
    for b, members in enumerate(batches):
        own = budgets[members]
        new, dt = run_batch(b, [encoded[i] for i in members], own)
        stepped, done = 0, []
        for j, i in enumerate(members):
            ids = list(new[j][:int(own[j])])
            first = next((k for k, t in enumerate(ids) if int(t) in eos_set), None)
            stopped = first is not None
            gen_tokens = first if stopped else len(ids)
            if not stopped and gen_tokens < own[j]:
                raise RuntimeError(f"the engine returned {gen_tokens} tokens without EOS for "
                                   f"a budget of {int(own[j])}")
            n_steps = gen_tokens + int(stopped)
            stepped += n_steps
            done.append((i, ids, gen_tokens, n_steps, stopped))
        for i, ids, gen_tokens, n_steps, stopped in done:
            rows[i] = {
                "generated_text": tokenizer.decode(ids[:gen_tokens], skip_special_tokens=True),
                "gen_tokens": int(gen_tokens),
                "n_steps": int(n_steps),
                "stop_reason": "eos" if stopped else str(capped_by[i]),
                "censored": not stopped,
                "batch_index": b,
                "batch_size": len(members),
                "seconds": dt,
                "tokens_per_s": stepped / dt if dt > 0 else float("nan"),
            }
        bar.update(len(members))
        bar.set_postfix(batch=f"{b + 1}/{len(batches)}", tok_s=f"{stepped / dt:.1f}")
    bar.close()
    frame = pd.DataFrame(rows, columns=["generated_text", "gen_tokens", "n_steps",
                                        "stop_reason", "censored", "batch_index",
                                        "batch_size", "seconds", "tokens_per_s"])
    frame.insert(0, "prompt_len_tokens", lengths)
    # the prompt text alone, without a chat template's tokens: the x of the fits
    frame.insert(1, "prompt_text_tokens", [len(ids) for ids in tokenizer(
        list(texts), add_special_tokens=False, verbose=False)["input_ids"]])
    frame.insert(2, "cap_tokens", budgets)
    return frame


def generate_cell(
    lm,
    prompts: pd.DataFrame,
    *,
    decoding: Mapping[str, Any],
    max_new_tokens: int,
    seed: int,
    batch_size: int = 16,
    progress: bool = True,
) -> pd.DataFrame:
    """One grid cell: every prompt of ``prompts`` through model ``lm`` (a LoadedModel).

    ``decoding`` comes from :func:`decoding_settings`. Returns GENERATION_COLUMNS.
    """
    facts = lm.facts
    name = facts["name"]
    desc = f"{name} {decoding['name']} p{int(prompts['prompt_tokens'].iloc[0]) if len(prompts) else 0} m{max_new_tokens} s{seed}"
    wording = instruction_indices(prompts["prompt_index"], decoding)
    gen = generate_texts(lm.model, lm.tokenizer, prompts["prompt_text"].tolist(),
                         decoding=decoding, max_new_tokens=max_new_tokens, seed=seed,
                         batch_size=batch_size, progress=progress, desc=desc,
                         wording=np.maximum(wording, 0))
    out = prompts[["prompt_tokens", "prompt_index", "prompt_id", "doc_id", "prompt_text",
                   "prompt_tokens_ref"]].reset_index(drop=True)
    out = pd.concat([out, gen.reset_index(drop=True)], axis=1)
    out["model"] = name
    out["decoding"] = decoding["name"]
    out["prompt_format"] = decoding.get("prompt_format", "raw")
    out["instruction_index"] = wording
    out["do_sample"] = bool(decoding["do_sample"])
    for key in ("temperature", "top_p"):
        out[key] = float("nan") if decoding[key] is None else float(decoding[key])
    out["top_k"] = -1 if decoding["top_k"] is None else int(decoding["top_k"])
    out["max_new_tokens"] = int(max_new_tokens)
    out["max_length"] = -1 if decoding.get("max_length") is None else int(decoding["max_length"])
    out["seed"] = int(seed)
    out["device"] = facts.get("device", "")
    out["dtype"] = facts.get("dtype", "")
    out["threads"] = int(facts.get("threads", 0) or 0)
    out["generation_id"] = (name + "|" + decoding["name"] + f"|m{int(max_new_tokens)}|s{int(seed)}|"
                            + out["prompt_id"].astype(str))
    out = out[GENERATION_COLUMNS]
    return out.astype({"max_new_tokens": "int64", "max_length": "int64", "seed": "int64",
                       "prompt_tokens": "int64", "prompt_index": "int64",
                       "prompt_len_tokens": "int64", "prompt_text_tokens": "int64",
                       "cap_tokens": "int64",
                       "prompt_tokens_ref": "int64", "gen_tokens": "int64",
                       "n_steps": "int64", "censored": "bool", "batch_index": "int64",
                       "batch_size": "int64", "seconds": "float64",
                       "tokens_per_s": "float64", "top_k": "int64", "instruction_index": "int64"})
