"""Two questions, two answers, each a word from a fixed vocabulary with its own sentence.

* ``trend`` answers the seed's question, *does S grow with L?*, from b's interval
  against 0: ``increasing`` | ``decreasing`` | ``no_detectable_trend`` | ``not_fitted``.
* ``vs_null`` answers *is there more to b than L = n S?*, from the interval of b - b_null,
  where b_null is b under the null in which a document's mean sentence length ignores
  its sentence count (nulls.py): ``longer_with_more_sentences`` |
  ``shorter_with_more_sentences`` | ``as_null`` | ``not_fitted``. Its sentence speaks of
  sentence counts, never of "longer documents": when S does not depend on L at all,
  b = 0 while b_null > 0 (documents with long sentences are long in words), so b - b_null
  is negative, and the true statement is that documents with *more sentences* have
  shorter sentences than if S ignored the count.

Each sentence is made from its word by :func:`trend_statement` and
:func:`vs_null_statement`, so a sentence and its column cannot disagree.
"""

from __future__ import annotations

import math
from typing import Iterable

__all__ = ["TRENDS", "VS_NULL", "agree", "trend", "trend_statement", "vs_null", "vs_null_statement"]

TRENDS = ("increasing", "decreasing", "no_detectable_trend", "not_fitted")
VS_NULL = ("longer_with_more_sentences", "shorter_with_more_sentences", "as_null", "not_fitted")


def _finite(*values) -> bool:
    return all(v is not None and isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _side(low: float, high: float, above: str, below: str, neither: str) -> str:
    """``above`` when an interval lies above 0, ``below`` when below, else ``neither``;
    ``not_fitted`` without a finite interval."""
    if not _finite(low, high):
        return "not_fitted"
    if low > 0:
        return above
    if high < 0:
        return below
    return neither


def trend(b_low: float, b_high: float) -> str:
    """A word of :data:`TRENDS` from b's interval."""
    return _side(b_low, b_high, "increasing", "decreasing", "no_detectable_trend")


def vs_null(d_low: float, d_high: float) -> str:
    """A word of :data:`VS_NULL` from the interval of b - b_null."""
    return _side(d_low, d_high, "longer_with_more_sentences", "shorter_with_more_sentences", "as_null")


def _ci(low: float, high: float, level: float) -> str:
    return f"{100 * level:g}% CI {low:.3g} to {high:.3g}"


def trend_statement(word: str, *, b: float = math.nan, b_low: float = math.nan, b_high: float = math.nan,
                    describes: str = "the geometric mean of S", unit: str = "words",
                    confidence_level: float = 0.95, reason: str = "") -> str:
    """The sentence for a ``trend`` word, with its numbers."""
    if word not in TRENDS:
        raise ValueError(f"unknown trend {word!r}; known: {', '.join(TRENDS)}")
    if word == "not_fitted":
        return f"trend not fitted{': ' + reason if reason else ''}"
    nums = f"b = {b:.3g} ({_ci(b_low, b_high, confidence_level)})"
    if word == "no_detectable_trend":
        return f"no trend of S with L is detectable: {nums} includes 0"
    per_doubling = 100 * (2 ** b - 1)
    direction = "longer" if word == "increasing" else "shorter"
    return (f"documents with more {unit} have {direction} sentences: {describes} changes by "
            f"{per_doubling:+.2g}% per doubling of L, {nums}")


def vs_null_statement(word: str, *, b_null: float = math.nan, d: float = math.nan, d_low: float = math.nan,
                      d_high: float = math.nan, confidence_level: float = 0.95, reason: str = "") -> str:
    """The sentence for a ``vs_null`` word, with its numbers; it speaks of sentence counts."""
    if word not in VS_NULL:
        raise ValueError(f"unknown vs_null {word!r}; known: {', '.join(VS_NULL)}")
    if word == "not_fitted":
        return f"comparison with the null not fitted{': ' + reason if reason else ''}"
    nums = (f"b - b_null = {d:.3g} ({_ci(d_low, d_high, confidence_level)}), where b_null = {b_null:.3g} "
            "is what b would be if mean sentence length ignored the sentence count")
    if word == "as_null":
        return f"L = n·S accounts for b: {nums}"
    direction = "longer" if word == "longer_with_more_sentences" else "shorter"
    return (f"documents with more sentences have {direction} sentences than if sentence length ignored "
            f"the sentence count: {nums}")


def agree(words: Iterable[str]) -> bool:
    """True when there is at least one word, all are the same, and none is not_fitted."""
    values = list(words)
    return bool(values) and len(set(values)) == 1 and values[0] != "not_fitted"
