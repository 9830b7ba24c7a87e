"""Ladder data: a seeded split by document, a BPE trained on the training split only, and
token streams packed into fixed-length sequences.

``prepare_files`` streams a documents table of any size: it reads it in row batches,
trains the BPE on a seeded sample of training documents (``sample_chars``), and encodes
batch by batch into uint16 files on disk, so memory is bounded by the sample and one
batch, not by the corpus."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

EOS = "<|endoftext|>"


def split_documents(documents: pd.DataFrame, val_fraction: float, seed: int) -> pd.DataFrame:
    """doc_id -> split ("train" or "val"): a seeded sample of whole documents is held out,
    so validation never sees training text. At least one document lands in each split."""
    for col in ("doc_id", "text"):
        if col not in documents.columns:
            raise ValueError(f"documents table has no {col!r} column")
    ids = documents["doc_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError(f"duplicate doc_id {ids[ids.duplicated()].iloc[0]!r} in the documents table")
    if len(ids) < 2:
        raise ValueError(f"the ladder needs at least 2 documents to split, got {len(ids)}")
    rng = np.random.default_rng(seed)
    n_val = min(max(1, round(val_fraction * len(ids))), len(ids) - 1)
    val = set(rng.choice(ids.to_numpy(), size=n_val, replace=False))
    return pd.DataFrame({"doc_id": ids, "split": ["val" if i in val else "train" for i in ids]})


def train_bpe(texts: list[str], vocab_size: int):
    """A byte-level BPE (``tokenizers``) trained on ``texts``; the end-of-text token is id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tok


def encode_stream(tokenizer, texts: list[str]) -> np.ndarray:
    """Every text's ids followed by the end-of-text id, concatenated (uint16 when it fits)."""
    eos = tokenizer.token_to_id(EOS)
    pieces = []
    for enc in tokenizer.encode_batch(texts):
        pieces.append(np.asarray(enc.ids, dtype=np.int64))
        pieces.append(np.array([eos], dtype=np.int64))
    stream = np.concatenate(pieces) if pieces else np.empty(0, np.int64)
    dtype = np.uint16 if tokenizer.get_vocab_size() <= np.iinfo(np.uint16).max + 1 else np.int32
    return stream.astype(dtype)


def pack(stream: np.ndarray, seq_len: int) -> np.ndarray:
    """Cut a token stream into rows of ``seq_len`` tokens (documents packed end to end,
    separated by end-of-text); the incomplete tail is dropped."""
    n = len(stream) // seq_len
    if n == 0:
        raise ValueError(f"{len(stream)} tokens make no sequence of {seq_len}")
    return np.asarray(stream[: n * seq_len]).reshape(n, seq_len)


def prepare(documents: pd.DataFrame, *, val_fraction: float, seed: int, vocab_size: int, seq_len: int):
    """Split, train the BPE on the training documents only, encode and pack both splits.
    Returns (tokenizer, train sequences, val sequences, split table, facts)."""
    split = split_documents(documents, val_fraction, seed)
    texts = documents["text"].astype(str).tolist()
    is_train = (split["split"] == "train").to_numpy()
    train_texts = [t for t, k in zip(texts, is_train) if k]
    val_texts = [t for t, k in zip(texts, is_train) if not k]
    tokenizer = train_bpe(train_texts, vocab_size)
    train_stream, val_stream = encode_stream(tokenizer, train_texts), encode_stream(tokenizer, val_texts)
    train_seqs = pack(train_stream, seq_len)
    try:
        val_seqs = pack(val_stream, seq_len)
    except ValueError as err:
        raise ValueError(f"validation documents: {err}; raise ladder.val_fraction") from None
    facts = {
        "documents": {"train": int(is_train.sum()), "val": int((~is_train).sum())},
        "chars": {"train": int(sum(map(len, train_texts))), "val": int(sum(map(len, val_texts)))},
        "tokens": {"train": int(len(train_stream)), "val": int(len(val_stream))},
        "sequences": {"train": int(len(train_seqs)), "val": int(len(val_seqs))},
        "dropped_tail_tokens": {"train": int(len(train_stream) - train_seqs.size), "val": int(len(val_stream) - val_seqs.size)},
        "vocab_size": int(tokenizer.get_vocab_size()),
        "seq_len": int(seq_len),
    }
    return tokenizer, train_seqs, val_seqs, split, facts


def _batches(path: str | os.PathLike, columns: list[str], rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns):
        yield batch.to_pandas()


def _sample_texts(path, train_ids: set, sample_chars: int, seed: int, rows: int) -> tuple[list[str], int]:
    """Training texts for the BPE: all of them when they fit in ``sample_chars`` (0: no
    limit), else a seeded sample of whole documents up to that many characters."""
    lengths = []
    for batch in _batches(path, ["doc_id", "text"], rows):
        keep = batch["doc_id"].astype(str).isin(train_ids).to_numpy()
        lengths += [(i, len(t)) for i, t in zip(batch["doc_id"].astype(str)[keep], batch["text"].astype(str)[keep])]
    total = sum(n for _, n in lengths)
    if not sample_chars or total <= sample_chars:
        chosen = {i for i, _ in lengths}
    else:
        order = np.random.default_rng([seed, 1]).permutation(len(lengths))
        cum = np.cumsum([lengths[k][1] for k in order])
        chosen = {lengths[k][0] for k in order[: max(1, int(np.searchsorted(cum, sample_chars)))]}
    texts = []
    for batch in _batches(path, ["doc_id", "text"], rows):
        keep = batch["doc_id"].astype(str).isin(chosen).to_numpy()
        texts += batch["text"].astype(str)[keep].tolist()
    return texts, sum(map(len, texts))


def _to_npy(raw: Path, out: Path, seq_len: int, chunk: int = 1 << 24) -> tuple[int, int]:
    """The raw uint16 token file as a packed (rows, seq_len) .npy, copied block by block;
    returns (rows, dropped tail tokens)."""
    tokens = raw.stat().st_size // 2
    rows = tokens // seq_len
    if rows == 0:
        raise ValueError(f"{tokens} tokens make no sequence of {seq_len}")
    src = np.memmap(raw, dtype=np.uint16, mode="r")
    dst = np.lib.format.open_memmap(out, mode="w+", dtype=np.uint16, shape=(rows, seq_len))
    flat = dst.reshape(-1)
    for i in range(0, rows * seq_len, chunk):
        flat[i : i + chunk] = src[i : min(i + chunk, rows * seq_len)]
    dst.flush()
    del dst, src
    raw.unlink()
    return rows, tokens - rows * seq_len


def prepare_files(documents_path: str | os.PathLike, out: dict, *, val_fraction: float, seed: int, vocab_size: int,
                  seq_len: int, sample_chars: int = 0, batch_rows: int = 256):
    """Split, train the BPE on (a sample of) the training documents, and stream both splits
    into packed uint16 .npy files ``out["train"]``, ``out["val"]``. Returns (tokenizer,
    split table, facts)."""
    if vocab_size > np.iinfo(np.uint16).max + 1:
        raise ValueError(f"ladder.vocab_size {vocab_size} does not fit the uint16 token files (at most 65536)")
    ids = pd.concat([b for b in _batches(documents_path, ["doc_id"], 1 << 16)], ignore_index=True)
    split = split_documents(ids.assign(text=""), val_fraction, seed)
    train_ids = set(split.loc[split["split"] == "train", "doc_id"])
    sample, sample_chars_used = _sample_texts(documents_path, train_ids, sample_chars, seed, batch_rows)
    tokenizer = train_bpe(sample, vocab_size)
    del sample
    raw = {k: Path(str(out[k]) + ".raw") for k in ("train", "val")}
    docs = {"train": 0, "val": 0}
    chars = {"train": 0, "val": 0}
    tokens = {"train": 0, "val": 0}
    handles = {k: open(p, "wb") for k, p in raw.items()}
    try:
        for batch in _batches(documents_path, ["doc_id", "text"], batch_rows):
            is_train = batch["doc_id"].astype(str).isin(train_ids).to_numpy()
            for key, mask in (("train", is_train), ("val", ~is_train)):
                texts = batch["text"].astype(str)[mask].tolist()
                if not texts:
                    continue
                stream = encode_stream(tokenizer, texts).astype(np.uint16)
                stream.tofile(handles[key])
                docs[key] += len(texts)
                chars[key] += sum(map(len, texts))
                tokens[key] += len(stream)
    finally:
        for h in handles.values():
            h.close()
    n_train, drop_train = _to_npy(raw["train"], Path(out["train"]), seq_len)
    try:
        n_val, drop_val = _to_npy(raw["val"], Path(out["val"]), seq_len)
    except ValueError as err:
        raise ValueError(f"validation documents: {err}; raise ladder.val_fraction") from None
    facts = {
        "documents": docs, "chars": chars, "tokens": tokens,
        "sequences": {"train": n_train, "val": n_val},
        "dropped_tail_tokens": {"train": drop_train, "val": drop_val},
        "vocab_size": int(tokenizer.get_vocab_size()),
        "seq_len": int(seq_len),
        "bpe_sample_chars": int(sample_chars_used),
    }
    return tokenizer, split, facts
