"""Ladder data: a seeded split by document, a BPE trained on the training split only, and
token streams packed into fixed-length sequences."""

from __future__ import annotations

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
