"""A trained ladder model as a Hugging Face folder that generation can load like any
other model: ``save_pretrained`` LlamaForCausalLM (safetensors), the ladder's BPE as a
``PreTrainedTokenizerFast`` whose eos (and bos) token is the end-of-text token the
documents were separated by, and ``ladder_model.json`` describing the run. The folder is
written beside its final name and renamed into place, so a killed job leaves no
half-written model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from ..io import folder_in_place
from .data import EOS

MODEL_CARD = "ladder_model.json"


def hf_tokenizer(tokenizer_file: str | os.PathLike, seq_len: int):
    """The ladder's ``tokenizers`` BPE wrapped for transformers, eos = bos = end-of-text.
    It adds no special tokens when encoding: a prompt is scored as the ladder saw text."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_file), eos_token=EOS, bos_token=EOS,
                                   model_max_length=int(seq_len), clean_up_tokenization_spaces=False)


def save_model(model, summary: Mapping[str, Any], *, tokenizer_file: str | os.PathLike, out_dir: str | os.PathLike,
               corpus: str) -> dict[str, Any]:
    """Write ``out_dir`` (model, tokenizer, ladder_model.json); returns the card."""
    tokenizer = hf_tokenizer(tokenizer_file, int(summary["seq_len"]))
    eos = tokenizer.convert_tokens_to_ids(EOS)
    if model.config.eos_token_id != eos:
        raise ValueError(f"model eos_token_id {model.config.eos_token_id} is not the tokenizer's {EOS} id {eos}")
    card = {
        "run": summary["run"],
        "size": summary["size"],
        "tokens": int(summary["tokens_seen"]),
        "n_params_total": int(summary["params_total"]),
        "n_params_non_embedding": int(summary["params_non_embedding"]),
        "val_loss": float(summary["val_loss"]),
        "corpus": corpus,
    }
    with folder_in_place(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card
