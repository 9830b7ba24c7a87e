"""Any table, any law: points from a CSV or Parquet file, named x columns and a y column
(each a column name or a pandas expression of columns), fitted with a law of the one
registry (:data:`scalelaw.fitting.laws.LAWS`) and reported like the ladder's own runs.

Every table is checked before any job (:func:`check`, called at parse time by
``workflow/rules/ladder.smk``) and again by the job itself: the file must parse (an error
names the file and its 1-based line), every column an expression names must exist (named
as the user wrote it), values must be numbers (a text value such as ``n/a`` is named as
text, with its column and first file line), finite and > 0 where the law takes logs, the
law must take as many x columns as ``x`` lists, and enough rows must remain for the law.
Missing values are dropped and counted (``missing: drop``) or are an error
(``missing: error``); ``drop_highest`` then drops the highest *real* y values.
"""

from __future__ import annotations

import csv
import io as _io
import math
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError
from ..fitting.law_intervals import fit_with_intervals
from ..fitting.laws import get_law
from ..fitting.result import FitResult

__all__ = ["LawTableError", "check", "fit", "load", "markdown", "prepare", "read_table"]

_NAME = re.compile(r"`([^`]*)`|\b([A-Za-z_][A-Za-z0-9_]*)\b")


class LawTableError(DataError):
    """A law table that cannot be fitted; the message names the config key, file and line."""


def read_table(path: str | Path) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The table as strings-or-numbers and, for a CSV, the 1-based file line of each row
    (a quoted field may span lines). Parse errors name the file and line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path), None
        except Exception as err:  # pyarrow raises several kinds for a damaged file
            raise LawTableError(f"{path}: not a readable Parquet file: {err}") from None
    if suffix != ".csv":
        raise LawTableError(f"{path}: a law table must be .csv or .parquet")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise LawTableError(f"{path}: cannot read: {err}") from None
    reader = csv.reader(_io.StringIO(text, newline=""), strict=True)
    records, lines, start = [], [], 1
    try:
        for record in reader:
            if record:
                records.append(record)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as err:
        what = "unterminated quote" if "unexpected end of data" in str(err) else str(err)
        raise LawTableError(f"{path}:{start}: {what} (a field opened with \" is never closed)"
                            if what == "unterminated quote" else f"{path}:{start}: {what}") from None
    if not records:
        raise LawTableError(f"{path}: empty file (no header line)")
    header, rows = records[0], records[1:]
    for record, line in zip(rows, lines[1:]):
        if len(record) != len(header):
            raise LawTableError(f"{path}:{line}: {len(record)} fields, the header (line {lines[0]}) has {len(header)}")
    frame = pd.read_csv(_io.StringIO(text, newline=""), dtype=str, keep_default_na=False)
    return frame, np.array(lines[1:], dtype=int)


def _referenced(expr: str, columns: list[str]) -> list[str]:
    """The names an expression uses, as written (backticked or bare identifiers)."""
    names = []
    for quoted, bare in _NAME.findall(expr):
        name = quoted if quoted else bare
        if quoted or name in columns or not _is_builtin(name):
            names.append(name)
    return names


def _is_builtin(name: str) -> bool:
    return name in {"log", "exp", "sqrt", "abs", "and", "or", "not", "True", "False", "e", "pi"}


def _numeric(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(values, missing, text) of a column read as strings: empty cells and the usual NA
    spellings are missing; anything else that is not a number is text."""
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype(float)
        return values, values.isna(), pd.Series(False, index=raw.index)
    s = raw.astype("string").str.strip()
    missing = s.isna() | s.isin(["", "NA", "NaN", "nan", "null", "None"])
    values = pd.to_numeric(s.where(~missing), errors="coerce").astype(float)
    text = values.isna() & ~missing
    return values, missing, text


def prepare(table: pd.DataFrame, spec: Mapping[str, Any], name: str = "table",
            lines: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The law's points from the table: every column ``spec['columns']`` defines and every
    x and y column, checked; missing values dropped and counted (or an error), then the
    ``drop_highest`` highest real y values dropped. Raises :class:`LawTableError` with every
    problem, one line each. Returns (points, counts)."""
    key = f"law_tables.{name}"
    where = str(spec.get("path", name))
    unit = "line" if lines is not None or str(where).lower().endswith(".csv") else "row"
    # a CSV's 1-based file line (the header is line 1); a Parquet file's 1-based row
    line_of = (lambda i: int(lines[i])) if lines is not None else (lambda i: i + (2 if unit == "line" else 1))
    problems: list[str] = []
    law = get_law(spec["law"]) if "law" in spec else None
    if law is not None and len(spec["x"]) != len(law.x_names):
        problems.append(f"{key}.x: law {law.name!r} takes {len(law.x_names)} x column(s) "
                        f"({', '.join(law.x_names)}), got {len(spec['x'])}: {list(spec['x'])}")
    defined = dict(spec.get("columns") or {})
    wanted = {col: defined.get(col, col) for col in [*spec["x"], spec["y"]]}
    columns = [str(c) for c in table.columns]
    missing_of: dict[str, pd.Series] = {}
    numeric, missing_any, sources, value_problems = {}, pd.Series(False, index=table.index), {}, []
    for col, expr in wanted.items():
        expr = str(expr)
        used = [expr] if expr in columns else _referenced(expr, columns)
        unknown = [u for u in used if u not in columns]
        if unknown or not used:
            shown = ", ".join(f"`{u}`" for u in unknown) or repr(expr)
            problems.append(f"{key}.columns.{col}: {shown} is not a column of {where} (columns: {', '.join(columns)})"
                            if col in defined else f"{key}: no column {expr!r} in {where} (columns: {', '.join(columns)})")
            continue
        sources[col] = used
        for src in used:
            if src in numeric:
                continue
            values, missing, text = _numeric(table[src])
            missing_of[src] = missing
            if text.any():
                i = int(np.argmax(text.to_numpy()))
                value_problems.append(f"{where}:{'' if unit == 'line' else 'row '}{line_of(i)}: column {src!r} has text "
                                f"{str(table[src].iloc[i]).strip()!r} ({int(text.sum())} text value(s) in the column)")
            numeric[src] = values
    if problems:
        raise LawTableError("\n".join(problems + value_problems))
    frame = pd.DataFrame(numeric)
    points = pd.DataFrame(index=table.index)
    for col, expr in wanted.items():
        expr = str(expr)
        try:
            points[col] = frame[expr] if expr in frame else pd.to_numeric(frame.eval(expr), errors="coerce")
        except Exception as err:  # pandas raises many kinds for a bad expression
            problems.append(f"{key}.columns.{col}: cannot compute {expr!r}: {err}")
            continue
        missing_any |= pd.concat([missing_of[src] for src in sources[col]], axis=1).any(axis=1)
    if problems:
        raise LawTableError("\n".join(problems + value_problems))
    problems = value_problems
    counts: dict[str, Any] = {"rows": int(len(points))}
    if missing_any.any():
        counts["dropped_missing"] = int(missing_any.sum())
        first = line_of(int(np.argmax(missing_any.to_numpy())))
        if spec.get("missing") == "error":  # the schema default, drop, when absent
            problems.append(f"{where}:{'' if unit == 'line' else 'row '}{first}: {int(missing_any.sum())} row(s) "
                                f"with a missing value in {', '.join(sorted({s for c in sources.values() for s in c}))} "
                                f"({key}.missing: error; set it to drop to drop and count them)")
    positions = np.arange(len(points))
    for col in points.columns:
        values = points[col].to_numpy(float)
        is_text = np.zeros(len(values), bool)
        for src in sources[col]:
            is_text |= (frame[src].isna() & ~missing_of[src]).to_numpy()
        bad = ~missing_any.to_numpy() & ~is_text & ~(np.isfinite(values) & ((values > 0) | (law is not None and not law.x_positive
                                                                                   and col != spec["y"])))
        if bad.any():
            i = int(np.argmax(bad))
            problems.append(f"{where}:{'' if unit == 'line' else 'row '}{line_of(i)}: {col} = {values[i]:g} "
                            f"({int(bad.sum())} value(s) of {col} not finite and > 0, as the law's log scale needs)")
    if problems:
        raise LawTableError("\n".join(problems))
    keep = ~missing_any.to_numpy()
    points, positions = points[keep], positions[keep]
    k = int(spec.get("drop_highest") or 0)
    if k:
        y = points[spec["y"]].to_numpy(float)
        threshold = np.sort(y)[-k] if k <= len(y) else -math.inf
        kept = y < threshold  # the recipe keeps the real losses below the k-th highest
        points, positions = points[kept], positions[kept]
        counts["dropped_highest_y"] = int((~kept).sum())
    counts["fitted"] = int(len(points))
    if law is not None and len(points) <= law.k:
        raise LawTableError(f"{key}: {len(points)} row(s) left to fit ({counts}); law {law.name!r} has {law.k} "
                            f"parameters and needs at least {law.k + 1}")
    return points.reset_index(drop=True), counts


def load(spec: Mapping[str, Any], name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read and prepare one configured table."""
    table, lines = read_table(spec["path"])
    return prepare(table, spec, name, lines)


def check(law_tables: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every problem of every configured table, one line each, before any job."""
    problems = []
    for name, spec in law_tables.items():
        path = Path(spec["path"])
        if not path.is_file():
            problems.append(f"law_tables.{name}.path: no file {str(path)!r}")
            continue
        try:
            load(spec, name)
        except LawTableError as err:
            problems += [line if line.startswith("law_tables.") else f"law_tables.{name}: {line}"
                         for line in str(err).splitlines()]
    return problems


def fit(points: pd.DataFrame, spec: Mapping[str, Any], name: str) -> FitResult:
    f = spec["fit"]
    law = get_law(spec["law"])
    x = points[list(spec["x"])].to_numpy(float)
    return fit_with_intervals(
        law, x if len(spec["x"]) > 1 else x[:, 0], points[spec["y"]].to_numpy(float),
        loss="huber", f_scale=float(f["huber_delta"]), n_starts=int(f["n_starts"]),
        n_resamples=int(f["n_bootstrap"]), confidence_level=float(f["confidence_level"]), seed=int(f["seed"]),
        unit=spec["n_unit"], analysis="law_table",
        group={"source": name, "x": list(spec["x"]), "y": spec["y"], "table": name},
    )


def _interval(p) -> str:
    if p.ci_method.startswith(("not identified", "no interval")):
        return p.ci_method
    return f"[{p.ci_low:.4g}, {p.ci_high:.4g}]" if math.isfinite(p.ci_low) else "none"


def markdown(name: str, spec: Mapping[str, Any], result: FitResult, counts: Mapping[str, Any]) -> str:
    dropped = []
    if counts.get("dropped_missing"):
        dropped.append(f"{counts['dropped_missing']} with a missing value dropped")
    if "dropped_highest_y" in counts:
        dropped.append(f"{counts['dropped_highest_y']} with the highest y dropped")
    level = f"{100 * result.confidence_level:g}%"
    lines = [f"# Law table `{name}`", "", f"Source: `{spec['path']}`; law {result.law}: {result.formula}; "
             f"x = {', '.join(spec['x'])}, y = {spec['y']}.", "",
             f"Rows read {counts['rows']}, fitted {counts['fitted']}" + (f" ({'; '.join(dropped)})." if dropped else "."),
             "", f"Estimator: {result.estimator}; " + (
                 "no resamples, too few rows for an interval (below)." if result.diagnostics.get("no_interval")
                 else f"{result.n_resamples} bootstrap resamples over {result.n_unit}."), "",
             f"| parameter | estimate | SE | {level} interval |", "|---|---|---|---|"]
    for pname, p in result.params.items():
        se = f"{p.se:.3g}" if math.isfinite(p.se) else "–"
        lines.append(f"| {pname} | {p.estimate:.4g} | {se} | {_interval(p)} |")
    if result.warnings:
        lines += ["", *[f"- {w}" for w in result.warnings]]
    return "\n".join(lines) + "\n"
