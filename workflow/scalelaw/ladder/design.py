"""Which runs a ladder trains: a grid (sizes x token budgets) or an IsoFLOP design
(compute budgets x sizes, D = C / 6N). Each run is named by size and tokens, so adding a
size or a budget adds runs without renaming (or rerunning) the others."""

from __future__ import annotations

from typing import Any, Mapping

from .model import parameter_counts
from scalelaw.errors import DataError


class DesignError(DataError):
    """A ladder design that cannot be trained; the message names the config key."""


def run_name(size: str, tokens: int) -> str:
    return f"{size}_D{int(tokens)}"


def plan_runs(ladder: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per run: run, size, tokens, N (by ``parameter_count``), compute (6 N D) and,
    for an IsoFLOP design, the budget it belongs to."""
    sizes = list(ladder["sizes"])
    names = [s["name"] for s in sizes]
    if len(set(names)) != len(names):
        raise DesignError(f"ladder.sizes: duplicate size names {sorted({n for n in names if names.count(n) > 1})}")
    counts = {s["name"]: parameter_counts(s, int(ladder["vocab_size"])) for s in sizes}
    key = "params_" + ladder["parameter_count"]
    runs: dict[str, dict[str, Any]] = {}
    if ladder["design"] == "grid":
        if not ladder.get("tokens"):
            raise DesignError("ladder.tokens: a grid design needs token budgets")
        for s in sizes:
            for tokens in ladder["tokens"]:
                n = counts[s["name"]][key]
                runs[run_name(s["name"], tokens)] = {"size": s["name"], "tokens": int(tokens), "N": n,
                                                    "compute": 6.0 * n * tokens, "budget": None}
    else:
        if not ladder.get("compute"):
            raise DesignError("ladder.compute: an IsoFLOP design needs compute budgets (FLOPs)")
        seq = int(ladder["seq_len"]) * int(ladder["train"]["batch_size"])
        too_small = []
        for c in ladder["compute"]:
            for s in sizes:
                n = counts[s["name"]][key]
                tokens = int(round(float(c) / (6 * n)))
                if tokens < seq:
                    too_small.append(f"ladder.compute: budget {c:g} gives size {s['name']!r} {tokens} tokens, "
                                     f"less than one batch ({seq}); raise the budget or drop the size")
                    continue
                runs[run_name(s["name"], tokens)] = {"size": s["name"], "tokens": tokens, "N": n,
                                                    "compute": 6.0 * n * tokens, "budget": float(c)}
        if too_small:
            raise DesignError("\n".join(too_small))
    return [{"run": name, **spec, **counts[spec["size"]]} for name, spec in runs.items()]


def size_spec(ladder: Mapping[str, Any], size: str) -> dict[str, Any]:
    for s in ladder["sizes"]:
        if s["name"] == size:
            return dict(s)
    raise DesignError(f"ladder.sizes: no size named {size!r}")
