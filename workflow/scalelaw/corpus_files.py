"""Reading a ``files`` corpus: local text, JSON lines, CSV or Parquet files, read directly
(not through `datasets`) so that every error names its file and line, and everything
set aside is counted and named for the quality table (binary files, encodings, byte
order marks, rows without text, broken links). Bytes become text in ``scalelaw.textfiles``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scalelaw import textfiles
from scalelaw.errors import DataError

# a lone UTF-16 surrogate (from a JSON escape): no UTF-8 file can hold one
SURROGATE = re.compile("[\ud800-\udfff]")
# how many rows or files a quality-table cell names before it says "..."
NAMED_AT_MOST = 20


class CorpusError(DataError):
    pass


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
        hits = len(SURROGATE.findall(value))
        if hits:
            counts["surrogates_replaced"] = counts.get("surrogates_replaced", 0) + hits
            return SURROGATE.sub("\ufffd", value)
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


def load_files(spec: Mapping[str, Any], base_dir: str | os.PathLike, files: list[str] | None = None):
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
        assign_ids(frame, spec, prefix="row" if fmt != "text_lines" else "line")
    digest = hashlib.sha256(json.dumps([os.path.abspath(f) for f in files]).encode()).hexdigest()[:16]
    return frame, f"files:{digest}", _named_cells(counts)


def assign_ids(frame: pd.DataFrame, spec: Mapping[str, Any], prefix: str) -> None:
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
