"""Sentence segmentation and length measurement, per sentence and per document.

Units:
- words: maximal runs of letters or digits (with inner apostrophes and hyphens); in
  Chinese and Japanese script, which has no spaces, each Han or kana character counts as
  one word-unit;
- tokens: the tokenizer's tokens, each assigned to the sentence that holds its last
  character (so sentence counts add up to the document's token count);
- chars: non-whitespace characters.

Segmentation: blank lines are hard boundaries (headings and salutations end there even
without a full stop); inside each paragraph a segmenter splits sentences (nupunkt by
default, chosen from measurements: fastest of the accurate ones, best on abbreviations,
quotes and ellipses); full-width terminators 。！？ always end a sentence, since none of
the English segmenters knows them. Sentences with no word are fragments ("...", "--"):
they are dropped and counted per document.

Pathological documents: a paragraph longer than SEGMENT_CHUNK_CHARS is segmented in
windows of that size (each window's last, possibly cut, sentence is redone in the next
one), so memory stays bounded; a sentence longer than a window (a text with no
terminator) is cut at a space near the window's end. Sentences over
``long_sentence_words`` words are flagged (``is_long``) and counted per document; a
document with more than ``max_long_share`` of its words in such sentences gets status
"long_sentences" and is left out of fits (its S would measure a missing terminator, not
writing).
"""

from __future__ import annotations

import re
import sys
from typing import Callable

import numpy as np
import pandas as pd
from scalelaw.errors import DataError

SEGMENTERS = ("nupunkt", "blingfire", "cjk")
UNITS = ("words", "tokens", "chars")

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:['’\-][^\W_{_CJK}]+)*")
# The code points str.isspace() and the regex \s call whitespace (29 in current Unicode):
# n_chars counts the others with numpy over the text's code points, not one regex match
# per character (which took a fifth of the lengths step).
_SPACE_CODES = np.array([c for c in range(sys.maxunicode + 1) if chr(c).isspace()], dtype=np.uint32)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_CJK_TERMINATOR = re.compile(r"[。！？]+[」』”’）)]*")

SENTENCE_COLUMNS = [
    "corpus", "doc_id", "sentence_index", "char_start", "char_end", "n_words", "n_tokens", "n_chars", "is_long",
]
_COUNT_COLUMNS = ["char_start", "char_end", "n_words", "n_tokens", "n_chars"]

# Segmentation window for long paragraphs (characters): nupunkt holds a Python object per
# word of what it is given, about 1 GB for a 50 MB paragraph in one piece.
SEGMENT_CHUNK_CHARS = 200_000
# Code points per step when counting non-whitespace characters (bounded numpy buffers).
_CHAR_CHUNK = 1 << 20
_WORD_END = re.compile(r"\S(?=\s)")
_NONSPACE = re.compile(r"\S")
LONG_SENTENCE_WORDS = 250
MAX_LONG_SHARE = 0.5


class SegmenterError(DataError):
    pass


def _nupunkt(text: str) -> list[tuple[int, int]]:
    import nupunkt

    return list(nupunkt.sent_spans(text))


def _blingfire(text: str) -> list[tuple[int, int]]:
    import blingfire

    _, offsets = blingfire.text_to_sentences_and_offsets(text)
    return [tuple(o) for o in offsets]


def _whole(text: str) -> list[tuple[int, int]]:
    return [(0, len(text))]


_SPLITTERS: dict[str, Callable[[str], list[tuple[int, int]]]] = {
    "nupunkt": _nupunkt,
    "blingfire": _blingfire,
    "cjk": _whole,  # terminators only, applied to every segmenter's output below
}


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _split_cjk(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cursor = [], start
    for match in _CJK_TERMINATOR.finditer(text, start, end):
        spans.append((cursor, match.end()))
        cursor = match.end()
    spans.append((cursor, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _split_long(text: str, start: int, end: int, split) -> list[tuple[int, int]]:
    """Spans of text[start:end], segmented whole when short, else window by window."""
    if end - start <= SEGMENT_CHUNK_CHARS:
        return [(start + s, start + e) for s, e in split(text[start:end])]
    spans, cursor = [], start
    while cursor < end:
        stop = min(cursor + SEGMENT_CHUNK_CHARS, end)
        if stop < end:  # cut after a word, never inside one
            cut = None
            for cut in _WORD_END.finditer(text, cursor + SEGMENT_CHUNK_CHARS // 2, stop):
                pass
            stop = cut.end() if cut else stop
        pieces = split(text[cursor:stop])
        if stop < end and len(pieces) > 1:
            spans += [(cursor + s, cursor + e) for s, e in pieces[:-1]]
            cursor += pieces[-1][0]  # the last sentence may go on: redo it in the next window
        else:
            spans += [(cursor + s, cursor + e) for s, e in pieces]
            cursor = stop
    return spans


def segment(text: str, segmenter: str = "nupunkt", paragraph_breaks: bool = True) -> list[tuple[int, int]]:
    """Sentence character spans ``(start, end)`` of ``text``, trimmed of whitespace."""
    try:
        split = _SPLITTERS[segmenter]
    except KeyError:
        raise SegmenterError(
            f"unknown segmenter {segmenter!r}; choose one of {', '.join(SEGMENTERS)}"
        ) from None
    blocks = _paragraphs(text) if paragraph_breaks else [(0, len(text))]
    spans = []
    for block_start, block_end in blocks:
        if _NONSPACE.search(text, block_start, block_end) is None:
            continue
        for s, e in _split_long(text, block_start, block_end, split):
            for cs, ce in _split_cjk(text, s, e):
                trimmed = _trim(text, cs, ce)
                if trimmed:
                    spans.append(trimmed)
    return spans


def _count_in_spans(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many sorted ``positions`` fall in each half-open span [start, end)."""
    return np.searchsorted(positions, ends, side="left") - np.searchsorted(positions, starts, side="left")


def _nonspace_at(text: str, positions: np.ndarray) -> np.ndarray:
    """For each of the sorted ``positions``, the number of non-whitespace characters in
    ``text[:position]``; computed a chunk at a time, so memory does not grow with the text."""
    out = np.zeros(positions.size, dtype=np.int64)
    done, total = 0, 0
    for start in range(0, len(text) + 1, _CHAR_CHUNK):
        stop = min(start + _CHAR_CHUNK, len(text))
        codes = np.frombuffer(text[start:stop].encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        prefix = np.zeros(codes.size + 1, dtype=np.int64)
        np.cumsum(~np.isin(codes, _SPACE_CODES), out=prefix[1:])
        upto = np.searchsorted(positions, stop, side="right")
        out[done:upto] = total + prefix[positions[done:upto] - start]
        done, total = upto, total + int(prefix[-1])
        if done == positions.size:
            break
    return out


def measure_text(
    text: str,
    token_ends: np.ndarray | None,
    segmenter: str = "nupunkt",
    paragraph_breaks: bool = True,
    long_sentence_words: int = LONG_SENTENCE_WORDS,
) -> tuple[pd.DataFrame, int]:
    """Per-sentence lengths of one text; returns (sentences, fragments dropped).

    ``token_ends`` are the tokenizer's end offsets; each token is counted in the sentence
    holding its last character (end - 1). Tokens falling between sentences (whitespace
    tokens) belong to no sentence.
    """
    spans = segment(text, segmenter, paragraph_breaks)
    if not spans:
        return pd.DataFrame(columns=SENTENCE_COLUMNS[2:]), 0
    starts = np.fromiter((s for s, _ in spans), dtype=np.int64, count=len(spans))
    ends = np.fromiter((e for _, e in spans), dtype=np.int64, count=len(spans))
    word_starts = np.fromiter((m.start() for m in _WORD.finditer(text)), dtype=np.int64)
    n_words = _count_in_spans(word_starts, starts, ends)
    del word_starts
    bounds = np.concatenate([starts, ends])
    order = np.argsort(bounds, kind="stable")
    nonspace = np.empty_like(bounds)
    nonspace[order] = _nonspace_at(text, bounds[order])
    n_chars = nonspace[len(spans):] - nonspace[: len(spans)]
    if token_ends is None:
        n_tokens = np.zeros(len(spans), dtype=np.int64)
    else:
        last_chars = np.sort(np.asarray(token_ends, dtype=np.int64) - 1)
        n_tokens = _count_in_spans(last_chars, starts, ends)
    keep = n_words > 0
    frame = pd.DataFrame(
        {
            "char_start": starts[keep],
            "char_end": ends[keep],
            "n_words": n_words[keep],
            "n_tokens": n_tokens[keep],
            "n_chars": n_chars[keep],
            "is_long": n_words[keep] > long_sentence_words,
        }
    )
    frame.insert(0, "sentence_index", np.arange(len(frame), dtype=np.int32))
    return frame, int((~keep).sum())


def _empty_sentences() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "corpus": pd.Series(dtype="string"),
            "doc_id": pd.Series(dtype="string"),
            "sentence_index": pd.Series(dtype="int32"),
            **{c: pd.Series(dtype="int64") for c in _COUNT_COLUMNS},
            "is_long": pd.Series(dtype="bool"),
        }
    )


def document_lengths(
    sentences: pd.DataFrame, docs: pd.DataFrame, corpus: str, max_long_share: float = MAX_LONG_SHARE
) -> pd.DataFrame:
    """One row per document of ``docs``, including those with no usable sentence.

    ``docs`` needs doc_id, n_tokens_document, n_fragments and is_blank. ``L_tokens``
    counts tokens inside sentences; ``n_tokens_document`` all of the document's tokens
    (the difference is whitespace between sentences and dropped fragments). ``status``
    says why a document is unusable for fitting ("empty": no visible character,
    "no_words": text but no word, "long_sentences": more than ``max_long_share`` of its
    words in sentences flagged ``is_long``).
    """
    grouped = sentences.groupby("doc_id", sort=False)
    stats = {"n_sentences": grouped.size()}
    for unit in UNITS:
        column = grouped[f"n_{unit}"]
        stats[f"L_{unit}"] = column.sum()
        stats[f"S_{unit}_mean"] = column.mean()
        stats[f"S_{unit}_median"] = column.median()
        stats[f"S_{unit}_sd"] = column.std(ddof=1)
    stats["n_long_sentences"] = grouped["is_long"].sum()
    stats["long_sentence_words"] = sentences["n_words"].where(sentences["is_long"], 0).groupby(
        sentences["doc_id"], sort=False).sum()
    per_doc = pd.DataFrame(stats)
    out = docs[["doc_id", "n_tokens_document", "n_fragments", "is_blank"]].merge(
        per_doc, left_on="doc_id", right_index=True, how="left"
    )
    for column in ["n_sentences", "n_long_sentences", "long_sentence_words"] + [f"L_{u}" for u in UNITS]:
        out[column] = out[column].fillna(0).astype("int64")
    for column in [c for c in out.columns if c.startswith("S_")]:
        out[column] = out[column].astype("float64")
    long_share = out["long_sentence_words"] / out["L_words"].where(out["L_words"] > 0)
    out["status"] = np.where(
        out["n_sentences"] > 0,
        np.where(long_share.fillna(0).to_numpy() > max_long_share, "long_sentences", "ok"),
        np.where(out["is_blank"], "empty", "no_words"),
    )
    out.insert(0, "corpus", corpus)
    return out.drop(columns=["is_blank", "long_sentence_words"]).reset_index(drop=True)


def measure_documents(
    docs: pd.DataFrame,
    tokenizer=None,
    *,
    segmenter: str = "nupunkt",
    paragraph_breaks: bool = True,
    corpus: str = "",
    token_ends: list[np.ndarray] | None = None,
    long_sentence_words: int = LONG_SENTENCE_WORDS,
    max_long_share: float = MAX_LONG_SHARE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sentences and document lengths of ``docs`` (columns doc_id, text).

    Pass either a ``tokenizer`` (texts are tokenized here) or precomputed ``token_ends``
    aligned with ``docs`` (the pipeline's tokenize stage); with neither, token counts are 0.
    """
    texts = docs["text"].tolist()
    if token_ends is None and tokenizer is not None:
        from scalelaw.tokenize import token_ends as compute_token_ends

        token_ends = compute_token_ends(texts, tokenizer)
    frames, fragments, blank = [], [], []
    for i, (doc_id, text) in enumerate(zip(docs["doc_id"], texts)):
        frame, dropped = measure_text(
            text, None if token_ends is None else token_ends[i], segmenter, paragraph_breaks,
            long_sentence_words,
        )
        if len(frame):
            frame.insert(0, "doc_id", doc_id)
            frames.append(frame)
        fragments.append(dropped)
        blank.append(not text.strip())
    sentences = pd.concat(frames, ignore_index=True) if frames else _empty_sentences().drop(columns="corpus")
    sentences.insert(0, "corpus", corpus)
    sentences = sentences.astype(
        {"corpus": "string", "doc_id": "string", "sentence_index": "int32",
         **{c: "int64" for c in _COUNT_COLUMNS}, "is_long": "bool"}
    )
    doc_info = pd.DataFrame(
        {
            "doc_id": docs["doc_id"].astype("string").to_numpy(),
            "n_tokens_document": [len(t) for t in token_ends] if token_ends is not None else 0,
            "n_fragments": fragments,
            "is_blank": blank,
        }
    )
    return sentences, document_lengths(sentences, doc_info, corpus, max_long_share)


def shard_token_ends(tokens, docs: pd.DataFrame, source: str) -> list[np.ndarray]:
    """Token end offsets per document from a tokenize shard (an Arrow table with doc_id and
    token_ends), after checking that it holds exactly ``docs``, in order."""
    if tokens.column("doc_id").to_pylist() != docs["doc_id"].tolist():
        raise ValueError(f"{source} does not match the documents of its shard")
    if not len(docs):
        return []
    ends = tokens.column("token_ends").combine_chunks()
    return np.split(ends.values.to_numpy(), ends.offsets.to_numpy()[1:-1])


def measure_options(options) -> dict:
    """The keyword arguments of :func:`measure_documents` from the config's ``lengths`` section."""
    return {
        "segmenter": options["segmenter"],
        "paragraph_breaks": options["paragraph_breaks"],
        "long_sentence_words": options["long_sentence_words"],
        "max_long_share": options["max_long_sentence_share"],
    }
