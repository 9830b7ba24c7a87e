"""The ladder's plan: which runs it trains, their names and settings, its files, and every
check of the ``ladder:`` and ``law_tables:`` sections, made once before any job.

``workflow/rules/ladder.smk`` builds one :class:`LadderPlan` at parse time and asks it
everything (beside :class:`scalelaw.sweep_plan.SweepPlan` for generation). The sections
come in validated: Snakemake's ``validate`` has filled every default from
``workflow/schemas/config.schema.yaml`` (the one place for defaults), so nothing here
restates a default.

:func:`ladder_problems` lists every mistake the schema cannot see, one line each naming the
config key: a corpus not in use, a size whose shape the model cannot take (d_model not a
multiple of n_heads, an odd head dimension, which rotary embeddings cannot rotate), a
token budget below one batch, a design from which no law can be fitted, and every problem
of every law table (:func:`scalelaw.ladder.tables.check`: the file is read and checked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..config import canonical
from ..errors import DataError
from . import design

__all__ = ["LadderConfigError", "LadderPlan", "ladder_problems", "plan_ladder"]

FIGURES = {
    "loss_vs_n": "figures/loss_vs_N.png",
    "loss_vs_d": "figures/loss_vs_D.png",
    "frontier": "figures/compute_frontier.png",
    "curves": "figures/loss_curves.png",
}
TABLE_REPORT = "results/tables/{law_table}/report.md"


class LadderConfigError(DataError):
    """Mistakes in the ladder or law_tables sections, one line each."""


@dataclass(frozen=True)
class LadderPlan:
    enabled: bool
    settings: Mapping[str, Any] = field(default_factory=dict)  # the validated ladder section
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # run name -> design.plan_runs row
    law_tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def directory(self) -> str:
        return f"results/{self.settings.get('corpus') or '_disabled'}/ladder"

    @property
    def gpu(self) -> int:
        return 1 if str(self.settings.get("device", "")).startswith("cuda") else 0

    def path(self, relative: str) -> str:
        return f"{self.directory}/{relative}"

    def figures(self) -> dict[str, str]:
        return {key: self.path(rel) for key, rel in FIGURES.items()}

    def run_files(self) -> list[str]:
        return [self.path(f"runs/{run}.parquet") for run in self.runs]

    def targets(self) -> list[str]:
        """Final outputs of the ladder and of every law table (none when neither is set)."""
        out = [self.path("report.md"), *self.figures().values()] if self.enabled else []
        return out + [TABLE_REPORT.format(law_table=name) for name in self.law_tables]

    def wildcard_pattern(self, kind: str) -> str:
        """A regular expression matching exactly the run names (``"run"``) or law table
        names (``"law_table"``)."""
        names = list(self.runs if kind == "run" else self.law_tables)
        return "|".join(map(re.escape, names)) if names else "a^"

    def run_params(self, run: str) -> dict[str, Any]:
        """What decides one training run: its size, its budget and the training settings."""
        spec = self.runs[run]
        return {"size": design.size_spec(self.settings, spec["size"]), "tokens": spec["tokens"],
                "train": self.settings["train"], "device": self.settings["device"], "dtype": self.settings["dtype"]}

    def job_params(self, wildcards) -> dict[str, Any]:
        """The ladder_train job's ``spec`` param, canonical (key order fixed)."""
        return canonical(self.run_params(wildcards.run))

    def model_dir(self, size: str) -> str:
        """The Hugging Face folder of the largest-budget run of ladder size ``size``."""
        runs = [r for r in self.runs.values() if r["size"] == size]
        if not runs:
            raise LadderConfigError(f"ladder.sizes: no size named {size!r} in the ladder (sizes: "
                                    f"{', '.join(sorted({r['size'] for r in self.runs.values()}))})")
        largest = max(runs, key=lambda r: (r["tokens"], r["run"]))
        return self.path(f"models/{largest['run']}")

    def budgets(self) -> dict[str, float | None]:
        """Run -> compute budget of an IsoFLOP design (None for grid runs)."""
        return {name: r["budget"] for name, r in self.runs.items()}

    def table_spec(self, name: str) -> Mapping[str, Any]:
        return self.law_tables[name]


def _size_problems(ladder: Mapping[str, Any]) -> list[str]:
    problems = []
    for i, size in enumerate(ladder.get("sizes") or []):
        key = f"ladder.sizes[{i}] ({size.get('name')})"
        d, heads = int(size["d_model"]), int(size["n_heads"])
        if d % heads:
            problems.append(f"{key}: d_model {d} is not a multiple of n_heads {heads}")
        elif (d // heads) % 2:
            problems.append(f"{key}: head dimension d_model / n_heads = {d // heads} is odd; rotary position "
                            "embeddings need an even one")
    return problems


def _budget_problems(ladder: Mapping[str, Any]) -> list[str]:
    batch_tokens = int(ladder["train"]["batch_size"]) * int(ladder["seq_len"])
    if ladder.get("design") != "grid":
        return []
    return [f"ladder.tokens: budget {t} is less than one batch (train.batch_size {ladder['train']['batch_size']} "
            f"x seq_len {ladder['seq_len']} = {batch_tokens} tokens); raise it to at least {batch_tokens}"
            for t in ladder.get("tokens") or [] if int(t) < batch_tokens]


def _design_problems(runs: list[dict[str, Any]], ladder: Mapping[str, Any]) -> list[str]:
    """A design from which no law can be fitted: L(N, D) needs 2 sizes, 2 budgets and 6
    runs; L(N) at one budget or L(D) at one size 4 points; Approach 2 2 budgets of 3 sizes."""
    sizes = {r["N"] for r in runs}
    tokens = {r["tokens"] for r in runs}
    if len(runs) >= 6 and len(sizes) >= 2 and len(tokens) >= 2:
        return []
    per_budget: dict[Any, set] = {}
    per_size: dict[Any, set] = {}
    for r in runs:
        per_budget.setdefault(r["budget"] if r["budget"] is not None else r["tokens"], set()).add(r["N"])
        per_size.setdefault(r["N"], set()).add(r["tokens"])
    if max(map(len, per_budget.values()), default=0) >= 4 or max(map(len, per_size.values()), default=0) >= 4:
        return []
    key = "ladder.compute" if ladder.get("design") == "isoflop" else "ladder.sizes / ladder.tokens"
    return [f"{key}: {len(sizes)} size(s) x {len(tokens)} token budget(s) = {len(runs)} run(s): no law can be "
            "fitted (L(N, D) needs at least 2 sizes, 2 budgets and 6 runs; L(N) or L(D) 4 points along one axis)"]


def ladder_problems(config: Mapping[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Every mistake in the ladder and law_tables sections (one line each) and the planned runs."""
    ladder = config.get("ladder") or {}
    problems: list[str] = []
    runs: list[dict[str, Any]] = []
    if ladder.get("enabled"):
        corpora = list(config.get("use_corpora") or [])
        if ladder.get("corpus") not in corpora:
            problems.append(f"ladder.corpus: {ladder.get('corpus')!r} is not in use_corpora ({', '.join(corpora)})")
        problems += _size_problems(ladder) + _budget_problems(ladder)
        if not problems:
            try:
                runs = design.plan_runs(ladder)
            except design.DesignError as err:
                problems += str(err).splitlines()
            else:
                problems += _design_problems(runs, ladder)
    if config.get("law_tables"):
        from . import tables  # here: it imports the fitting layer (scipy), which most runs do not need

        problems += tables.check(config["law_tables"])
    return problems, runs


def plan_ladder(config: Mapping[str, Any]) -> LadderPlan:
    """The plan of a validated config; :class:`LadderConfigError` lists every mistake."""
    problems, runs = ladder_problems(config)
    if problems:
        raise LadderConfigError("\n".join(problems))
    ladder = dict(config.get("ladder") or {})
    return LadderPlan(enabled=bool(ladder.get("enabled")), settings=ladder, runs={r["run"]: r for r in runs},
                      law_tables=dict(config.get("law_tables") or {}))
