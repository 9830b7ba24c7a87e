"""Robustness of the two answers: over segmentations, estimators and units.

A variant is a (segmenter, paragraph_breaks) pair: the same documents and tokens,
segmented another way (workflow/rules/lengths.smk measures each as its own job). Three
named flags, each True only when every member gives the same (trend, vs_null) and none
is not fitted: ``robust_segmentation`` (every variant, in that unit), ``robust_estimators``
(every estimator, in that unit), ``robust_units`` (every unit of the corpus); ``robust`` is
all three, and ``robustness`` says in words which one fails.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .conclusion import agree

__all__ = ["VARIANT_COLUMNS", "variant_name", "variants", "variant_table", "with_robustness"]

VARIANT_COLUMNS = [
    "corpus", "unit", "segmenter", "paragraph_breaks", "primary", "n", "b", "ci_low", "ci_high",
    "b_null", "b_minus_null", "b_minus_null_low", "b_minus_null_high", "trend", "vs_null",
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


def _answer(row) -> str:
    trend, vs_null = getattr(row, "trend", "not_fitted"), getattr(row, "vs_null", "not_fitted")
    return "not_fitted" if "not_fitted" in (trend, vs_null) else f"{trend} / {vs_null}"


def _variant_label(row) -> str:
    breaks = row.paragraph_breaks
    if pd.isna(row.segmenter) or pd.isna(breaks):
        return "primary" if row.primary else "variant"
    return f"{row.segmenter}/{'breaks' if breaks else 'no breaks'}"


def with_robustness(primary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The primary summary with, per unit: the three robustness flags and ``robust``, the
    number of variants, the range of b across them and each variant's answers."""
    out = primary.copy().reset_index(drop=True)
    unit_answers = [_answer(r) for r in out.itertuples(index=False)]
    units_agree = agree(unit_answers)
    rows: list[Mapping[str, Any]] = []
    for row in out.itertuples(index=False):
        sel = table[table["unit"] == row.unit]
        named = "; ".join(f"{_variant_label(r)}: {_answer(r)}" for r in sel.itertuples(index=False))
        flags = {
            "robust_segmentation": agree(_answer(r) for r in sel.itertuples(index=False)) if len(sel) else False,
            "robust_estimators": _answer(row) != "not_fitted" and not (getattr(row, "estimator_disagreement", "") or ""),
            "robust_units": units_agree,
        }
        failing = {"robust_segmentation": "segmentation variants differ",
                   "robust_estimators": "estimators differ", "robust_units": "units differ"}
        text = "; ".join(failing[k] for k, ok in flags.items() if not ok)
        rows.append({
            **flags, "robust": all(flags.values()),
            "robustness": "same answers over segmentations, estimators and units" if not text else text,
            "n_variants": int(len(sel)), "b_variant_min": sel["b"].min(), "b_variant_max": sel["b"].max(),
            "variant_answers": named,
        })
    return pd.concat([out, pd.DataFrame(rows)], axis=1)
