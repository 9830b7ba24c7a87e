"""How a model is driven: prompt format, greedy or sampled decoding, length caps, and the
token ids a batch of prompts becomes."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from scalelaw.generate.errors import SweepError

PROMPT_FORMATS = ("raw", "chat")


def decoding_settings(name: str, spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalised settings of one way to drive the model: prompt format, sampling, cap.

    Greedy unless ``do_sample`` is true or a sampling setting is given. Sampling defaults
    to ``temperature=1``, ``top_p=1`` and ``top_k=0`` (no top-k cut; transformers would
    otherwise apply top_k=50 silently). ``prompt_format`` is ``raw`` (the prompt text as
    it is, to be continued) or ``chat`` (the model's chat template, one user turn:
    ``instruction``, a blank line, the prompt text). ``instruction`` may be a list of
    wordings: prompt i of a cell gets wording ``i mod n`` (``instructions``; ``instruction``
    is the first), so that an answer is not one wording's. ``max_length`` caps prompt plus
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
    wordings = [str(w) for w in (instruction if isinstance(instruction, (list, tuple)) else [instruction])
                if w is not None and str(w).strip()]
    if prompt_format == "chat" and not wordings:
        raise SweepError(f"decoding {name!r}: prompt_format chat needs an instruction")
    if len(set(wordings)) != len(wordings):
        raise SweepError(f"decoding {name!r}: the instruction wordings repeat")
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
               instruction=wordings[0] if prompt_format == "chat" else None,
               instructions=tuple(wordings) if prompt_format == "chat" else (),
               max_length=None if max_length is None else int(max_length))
    return out


def stop_token_ids(model, tokenizer) -> list[int]:
    """Token ids that end a generation: the model's EOS ids and the tokenizer's EOS."""
    ids = model.generation_config.eos_token_id
    ids = [] if ids is None else list(ids) if isinstance(ids, (list, tuple)) else [ids]
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return sorted({int(i) for i in ids})


def instruction_indices(prompt_index: Any, decoding: Mapping[str, Any]) -> np.ndarray:
    """Which wording each prompt gets: ``prompt_index mod n`` for chat (-1 for raw)."""
    idx = np.asarray(prompt_index, dtype=np.int64)
    n = len(decoding.get("instructions") or ())
    return idx % n if n else np.full(idx.shape, -1, dtype=np.int64)


def encode_prompts(tokenizer, texts: list[str], decoding: Mapping[str, Any],
                   wording: Any = None) -> list[list[int]]:
    """Token ids the model sees for each prompt text under ``decoding['prompt_format']``.

    ``raw``: the tokenizer's ids with its usual special tokens (as a text-generation
    pipeline does). ``chat``: the chat template with one user turn (the instruction, a
    blank line, the text) and the assistant's turn opened; ``wording`` picks each text's
    instruction among ``decoding['instructions']`` (default the first).
    """
    if decoding.get("prompt_format", "raw") == "raw":
        return [list(ids) for ids in tokenizer(list(texts), verbose=False)["input_ids"]]
    if not getattr(tokenizer, "chat_template", None):
        raise SweepError(f"decoding {decoding['name']!r}: prompt_format chat, but the model's "
                         "tokenizer has no chat template (a base model); use prompt_format raw")
    wordings = list(decoding.get("instructions") or [decoding["instruction"]])
    which = np.zeros(len(texts), dtype=np.int64) if wording is None else np.asarray(wording, dtype=np.int64)
    rendered = [tokenizer.apply_chat_template(
        [{"role": "user", "content": f"{wordings[int(w)].strip()}\n\n{t}"}],
        tokenize=False, add_generation_prompt=True) for t, w in zip(texts, which)]
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


def generation_config(model, tokenizer, decoding: Mapping[str, Any], max_new_tokens: int,
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


def left_padded(seqs: list[list[int]], pad: int, device: str):
    import torch

    width = max(len(x) for x in seqs)
    ids = torch.full((len(seqs), width), int(pad), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, x in enumerate(seqs):
        ids[i, width - len(x):] = torch.tensor(x, dtype=torch.long)
        mask[i, width - len(x):] = 1
    return ids.to(device), mask.to(device)


