"""Text is decided by content: legacy encodings decoded and counted, binary dropped and
named, line endings normalised so CRLF, CR and LF give identical tables, rows without
text and broken links counted and named. Each class is tested on variants, not one example."""

from __future__ import annotations

import codecs
import json
import os
import zlib

import pandas as pd
import pytest

from scalelaw import corpus, lengths, textfiles, tokenize

PROSE = (
    "The committee met on Monday. It approved the budget after a long debate.\n\n"
    "Members then left for the evening. A vote is planned for next week.\n"
)
WESTERN = "He said \u201cno\u201d \u2014 it\u2019s over. Caf\u00e9, na\u00efve r\u00e9sum\u00e9. Gr\u00fc\u00dfe aus M\u00fcnchen."


@pytest.mark.parametrize(
    "name, data, encoding",
    [
        ("cp1252 smart quotes", WESTERN.encode("cp1252"), "cp1252"),
        ("latin-1, short, 12% not UTF-8", "Le caf\u00e9 est tr\u00e8s bon. \u00c7a va.".encode("latin-1"), "cp1252"),
        ("ASCII with one NBSP byte", b"Plain ascii text here. " * 20 + b"\xa0more.", "cp1252"),
        ("Cyrillic cp1251", ("\u041f\u0440\u0438\u0432\u0435\u0442, \u043a\u0430\u043a \u0434\u0435\u043b\u0430? "
                             "\u042d\u0442\u043e \u0442\u0435\u043a\u0441\u0442. " * 3).encode("cp1251"), "cp1251"),
        ("Shift JIS", ("\u3053\u308c\u306f\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002" * 3).encode("shift_jis"),
         "cp932"),
        ("UTF-16 LE with BOM", codecs.BOM_UTF16_LE + WESTERN.encode("utf-16-le"), "utf-16-le"),
        ("UTF-16 BE with BOM", codecs.BOM_UTF16_BE + WESTERN.encode("utf-16-be"), "utf-16-be"),
        ("UTF-16 LE without BOM", WESTERN.encode("utf-16-le"), "utf-16-le"),
        ("UTF-32 with BOM", codecs.BOM_UTF32_LE + WESTERN.encode("utf-32-le"), "utf-32-le"),
        ("UTF-8 with BOM", codecs.BOM_UTF8 + WESTERN.encode(), "utf-8"),
        ("UTF-8 with a stray bad byte", WESTERN.encode() + b" \xff end.", "utf-8"),
        ("UTF-8 with one stray NUL", b"Mostly fine text with a stray \x00 in it. " * 2, "utf-8"),
        ("short text with two control characters", b"First part.\x07Second part.\x00 Third part.", "utf-8"),
    ],
)
def test_text_in_any_encoding_is_decoded_not_dropped(name, data, encoding):
    decoded = textfiles.decode(data)
    assert decoded is not None, name
    assert codecs.lookup(decoded.encoding).name == codecs.lookup(encoding).name, name
    if not any(word in name for word in ("stray", "NBSP", "control", "Cyrillic", "Shift")):
        assert decoded.text.rstrip() == WESTERN or "\u00e9" in decoded.text, name


def test_western_legacy_text_reads_exactly():
    assert textfiles.decode(WESTERN.encode("cp1252")).text == WESTERN
    assert textfiles.decode(codecs.BOM_UTF16_BE + WESTERN.encode("utf-16-be")).text == WESTERN


@pytest.mark.parametrize(
    "name, data",
    [
        ("random bytes", os.urandom(4000)),
        ("a few random bytes", os.urandom(200)),
        ("compressed text", zlib.compress(PROSE.encode() * 50)),
        ("every byte value", bytes(range(256)) * 40),
        ("PNG header and zeros", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(500)),
        ("text with 10% NUL", b"\x00" * 10 + b"x" * 80),
        ("terminal control codes", b"\x1b\x07\x08" * 100 + b"ok"),
    ],
)
def test_binary_is_recognised_by_content(name, data):
    assert textfiles.is_binary(data), name


def test_empty_file_is_empty_text_not_binary():
    assert textfiles.decode(b"").text == ""


def _files_corpus(tmp_path, files: dict[str, bytes], fmt="text", pattern="*.txt", **spec):
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    return corpus.load_corpus({"source": "files", "format": fmt, "paths": [pattern], **spec}, tmp_path)


def test_legacy_files_are_kept_and_counted_by_encoding(tmp_path):
    loaded = _files_corpus(tmp_path, {
        "utf8.txt": PROSE.encode(),
        "win.txt": (PROSE + WESTERN).encode("cp1252"),
        "wide.txt": codecs.BOM_UTF16_LE + PROSE.encode("utf-16-le"),
        "noise.txt": os.urandom(3000),
    })
    q = loaded.quality
    assert sorted(loaded.documents["doc_id"]) == ["utf8.txt", "wide.txt", "win.txt"]
    assert q["files_not_utf8"] == 2 and q["files_not_utf8_encodings"] == "cp1252 x1, utf-16-le x1"
    assert q["binary_files_dropped"] == 1 and q["binary_files_dropped_at"].endswith("noise.txt")
    assert q["byte_order_marks_stripped"] == 1
    assert loaded.documents.set_index("doc_id").loc["win.txt", "text"].endswith(WESTERN)


def _tables(docs: pd.DataFrame, gpt2) -> tuple[pd.DataFrame, pd.DataFrame]:
    return lengths.measure_documents(docs, gpt2, corpus="t")


@pytest.fixture(scope="module")
def gpt2():
    return tokenize.load_tokenizer("bundled:gpt2")


@pytest.mark.parametrize("fmt", ["text", "text_lines", "jsonl", "csv"])
def test_crlf_cr_and_lf_give_identical_tables(tmp_path, gpt2, fmt):
    """Words, tokens, chars and offsets are the same whatever the line endings."""
    texts = [PROSE + "Dr. Smith arrived.\nShe sat down.", "One more document here.\n\nWith two paragraphs."]
    results = {}
    for ending in ("\n", "\r\n", "\r"):
        folder = tmp_path / repr(ending).strip("'").replace("\\", "")
        folder.mkdir()
        if fmt == "text":
            for i, text in enumerate(texts):
                (folder / f"d{i}.txt").write_bytes(text.replace("\n", ending).encode())
            pattern = "*.txt"
        elif fmt == "text_lines":
            (folder / "l.txt").write_bytes(ending.join(t.replace("\n", " ") for t in texts).encode() + ending.encode())
            pattern = "l.txt"
        elif fmt == "jsonl":  # the line breaks inside the texts are JSON escapes
            rows = [json.dumps({"text": t.replace("\n", ending)}) for t in texts]
            (folder / "r.jsonl").write_bytes((ending.join(rows) + ending).encode())
            pattern = "r.jsonl"
        else:
            pd.DataFrame({"text": [t.replace("\n", ending) for t in texts]}).to_csv(
                folder / "r.csv", index=False, lineterminator=ending)
            pattern = "r.csv"
        loaded = corpus.load_corpus({"source": "files", "format": fmt, "paths": [pattern]}, folder)
        assert "\r" not in "".join(loaded.documents["text"])
        sentences, doc_lengths = _tables(loaded.documents, gpt2)
        results[ending] = (loaded.documents[["doc_id", "text"]], sentences, doc_lengths)
        if ending != "\n" and fmt in ("text", "jsonl", "csv"):
            assert loaded.quality["line_endings_normalised"] >= 1
    for ending in ("\r\n", "\r"):
        for lf, other in zip(results["\n"], results[ending]):
            pd.testing.assert_frame_equal(lf, other)


def test_jsonl_rows_without_text_are_named_null_apart_from_missing(tmp_path):
    rows = ['{"text": "A fine document here."}', '{"title": "no text key"}', '{"text": null}',
            '{"text": "Another fine one."}', '{"body": "x", "text": null}', '{"id": 7}']
    loaded = _files_corpus(tmp_path, {"a.jsonl": "\n".join(rows).encode()}, fmt="jsonl", pattern="*.jsonl")
    q = {k: v.replace(f"{tmp_path}/", "") if isinstance(v, str) else v for k, v in loaded.quality.items()}
    assert q["rows_missing_text_key"] == 2 and q["rows_missing_text_key_at"] == "a.jsonl:2 a.jsonl:6"
    assert q["rows_null_text"] == 2 and q["rows_null_text_at"] == "a.jsonl:3 a.jsonl:5"
    # every row accounted for: they are among the empty ones dropped
    assert q["documents_read"] == 6 and q["dropped_empty"] == 4 and q["documents_kept"] == 2


def test_csv_and_parquet_rows_without_text_are_named(tmp_path):
    (tmp_path / "a.csv").write_text("id,text\n1,Fine text here.\n2,\n3\n")
    loaded = corpus.load_corpus({"source": "files", "format": "csv", "paths": ["a.csv"]}, tmp_path)
    assert loaded.quality["rows_null_text"] == 2
    assert loaded.quality["rows_null_text_at"] == f"{tmp_path}/a.csv:row 2 {tmp_path}/a.csv:row 3"
    pd.DataFrame({"text": ["Words here.", None]}).to_parquet(tmp_path / "p.parquet")
    loaded = corpus.load_corpus({"source": "files", "format": "parquet", "paths": ["p.parquet"]}, tmp_path)
    assert loaded.quality["rows_null_text_at"] == f"{tmp_path}/p.parquet:row 2"


@pytest.mark.parametrize("pattern", ["docs/*.txt", "docs/**/*.txt", "docs/*"])
def test_a_broken_link_matched_by_a_glob_is_counted_and_named(tmp_path, pattern):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "a.txt").write_text(PROSE)
    os.symlink(tmp_path / "gone.txt", tmp_path / "docs" / "broken.txt")
    os.symlink("loop.txt", tmp_path / "docs" / "sub" / "loop.txt")  # points at itself
    loaded = corpus.load_corpus({"source": "files", "format": "text", "paths": [pattern]}, tmp_path)
    q = {k: v.replace(f"{tmp_path}/", "") if isinstance(v, str) else v for k, v in loaded.quality.items()}
    assert loaded.documents["doc_id"].tolist() == ["a.txt"]
    expected = ["docs/broken.txt"] + (["docs/sub/loop.txt"] if "**" in pattern else [])
    assert q["broken_links"] == len(expected) and q["broken_links_at"] == " ".join(expected)


def test_a_glob_of_only_broken_links_says_so(tmp_path):
    os.symlink(tmp_path / "gone.txt", tmp_path / "broken.txt")
    with pytest.raises(corpus.CorpusError, match="every file matched is a broken link: .*broken.txt"):
        corpus.load_corpus({"source": "files", "format": "text", "paths": ["*.txt"]}, tmp_path)


def test_an_unreadable_file_names_the_corpus_and_the_file(tmp_path):
    (tmp_path / "a.txt").write_text(PROSE)
    with pytest.raises(corpus.CorpusError, match=r"corpora\.mine: .*gone\.txt: cannot read: No such file"):
        corpus.load_corpus({"source": "files", "format": "text", "paths": ["*.txt"]}, tmp_path, name="mine",
                           files=[str(tmp_path / "a.txt"), str(tmp_path / "gone.txt")])
