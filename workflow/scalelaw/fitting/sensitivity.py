"""Sensitivity of the conclusion to how sentences were cut: one row per variant.

A variant is a (segmenter, paragraph_breaks) pair: the same documents and tokens,
segmented another way (workflow/rules/lengths.smk measures each as its own job). The
conclusion counts as ``robust`` only when every variant reaches the same one, in that unit.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .conclusion import robust

__all__ = ["VARIANT_COLUMNS", "variant_name", "variants", "variant_table", "with_robustness"]

VARIANT_COLUMNS = [
    "corpus", "unit", "segmenter", "paragraph_breaks", "primary", "n", "b", "ci_low", "ci_high",
    "b_null", "b_minus_null", "b_minus_null_low", "b_minus_null_high", "conclusion",
]


def variant_name(segmenter: str, paragraph_breaks: bool) -> str:
    """A file-system name such as ``blingfire-no_breaks``."""
    return f"{segmenter}-{'breaks' if paragraph_breaks else 'no_breaks'}"


def variants(segmenters: Sequence[str], paragraph_breaks: Sequence[bool]) -> dict[str, dict[str, Any]]:
    """{name: {"segmenter", "paragraph_breaks"}} for every combination, in config order."""
    return {
        variant_name(s, p): {"segmenter": s, "paragraph_breaks": bool(p)}
        for s, p in itertools.product(segmenters, paragraph_breaks)
    }


def variant_table(summaries: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The summaries of every variant, the first one being the primary run, as one table."""
    frames = []
    for i, frame in enumerate(summaries):
        frame = frame.copy()
        frame["primary"] = i == 0
        frames.append(frame.reindex(columns=VARIANT_COLUMNS))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VARIANT_COLUMNS)
    return table.astype({"paragraph_breaks": "boolean", "primary": bool})


def with_robustness(primary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The primary summary with, per unit: ``robust``, the number of variants, the range
    of b across them and each variant's conclusion."""
    out = primary.copy()
    rows: list[Mapping[str, Any]] = []
    for unit in out["unit"]:
        sel = table[table["unit"] == unit]
        named = "; ".join(
            f"{r.segmenter}/{'breaks' if r.paragraph_breaks else 'no breaks'}: {r.conclusion}"
            for r in sel.itertuples(index=False)
        )
        rows.append({
            "robust": robust(sel["conclusion"]), "n_variants": int(len(sel)),
            "b_variant_min": sel["b"].min(), "b_variant_max": sel["b"].max(), "variant_conclusions": named,
        })
    return pd.concat([out.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
