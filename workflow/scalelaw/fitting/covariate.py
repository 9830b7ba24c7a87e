"""Does another document column (``report.color_by``, e.g. the year) explain S better than L?

When documents differ in their level of S for a reason of their own (era, author,
genre), that reason can explain S better than document length does, and it can make a
trend in L appear or vanish. The check compares how much of the variance of log S
each explains: log L (a line), the column (its groups: the distinct values of a
column with at most ``MAX_GROUPS`` of them, else ``N_BINS`` equal-count bins of a
numeric one), and both together. Adjusted R^2, so that the many groups of a column
are not favoured for their number alone. numpy and pandas only: the report job runs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .summary import usable_documents

__all__ = ["MAX_GROUPS", "N_BINS", "covariate_check"]

MAX_GROUPS = 12
N_BINS = 10


def _adjusted_r2(y: np.ndarray, X: np.ndarray) -> float:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    rss = float(np.sum((y - X @ beta) ** 2))
    tss = float(np.sum((y - y.mean()) ** 2))
    rank = np.linalg.matrix_rank(X)
    if tss <= 0 or y.size - rank <= 0:
        return float("nan")
    return 1.0 - (rss / (y.size - rank)) / (tss / (y.size - 1))


def _groups(values: pd.Series) -> tuple[np.ndarray, str]:
    numeric = pd.to_numeric(values, errors="coerce")
    if values.nunique() <= MAX_GROUPS or numeric.isna().any():
        codes = pd.factorize(values.astype(str))[0]
        return codes, f"{values.nunique()} values"
    bins = pd.qcut(numeric.rank(method="first"), N_BINS, labels=False)
    return np.asarray(bins, dtype=int), f"{N_BINS} equal-count bins"


def covariate_check(docs: pd.DataFrame, unit: str, column: str, *, corpus: str = "") -> dict[str, Any] | None:
    """Adjusted R^2 of log S on log L, on ``column`` and on both, and a sentence; None when
    the documents have no such column. Documents without a value are counted, not used."""
    if not column or column not in docs.columns:
        return None
    used, _ = usable_documents(docs, unit, corpus=corpus)
    has_value = used[column].notna()
    used = used[has_value]
    n_missing = int((~has_value).sum())
    out: dict[str, Any] = {"corpus": corpus, "unit": unit, "column": column, "n": len(used), "n_missing": n_missing}
    if len(used) < 3 or used[column].nunique() < 2:
        out["statement"] = f"{column} cannot be checked: {used[column].nunique()} distinct value(s) in {len(used)} documents"
        out["explains_better"] = None
        return out
    y = np.log(used[f"S_{unit}_mean"].to_numpy(float))
    x = np.log(used[f"L_{unit}"].to_numpy(float))
    codes, described = _groups(used[column])
    G = np.eye(codes.max() + 1)[codes]
    ones = np.ones((y.size, 1))
    r2_L = _adjusted_r2(y, np.column_stack([ones, x]))
    r2_col = _adjusted_r2(y, G)
    r2_both = _adjusted_r2(y, np.column_stack([G, x]))
    better = bool(r2_col > r2_L)
    verdict = "explains S better than L does" if better else "does not explain S better than L does"
    out.update(groups=described, adj_r2_L=r2_L, adj_r2_column=r2_col, adj_r2_both=r2_both, explains_better=better,
               statement=(f"{column} ({described}) {verdict}: adjusted R² of log S {r2_col:.2f} on {column}, "
                          f"{r2_L:.2f} on log L, {r2_both:.2f} on both"))
    return out
