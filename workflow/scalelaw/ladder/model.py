"""Llama configurations for the ladder's sizes and their parameter counts."""

from __future__ import annotations

from typing import Any, Mapping


def ffn_width(d_model: int) -> int:
    """Llama's SwiGLU width: 8/3 d, rounded up to a multiple of 8."""
    return -(-int(8 * d_model / 3) // 8) * 8


def llama_config(size: Mapping[str, Any], vocab_size: int, seq_len: int):
    from transformers import LlamaConfig

    d, heads = int(size["d_model"]), int(size["n_heads"])
    if d % heads:
        raise ValueError(f"ladder size {size.get('name')!r}: d_model {d} is not a multiple of n_heads {heads}")
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=d,
        intermediate_size=int(size.get("d_ff") or ffn_width(d)),
        num_hidden_layers=int(size["n_layers"]),
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=seq_len,
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=0,
        attention_dropout=0.0,
    )


def parameter_counts(size: Mapping[str, Any], vocab_size: int) -> dict[str, int]:
    """Total and non-embedding parameters of the tied-embedding Llama of ``size``, without
    building it (the DAG needs them for IsoFLOP budgets); tests check it against torch."""
    d, layers = int(size["d_model"]), int(size["n_layers"])
    ff = int(size.get("d_ff") or ffn_width(d))
    per_layer = 4 * d * d + 3 * d * ff + 2 * d  # attention, SwiGLU MLP, two RMSNorms
    embedding = vocab_size * d  # tied with the output layer
    non_embedding = layers * per_layer + d  # + final norm
    return {"params_total": embedding + non_embedding, "params_non_embedding": non_embedding}
