"""Generation sweeps: prompts cut from corpus documents, batched generation, loss.

Plain functions over DataFrames; nothing here knows Snakemake.

Prompts (:func:`sample_prompts`)
    Documents are put in a seeded random order (by ``seed``, over documents sorted by
    ``doc_id``). For each document a start sentence is drawn from the first half of the
    document with a generator seeded by ``(seed, doc_id)`` only, so the same document
    starts at the same sentence for every prompt length (a paired design). The prompt is
    the longest run of whole sentences from there whose text has at most
    ``prompt_tokens`` tokens under the reference tokenizer (counted on the prompt text
    itself). When that run is shorter than ``min_fill * prompt_tokens`` (long sentences)
    or leaves no sentence after it, the start moves forward one sentence, up to
    ``max_shift`` times (so prompt lengths share documents and regions, not always the
    exact start sentence: ``start_sentence`` is recorded); documents where nothing fits
    are skipped and counted. The actual length
    is recorded (``prompt_tokens_ref``; the model's own count is recorded per
    generation). The human continuation is the following whole sentences, as many as
    fit in ``continuation_tokens`` tokens, and at least one.

Generation (:func:`generate_cell`)
    Left-padded batches through ``model.generate`` (KV cache on) under
    ``torch.inference_mode``, or through another engine (``generate.backend``,
    :mod:`scalelaw.engines`); ``torch.manual_seed(seed, batch)`` before each batch, so a
    rerun with the same settings on the same machine gives the same text. A generation
    stops at the first EOS token (``stop_reason="eos"``) or at ``max_new_tokens``
    (``stop_reason="max_new_tokens"``, ``censored=True``: its natural length is only
    known to be at least the cap). ``n_steps`` is the number of decoding steps: the
    generated tokens, plus one for the EOS token when there is one; it is the survival
    time the censored fits use.

Loss (:func:`continuation_loss`)
    The mean negative log-likelihood (nats per model token) of the human continuation
    given the prompt, plus bits per UTF-8 byte (comparable across tokenizers).
"""

from __future__ import annotations

import math
import re
import sys
import time
import zlib
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from scalelaw.device import sync
from scalelaw.errors import DataError

PROMPT_COLUMNS = [
    "corpus", "prompt_tokens", "seed", "prompt_index", "prompt_id", "doc_id",
    "start_sentence", "n_prompt_sentences", "prompt_char_start", "prompt_char_end",
    "prompt_text", "prompt_tokens_ref", "continuation_text", "n_continuation_sentences",
    "continuation_tokens_ref",
]

GENERATION_COLUMNS = [
    "generation_id", "model", "decoding", "prompt_format", "do_sample", "temperature",
    "top_p", "top_k", "max_new_tokens", "max_length", "seed", "prompt_tokens",
    "prompt_index", "prompt_id", "doc_id", "prompt_text", "prompt_len_tokens",
    "prompt_text_tokens", "prompt_tokens_ref", "cap_tokens", "generated_text", "gen_tokens", "n_steps",
    "stop_reason", "censored", "batch_index", "batch_size", "seconds", "tokens_per_s",
    "device", "dtype", "threads",
]

LOSS_COLUMNS = [
    "model", "prompt_tokens", "seed", "prompt_index", "prompt_id", "doc_id",
    "prompt_len_tokens", "continuation_len_tokens", "continuation_bytes", "truncated",
    "loss_nats_sum", "loss_nats_per_token", "loss_bits_per_byte",
]


class SweepError(DataError):
    pass


# ----------------------------------------------------------------------------- prompts


def _n_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def _doc_uniform(seed: int, doc_id: str) -> float:
    rng = np.random.default_rng([int(seed), zlib.crc32(str(doc_id).encode())])
    return float(rng.random())


def cut_prompt(
    text: str,
    spans: list[tuple[int, int]],
    tokenizer,
    *,
    start: int,
    prompt_tokens: int,
    continuation_tokens: int,
    min_fill: float = 0.5,
) -> dict[str, Any] | None:
    """Cut one prompt and its human continuation out of ``text`` (see module doc).

    ``spans`` are the sentence spans of ``text``; ``start`` the first prompt sentence.
    Returns None when the document cannot give a prompt of this length.
    """
    if start >= len(spans) - 1:
        return None
    c0 = spans[start][0]
    # Candidate ends by a cheap estimate (token ends from one tokenization of a window),
    # then confirmed on the prompt text itself.
    window_end = spans[-1][1]
    enc = tokenizer(text[c0:window_end], add_special_tokens=False,
                    return_offsets_mapping=True, verbose=False)
    tok_ends = np.asarray([e for _, e in enc["offset_mapping"]], dtype=np.int64) + c0
    ends = np.asarray([e for _, e in spans[start:]], dtype=np.int64)
    est = np.searchsorted(tok_ends, ends, side="right")  # tokens ending within prefix
    k = int(np.searchsorted(est, prompt_tokens, side="right"))  # sentences that fit
    k = min(k, len(spans) - start - 1)  # keep one sentence for the continuation
    n_ref = 0
    while k > 0:
        n_ref = _n_tokens(tokenizer, text[c0:spans[start + k - 1][1]])
        if n_ref <= prompt_tokens:
            break
        k -= 1
    if k == 0 or n_ref < min_fill * prompt_tokens:
        return None
    p_end = spans[start + k - 1][1]
    # continuation: whole sentences after the prompt, within continuation_tokens
    first = start + k
    m = 1
    cont_base = int(np.searchsorted(tok_ends, p_end, side="right"))
    while first + m < len(spans):
        nxt = int(np.searchsorted(tok_ends, spans[first + m][1], side="right")) - cont_base
        if nxt > continuation_tokens:
            break
        m += 1
    cont_text = text[p_end:spans[first + m - 1][1]]
    return {
        "start_sentence": int(start),
        "n_prompt_sentences": int(k),
        "prompt_char_start": int(c0),
        "prompt_char_end": int(p_end),
        "prompt_text": text[c0:p_end],
        "prompt_tokens_ref": int(n_ref),
        "continuation_text": cont_text,
        "n_continuation_sentences": int(m),
        "continuation_tokens_ref": _n_tokens(tokenizer, cont_text),
    }


def sample_prompts(
    documents: pd.DataFrame,
    tokenizer,
    *,
    n_prompts: int,
    prompt_tokens: int,
    seed: int,
    corpus: str = "",
    segmenter: str = "nupunkt",
    paragraph_breaks: bool = True,
    continuation_tokens: int = 256,
    min_fill: float = 0.5,
    start: str = "random",
    max_shift: int = 50,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``n_prompts`` prompts of about ``prompt_tokens`` tokens (see module doc).

    ``start="random"`` draws the first sentence from the first half of each document;
    ``start="document"`` always starts at the first sentence. When no prompt fits at the
    drawn sentence (its sentences are too long for ``prompt_tokens``), the start moves
    forward a sentence at a time, up to ``max_shift`` sentences. Returns the prompts and
    a record of how many documents were tried and skipped.
    """
    from scalelaw.lengths import segment

    if start not in ("random", "document"):
        raise SweepError(f"prompt start must be 'random' or 'document', not {start!r}")
    docs = documents[["doc_id", "text"]].copy()
    docs["doc_id"] = docs["doc_id"].astype(str)
    docs = docs.sort_values("doc_id", kind="stable").reset_index(drop=True)
    order = np.random.default_rng(int(seed)).permutation(len(docs))
    rows, tried, skipped = [], 0, 0
    for pos in order:
        if len(rows) >= n_prompts:
            break
        doc_id, text = docs.at[pos, "doc_id"], docs.at[pos, "text"]
        tried += 1
        spans = segment(text, segmenter, paragraph_breaks) if isinstance(text, str) else []
        if len(spans) < 2:
            skipped += 1
            continue
        s0 = int(_doc_uniform(seed, doc_id) * (len(spans) // 2)) if start == "random" else 0
        cut = None
        for s in range(s0, min(len(spans) - 1, s0 + max_shift + 1)):
            cut = cut_prompt(text, spans, tokenizer, start=s, prompt_tokens=prompt_tokens,
                             continuation_tokens=continuation_tokens, min_fill=min_fill)
            if cut is not None:
                break
        if cut is None:
            skipped += 1
            continue
        rows.append({
            "corpus": corpus,
            "prompt_tokens": int(prompt_tokens),
            "seed": int(seed),
            "prompt_index": len(rows),
            "prompt_id": f"{doc_id}@{cut['start_sentence']}+{cut['n_prompt_sentences']}",
            "doc_id": doc_id,
            **cut,
        })
    prompts = pd.DataFrame(rows, columns=PROMPT_COLUMNS)
    prompts = prompts.astype({"prompt_tokens": "int64", "seed": "int64",
                              "prompt_index": "int64", "start_sentence": "int64",
                              "n_prompt_sentences": "int64", "prompt_char_start": "int64",
                              "prompt_char_end": "int64", "prompt_tokens_ref": "int64",
                              "n_continuation_sentences": "int64",
                              "continuation_tokens_ref": "int64"})
    stats = {"documents": len(docs), "tried": tried, "skipped": skipped,
             "prompts": len(prompts), "requested": int(n_prompts)}
    if len(prompts) < n_prompts:
        stats["warning"] = (
            f"only {len(prompts)} of {n_prompts} prompts of ~{prompt_tokens} tokens: "
            f"{skipped} of {tried} documents too short or with too long sentences"
        )
    return prompts, stats


# ----------------------------------------------------------------------------- decoding


PROMPT_FORMATS = ("raw", "chat")


def decoding_settings(name: str, spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalised settings of one way to drive the model: prompt format, sampling, cap.

    Greedy unless ``do_sample`` is true or a sampling setting is given. Sampling defaults
    to ``temperature=1``, ``top_p=1`` and ``top_k=0`` (no top-k cut; transformers would
    otherwise apply top_k=50 silently). ``prompt_format`` is ``raw`` (the prompt text as
    it is, to be continued) or ``chat`` (the model's chat template, one user turn:
    ``instruction``, a blank line, the prompt text). ``max_length`` caps prompt plus
    generation in model tokens, as ``max_length=100`` did in the seed's pipeline call;
    ``None`` leaves only the cell's ``max_new_tokens``.
    """
    spec = dict(spec or {})
    prompt_format = spec.pop("prompt_format", "raw")
    instruction = spec.pop("instruction", None)
    max_length = spec.pop("max_length", None)
    if prompt_format not in PROMPT_FORMATS:
        raise SweepError(f"decoding {name!r}: prompt_format must be one of {PROMPT_FORMATS}, "
                         f"not {prompt_format!r}")
    if prompt_format == "chat" and not (instruction or "").strip():
        raise SweepError(f"decoding {name!r}: prompt_format chat needs an instruction")
    if max_length is not None and int(max_length) < 2:
        raise SweepError(f"decoding {name!r}: max_length must be at least 2")
    sampling_keys = {"temperature", "top_p", "top_k"} & set(spec)
    do_sample = bool(spec.pop("do_sample", bool(sampling_keys)))
    if not do_sample and sampling_keys:
        raise SweepError(f"decoding {name!r}: {sorted(sampling_keys)} given with "
                         "do_sample false (greedy ignores them)")
    if not do_sample:
        out = {"name": name, "do_sample": False, "temperature": None, "top_p": None,
               "top_k": None}
    else:
        out = {"name": name, "do_sample": True,
               "temperature": float(spec.pop("temperature", 1.0)),
               "top_p": float(spec.pop("top_p", 1.0)),
               "top_k": int(spec.pop("top_k", 0))}
        if out["temperature"] <= 0:
            raise SweepError(f"decoding {name!r}: temperature must be > 0 (use greedy)")
        if not 0 < out["top_p"] <= 1:
            raise SweepError(f"decoding {name!r}: top_p must be in (0, 1]")
    for key in ("temperature", "top_p", "top_k"):
        spec.pop(key, None)
    if spec:
        raise SweepError(f"decoding {name!r}: unknown settings {sorted(spec)}")
    out.update(prompt_format=prompt_format,
               instruction=str(instruction) if prompt_format == "chat" else None,
               max_length=None if max_length is None else int(max_length))
    return out


def stop_token_ids(model, tokenizer) -> list[int]:
    """Token ids that end a generation: the model's EOS ids and the tokenizer's EOS."""
    ids = model.generation_config.eos_token_id
    ids = [] if ids is None else list(ids) if isinstance(ids, (list, tuple)) else [ids]
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return sorted({int(i) for i in ids})


def encode_prompts(tokenizer, texts: list[str], decoding: Mapping[str, Any]) -> list[list[int]]:
    """Token ids the model sees for each prompt text under ``decoding['prompt_format']``.

    ``raw``: the tokenizer's ids with its usual special tokens (as a text-generation
    pipeline does). ``chat``: the chat template with one user turn (the instruction, a
    blank line, the text) and the assistant's turn opened.
    """
    if decoding.get("prompt_format", "raw") == "raw":
        return [list(ids) for ids in tokenizer(list(texts), verbose=False)["input_ids"]]
    if not getattr(tokenizer, "chat_template", None):
        raise SweepError(f"decoding {decoding['name']!r}: prompt_format chat, but the model's "
                         "tokenizer has no chat template (a base model); use prompt_format raw")
    rendered = [tokenizer.apply_chat_template(
        [{"role": "user", "content": f"{decoding['instruction'].strip()}\n\n{t}"}],
        tokenize=False, add_generation_prompt=True) for t in texts]
    return [list(ids) for ids in
            tokenizer(rendered, add_special_tokens=False, verbose=False)["input_ids"]]


def token_budgets(prompt_lengths: Any, max_new_tokens: int, max_length: int | None) -> np.ndarray:
    """New tokens each prompt may get: ``max_new_tokens``, or less under a total cap.

    With ``max_length`` (prompt + generation, as in the seed's ``max_length=100``) a
    prompt of P tokens may get ``max_length - P``; zero or less means no room at all
    (transformers refuses such a call).
    """
    lengths = np.asarray(prompt_lengths, dtype=np.int64)
    budget = np.full(lengths.shape, int(max_new_tokens), dtype=np.int64)
    if max_length is not None:
        budget = np.minimum(budget, int(max_length) - lengths)
    return np.maximum(budget, 0)


def _generation_config(model, tokenizer, decoding: Mapping[str, Any], max_new_tokens: int,
                       eos: list[int]):
    from transformers import GenerationConfig

    kwargs = dict(max_new_tokens=int(max_new_tokens), min_new_tokens=0, use_cache=True,
                  eos_token_id=eos or None, pad_token_id=tokenizer.pad_token_id,
                  bos_token_id=model.generation_config.bos_token_id,
                  do_sample=bool(decoding["do_sample"]), num_beams=1)
    if decoding["do_sample"]:
        kwargs.update(temperature=decoding["temperature"], top_p=decoding["top_p"],
                      top_k=decoding["top_k"])
    return GenerationConfig(**kwargs)


def _left_padded(seqs: list[list[int]], pad: int, device: str):
    import torch

    width = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), width), int(pad), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, x in enumerate(seqs):
        ids[i, width - len(x):] = torch.tensor(x, dtype=torch.long)
        mask[i, width - len(x):] = 1
    return ids.to(device), mask.to(device)


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

    ``model`` is a transformers model, or a :class:`scalelaw.engines.CT2Model`
    (``generate.backend: ctranslate2``): same prompts, batches, budgets and columns.
    """
    from tqdm.auto import tqdm

    from scalelaw.engines import runner_for

    eos = stop_token_ids(model, tokenizer)
    eos_set = set(eos)
    encoded = encode_prompts(tokenizer, texts, decoding)
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
    gen = generate_texts(lm.model, lm.tokenizer, prompts["prompt_text"].tolist(),
                         decoding=decoding, max_new_tokens=max_new_tokens, seed=seed,
                         batch_size=batch_size, progress=progress, desc=desc)
    out = prompts[["prompt_tokens", "prompt_index", "prompt_id", "doc_id", "prompt_text",
                   "prompt_tokens_ref"]].reset_index(drop=True)
    out = pd.concat([out, gen.reset_index(drop=True)], axis=1)
    out["model"] = name
    out["decoding"] = decoding["name"]
    out["prompt_format"] = decoding.get("prompt_format", "raw")
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
                       "tokens_per_s": "float64", "top_k": "int64"})


# ----------------------------------------------------------------------------- loss


def _batches(n: int, size: int) -> Iterable[tuple[int, int]]:
    for b, s in enumerate(range(0, n, size)):
        yield b, s


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
        for _, s in _batches(len(items), batch_size):
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


# ----------------------------------------------------------------------------- measuring


def measure_generations(generations: pd.DataFrame, prompts: pd.DataFrame, tokenizer, *,
                        segmenter: str = "nupunkt", paragraph_breaks: bool = True,
                        corpus: str = "") -> dict[str, pd.DataFrame]:
    """Generated texts and human continuations through ``scalelaw.lengths``.

    Returns ``{"generated": doc_lengths, "generated_sentences": sentences,
    "human": doc_lengths, "human_sentences": sentences}``; generated rows are keyed by
    ``generation_id`` (as doc_id), human rows by ``prompt_key`` = "p{prompt_tokens}
    s{seed} {prompt_id}". The continuation's leading whitespace is stripped.
    """
    from scalelaw.lengths import measure_documents

    gdocs = pd.DataFrame({"doc_id": generations["generation_id"].astype(str),
                          "text": generations["generated_text"].fillna("").astype(str)})
    g_sent, g_len = measure_documents(gdocs, tokenizer, segmenter=segmenter,
                                      paragraph_breaks=paragraph_breaks,
                                      corpus=f"{corpus}:generated")
    hum = prompts.drop_duplicates(["prompt_tokens", "seed", "prompt_id"])
    key = prompt_key(hum)
    hdocs = pd.DataFrame({"doc_id": key, "text": hum["continuation_text"].str.strip()})
    h_sent, h_len = measure_documents(hdocs, tokenizer, segmenter=segmenter,
                                      paragraph_breaks=paragraph_breaks,
                                      corpus=f"{corpus}:human")
    return {"generated": g_len, "generated_sentences": g_sent,
            "human": h_len, "human_sentences": h_sent}


#: The measured lengths of a generated text in ``generations.parquet``: doc_lengths
#: column (scalelaw.lengths) -> generations column. ``gen_tokens`` is already the count
#: in the model's own tokens, so the corpus tokenizer's count is ``gen_tokens_measure``.
#: The one mapping both ways (docs/contracts.md).
MEASURED_COLUMNS = {
    "n_sentences": "gen_sentences", "L_words": "gen_words", "L_tokens": "gen_tokens_measure",
    "L_chars": "gen_chars", "S_words_mean": "S_words_mean", "S_tokens_mean": "S_tokens_mean",
    "S_chars_mean": "S_chars_mean", "status": "measure_status",
}


def attach_measured_lengths(generations: pd.DataFrame, doc_lengths: pd.DataFrame) -> pd.DataFrame:
    """``generations`` with the measured lengths of each text (doc_lengths keyed by
    ``doc_id`` = ``generation_id``) under the :data:`MEASURED_COLUMNS` names."""
    lengths = doc_lengths.rename(columns={"doc_id": "generation_id"})
    lengths = lengths[["generation_id", *MEASURED_COLUMNS]].rename(columns=MEASURED_COLUMNS)
    return generations.merge(lengths, on="generation_id", how="left", validate="one_to_one")


def measured_lengths(generations: pd.DataFrame) -> pd.DataFrame:
    """The measured lengths of ``generations`` back under the doc_lengths names."""
    return generations.rename(columns={v: k for k, v in MEASURED_COLUMNS.items()})


def prompt_key(frame: pd.DataFrame) -> pd.Series:
    return ("p" + frame["prompt_tokens"].astype(int).astype(str) + " s"
            + frame["seed"].astype(int).astype(str) + " " + frame["prompt_id"].astype(str))
