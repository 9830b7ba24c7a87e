"""Any table, any law: points from a CSV or Parquet file, named x columns and a y column
(each a column name or a pandas expression of columns), fitted with a law from the registry
(``scalelaw.fitting.ladder_laws.LADDER_LAWS``) and reported like the ladder's own runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..fitting import ladder_laws as laws
from ..fitting.result import FitResult


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise ValueError(f"{path}: a law table must be .csv or .parquet")


def prepare(table: pd.DataFrame, spec: Mapping[str, Any], name: str = "table") -> tuple[pd.DataFrame, dict[str, Any]]:
    """The columns the law needs, computed from ``spec['columns']`` (name -> expression),
    then the ``drop_highest`` largest y values removed; returns (points, counts)."""
    points = pd.DataFrame(index=table.index)
    for col, expr in (spec.get("columns") or {}).items():
        try:
            points[col] = pd.to_numeric(table.eval(str(expr)) if expr not in table.columns else table[expr])
        except Exception as err:  # pandas raises many kinds for a bad expression
            raise ValueError(f"law_tables.{name}.columns.{col}: cannot compute {expr!r}: {err}") from None
    for col in [*spec["x"], spec["y"]]:
        if col not in points:
            if col not in table.columns:
                raise ValueError(f"law_tables.{name}: no column {col!r} (columns: {', '.join(map(str, table.columns))})")
            points[col] = pd.to_numeric(table[col], errors="coerce")
    counts = {"rows": int(len(points))}
    k = int(spec.get("drop_highest") or 0)
    if k:
        threshold = np.sort(points[spec["y"]].to_numpy())[-k]
        points = points[points[spec["y"]] < threshold]  # the recipe keeps losses below the k-th highest
        counts["dropped_highest_y"] = counts["rows"] - int(len(points))
    counts["fitted"] = int(len(points))
    return points, counts


def fit(points: pd.DataFrame, spec: Mapping[str, Any], name: str) -> FitResult:
    f = spec["fit"]
    return laws.fit_table(
        points, spec["x"], spec["y"], spec["law"], source=name, group={"table": name},
        delta=float(f["huber_delta"]), n_starts=int(f["n_starts"]), n_bootstrap=int(f["n_bootstrap"]),
        confidence_level=float(f["confidence_level"]), seed=int(f["seed"]), analysis="law_table",
        n_unit=spec.get("n_unit", "points"),
    )


def markdown(name: str, spec: Mapping[str, Any], result: FitResult, counts: Mapping[str, Any]) -> str:
    lines = [f"# Law table `{name}`", "", f"Source: `{spec['path']}`; law {result.law}: {result.formula}; "
             f"x = {', '.join(spec['x'])}, y = {spec['y']}.", "",
             f"Rows read {counts['rows']}, fitted {counts['fitted']}"
             + (f" ({counts['dropped_highest_y']} with the highest y dropped)." if "dropped_highest_y" in counts else "."),
             "", f"Estimator: {result.estimator}; {result.n_resamples} bootstrap resamples over {result.n_unit}.", "",
             "| parameter | estimate | SE | 95% interval |", "|---|---|---|---|"]
    for pname, p in result.params.items():
        lines.append(f"| {pname} | {p.estimate:.4g} | {p.se:.3g} | [{p.ci_low:.4g}, {p.ci_high:.4g}] |")
    if result.warnings:
        lines += ["", *[f"- {w}" for w in result.warnings]]
    return "\n".join(lines) + "\n"
