"""The best law by AICc, said in plain words beside b (reads the fits table; pandas only).

b is the exponent of a power law; when another form fits the same points better, b
alone misleads (a curve that levels off has a small b over a wide range of L). So the
summary names the best law, how far behind the power law is (delta AICc, on the
log-S scale every law is fitted on), and what the best law says about S.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

__all__ = ["CLEAR_DELTA_AICC", "law_sentence"]

# Below this delta AICc the data do not tell the two laws apart (Burnham & Anderson 2002).
CLEAR_DELTA_AICC = 2.0


def _params(laws: pd.DataFrame, law: str) -> dict[str, float]:
    rows = laws[laws["law"] == law]
    return dict(zip(rows["parameter"], rows["estimate"]))


def _length(x: float) -> str:
    """A length for a sentence: 7,370 rather than 7.37e+03."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _in_range(x: float, L_range) -> bool:
    low, high = L_range
    return low is not None and high is not None and math.isfinite(x) and low < x < high


def _shape(best: str, p: dict[str, float], unit: str, L_range) -> str:
    """What the best law says about S, in words."""
    if best == "constant":
        return "S does not change with L"
    if best == "linear":
        return f"S changes linearly with L ({p.get('b', math.nan):+.3g} {unit} per {unit} of L)"
    if best == "menzerath_altmann":
        b, c = p.get("b", math.nan), p.get("c", math.nan)
        turn = -b / c if c else math.nan
        if b > 0 and c < 0:
            return (f"S rises until L ≈ {_length(turn)} {unit} and falls beyond" if _in_range(turn, L_range)
                    else "S rises ever more slowly with L")
        if b < 0 and c > 0:
            return (f"S falls until L ≈ {_length(turn)} {unit} and rises beyond" if _in_range(turn, L_range)
                    else "S falls ever more slowly with L")
        return "S bends away from a straight line in log-log"
    if best == "saturating_power":
        return f"S approaches {p.get('E', math.nan):.3g} {unit} as L grows"
    return f"S follows the {best} law"


def law_sentence(laws: pd.DataFrame, *, unit: str = "words", L_range=(None, None)) -> tuple[Any, float, str]:
    """(best law, delta AICc of the power law, sentence) from the law_comparison rows."""
    fitted = laws.dropna(subset=["aicc"]).drop_duplicates("law")
    if fitted.empty:
        return None, math.nan, ""
    best = fitted.loc[fitted["aicc"].idxmin(), "law"]
    deltas = {r.law: json.loads(r.diagnostics).get("delta_aicc", math.nan) for r in fitted.itertuples()}
    delta_power = float(deltas.get("power", math.nan))
    if best == "power":
        others = sorted((d, law) for law, d in deltas.items() if law != "power")
        if not others:
            return best, delta_power, "the power law is the only law fitted"
        d, law = others[0]
        closeness = "about as well" if d < CLEAR_DELTA_AICC else "less well"
        return best, delta_power, f"the power law fits best by AICc; the next law, {law}, fits {closeness} (ΔAICc {d:.1f})"
    shape = _shape(best, _params(laws, best), unit, L_range)
    if not math.isfinite(delta_power):
        return best, delta_power, f"best law by AICc: {best}: {shape}"
    if delta_power < CLEAR_DELTA_AICC:
        return best, delta_power, (f"the best law by AICc, {best}, fits about as well as the power law "
                                   f"(ΔAICc {delta_power:.1f}): b is a fair summary")
    return best, delta_power, (f"the power law is not the best law: {best} fits better by ΔAICc {delta_power:.1f}, "
                               f"and says {shape}; b summarises a curve")
