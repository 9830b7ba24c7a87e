"""The conclusion drawn from b and b - b_null: a fixed vocabulary, and its sentence.

The decision uses two intervals at the fit's confidence level:

* b - b_null (the document-level null, resampled together with b, see nulls.py):
  above 0 -> ``longer_sentences``; below 0 -> ``shorter_sentences``: longer documents
  have longer (shorter) sentences than documents whose mean sentence length is
  unrelated to their length would show;
* otherwise b's own interval: excluding 0 -> ``indistinguishable_from_null`` (there is
  a trend in S against L, but the null produces it too: it is the ratio S = L / n at
  work, not a property of the texts); including 0 -> ``no_detectable_trend``;
* anything missing -> ``not_fitted``.

The report's sentence is made from the column by :func:`statement`, so the two cannot
disagree. A conclusion is ``robust`` only when every sensitivity variant (segmenter x
paragraph breaks) reaches the same one.
"""

from __future__ import annotations

import math
from typing import Iterable

__all__ = ["CONCLUSIONS", "conclude", "robust", "statement"]

CONCLUSIONS = (
    "longer_sentences",
    "shorter_sentences",
    "no_detectable_trend",
    "indistinguishable_from_null",
    "not_fitted",
)


def _finite(*values: float) -> bool:
    return all(v is not None and isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def conclude(b_low: float, b_high: float, d_low: float, d_high: float) -> str:
    """One word of :data:`CONCLUSIONS` from the interval of b and that of b - b_null."""
    if not _finite(b_low, b_high, d_low, d_high):
        return "not_fitted"
    if d_low > 0:
        return "longer_sentences"
    if d_high < 0:
        return "shorter_sentences"
    if b_low > 0 or b_high < 0:
        return "indistinguishable_from_null"
    return "no_detectable_trend"


def statement(conclusion: str, *, b: float = math.nan, b_low: float = math.nan, b_high: float = math.nan,
              b_null: float = math.nan, d: float = math.nan, d_low: float = math.nan, d_high: float = math.nan,
              confidence_level: float = 0.95, reason: str = "") -> str:
    """The plain-language sentence for a conclusion, with its numbers."""
    if conclusion not in CONCLUSIONS:
        raise ValueError(f"unknown conclusion {conclusion!r}; known: {', '.join(CONCLUSIONS)}")
    if conclusion == "not_fitted":
        return f"not_fitted (not fitted{': ' + reason if reason else ''})"
    pct = f"{100 * confidence_level:g}%"
    nums = (f"b = {b:.3g} ({pct} CI {b_low:.3g} to {b_high:.3g}); documents whose mean sentence length "
            f"is unrelated to their length give b_null = {b_null:.3g}; b - b_null = {d:.3g} "
            f"({pct} CI {d_low:.3g} to {d_high:.3g})")
    text = {
        "longer_sentences": "longer documents have longer sentences, beyond what the null gives",
        "shorter_sentences": "longer documents have shorter sentences than the null gives",
        "indistinguishable_from_null": "S changes with L, but no more than when S is unrelated to "
        "document length (the ratio S = L / n makes that trend)",
        "no_detectable_trend": "no trend of S with L is detectable",
    }[conclusion]
    return f"{conclusion}: {text}; {nums}"


def robust(conclusions: Iterable[str]) -> bool:
    """True when every variant reached the same fitted conclusion."""
    values = list(conclusions)
    return bool(values) and len(set(values)) == 1 and values[0] != "not_fitted"
