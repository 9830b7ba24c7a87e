"""Loading a prepared model on a device, and sizing batches to a GPU's memory."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from scalelaw.generate.errors import ModelError
from scalelaw.generate.sources import model_facts_from_folder

def kv_cache_bytes_per_token(config, dtype_bytes: int) -> int:
    """Bytes of key and value cache one token takes across all layers."""
    layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0))
    heads = int(getattr(config, "num_attention_heads", 0) or getattr(config, "n_head", 0))
    kv_heads = int(getattr(config, "num_key_value_heads", 0) or heads)
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0))
    head_dim = int(getattr(config, "head_dim", 0) or (hidden // max(heads, 1)))
    return 2 * layers * kv_heads * head_dim * int(dtype_bytes)


def batch_size_for_memory(free_bytes: int, *, kv_bytes_per_token: int, tokens_per_row: int,
                          vocab_size: int, dtype_bytes: int, fraction: float = 0.5,
                          limit: int = 512) -> int:
    """The largest batch whose KV cache and last-step logits fit in ``fraction`` of
    ``free_bytes`` (the rest is left for activations and the allocator), at least 1.

    A row needs its KV cache for ``tokens_per_row`` tokens (prompt + new tokens) and one
    row of float32 logits plus one in the model's dtype for the step being decoded.
    """
    per_row = kv_bytes_per_token * int(tokens_per_row) + int(vocab_size) * (4 + int(dtype_bytes))
    return int(max(1, min(limit, (fraction * free_bytes) // max(per_row, 1))))


def generation_batch_size(lm: "LoadedModel", requested: int | str, tokens_per_row: int) -> int:
    """``requested`` as given, or for ``"auto"``: on a GPU, sized to its free memory
    (:func:`batch_size_for_memory`); elsewhere 16."""
    if requested != "auto":
        return int(requested)
    device = str(lm.facts.get("device", "cpu"))
    if not device.startswith("cuda"):
        return 16
    import torch

    free, _ = torch.cuda.mem_get_info(torch.device(device))
    dtype_bytes = getattr(torch, str(lm.facts.get("dtype") or "bfloat16")).itemsize
    return batch_size_for_memory(
        free, kv_bytes_per_token=kv_cache_bytes_per_token(lm.model.config, dtype_bytes),
        tokens_per_row=tokens_per_row, vocab_size=int(lm.model.config.vocab_size),
        dtype_bytes=dtype_bytes)


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    facts: dict[str, Any] = field(default_factory=dict)


def load_tokenizer_for(path: str | os.PathLike):
    """The model's tokenizer, ready for left-padded batches (pad = EOS if missing)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tok.pad_token is None:
        if tok.eos_token is None:
            raise ModelError(f"tokenizer at {path} has neither a pad nor an EOS token")
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def load_model(facts_or_path: Mapping[str, Any] | str | os.PathLike, *, device: str = "auto",
               dtype: str = "auto", threads: int | None = None, backend: str = "transformers",
               engine_dir: str | os.PathLike | None = None) -> LoadedModel:
    """Load a prepared model (facts from :func:`prepare_model`, or a folder).

    ``backend="ctranslate2"`` loads the CTranslate2 copy in ``engine_dir`` (written by
    :func:`scalelaw.generate.engines.convert_ct2`) instead of the transformers model; the
    tokenizer, device and dtype choice are the same.
    """
    import torch
    from transformers import AutoModelForCausalLM

    if isinstance(facts_or_path, Mapping):
        facts = dict(facts_or_path)
    else:
        folder = Path(facts_or_path).resolve()
        facts = {"name": folder.name, "kind": "path", "source": str(folder),
                 "load_path": str(folder), "tokenizer_path": str(folder)}
        facts.update(model_facts_from_folder(folder))
    if threads:
        torch.set_num_threads(int(threads))
    from scalelaw.device import resolve_device, resolve_dtype

    dev = resolve_device(device)
    torch_dtype = getattr(torch, resolve_dtype(dtype, dev))
    dtype_name = str(torch_dtype).replace("torch.", "")
    t0 = time.perf_counter()
    if backend == "transformers":
        model = AutoModelForCausalLM.from_pretrained(
            facts["load_path"], dtype=torch_dtype, local_files_only=True,
            trust_remote_code=bool(facts.get("trust_remote_code", False)),
        ).to(dev).eval()
    else:
        from scalelaw.generate import engines

        engines.require_backend(backend)
        if engine_dir is None:
            raise ModelError(f"backend {backend!r} needs the converted model folder (engine_dir)")
        model = engines.load_ct2(facts, engine_dir, device=dev, dtype=dtype_name,
                                 threads=torch.get_num_threads())
    tok = load_tokenizer_for(facts.get("tokenizer_path") or facts["load_path"])
    facts.update(device=dev, dtype=dtype_name, threads=torch.get_num_threads(), backend=backend,
                 load_seconds=round(time.perf_counter() - t0, 3))
    return LoadedModel(model=model, tokenizer=tok, facts=facts)
