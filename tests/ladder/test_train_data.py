"""Streaming data preparation (scalelaw.ladder.data.prepare_files): the same split, BPE
and packed rows as the in-memory path, uint16 files on disk, a BPE trained on a sample."""

import numpy as np
import pandas as pd
import pytest

from scalelaw.ladder import data


@pytest.fixture
def documents(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "state", "of", "union", "congress", "people", "nation", "war", "peace", "law"]
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(30)],
                         "text": [" ".join(rng.choice(words, 300)) for _ in range(30)]})
    path = tmp_path / "documents.parquet"
    docs.to_parquet(path, row_group_size=7)  # several row groups: read in batches
    return docs, path


def test_streamed_files_equal_the_in_memory_preparation(documents, tmp_path):
    docs, path = documents
    tok, train, val, split, facts = data.prepare(docs, val_fraction=0.2, seed=1, vocab_size=300, seq_len=32)
    out = {"train": tmp_path / "train.npy", "val": tmp_path / "val.npy"}
    tok2, split2, facts2 = data.prepare_files(path, out, val_fraction=0.2, seed=1, vocab_size=300, seq_len=32,
                                              batch_rows=4)
    assert split2.equals(split) and tok2.to_str() == tok.to_str()
    got_train, got_val = np.load(out["train"], mmap_mode="r"), np.load(out["val"], mmap_mode="r")
    assert got_train.dtype == np.uint16 and np.array_equal(got_train, train) and np.array_equal(got_val, val)
    assert {k: facts2[k] for k in facts} == facts and facts2["bpe_sample_chars"] == facts["chars"]["train"]
    assert not list(tmp_path.glob("*.raw"))


def test_bpe_sample_is_a_seeded_subset_of_training_documents(documents, tmp_path):
    _, path = documents
    out = {"train": tmp_path / "t.npy", "val": tmp_path / "v.npy"}
    _, _, facts = data.prepare_files(path, out, val_fraction=0.2, seed=1, vocab_size=300, seq_len=32,
                                     sample_chars=5000)
    assert 0 < facts["bpe_sample_chars"] <= 5000  # whole documents, up to the limit
    assert facts["tokens"]["train"] > 0 and facts["documents"]["train"] == 24
    with pytest.raises(ValueError, match="uint16"):
        data.prepare_files(path, out, val_fraction=0.2, seed=1, vocab_size=70000, seq_len=32)
