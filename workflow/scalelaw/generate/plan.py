"""The generation sweep's plan: which files the grid makes and the settings of each job.

``workflow/rules/generate.smk`` asks this module everything it needs at parse time, so
the rules stay declarations. The ``generate:`` section comes in validated: Snakemake's
``validate`` has filled every default from ``workflow/schemas/config.schema.yaml`` (the
one place for defaults), so nothing here restates a default.

The grid is models x prompt_tokens x decoding x max_new_tokens x seeds, one job and one
Parquet file per cell. Prompts depend only on (prompt_tokens, seed) and the per-prompt
loss only on (model, prompt_tokens, seed), so adding a value to one axis plans only the
cells (and prompt and loss files) that value adds.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from scalelaw.config import canonical
from scalelaw.generate.decoding import decoding_settings
from scalelaw.generate.engines import require_backend
from scalelaw.generate.errors import SweepError
from scalelaw.generate.sources import resolve_gguf_path
from scalelaw.generate.specs import expand_ladder_entry, parse_model_spec

CELL_PATH = "cells/{gen_model}/p{prompt_tokens}/{decoding}/m{max_new_tokens}/s{seed}.parquet"
CT2_DIR = "results/models_ct2/{gen_model}"  # the model converted for generate.backend ctranslate2
PROMPT_PATH = "prompts/p{prompt_tokens}_s{seed}.parquet"
LOSS_PATH = "loss/{gen_model}/p{prompt_tokens}_s{seed}.parquet"
HAZARD_PATH = "hazard/{gen_model}.parquet"  # the end-of-text hazard of one model
MODEL_DIR = "results/models/{gen_model}"
FIGURES = {
    "length": "figures/generated_length_vs_prompt.png",
    "s_vs_l": "figures/s_vs_l_generated_vs_human.png",
    "loss_size": "figures/loss_vs_size.png",
    "hazard": "figures/eos_hazard.png",
}


@dataclass(frozen=True)
class SweepPlan:
    enabled: bool
    corpus: str = ""
    models: dict[str, Any] = field(default_factory=dict)  # name -> scalelaw.generate.specs.ModelSpec
    decoding: dict[str, dict[str, Any]] = field(default_factory=dict)
    prompt_tokens: tuple[int, ...] = ()
    max_new_tokens: tuple[int, ...] = ()
    seeds: tuple[int, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)  # the validated section
    tokenizer: Mapping[str, Any] = field(default_factory=dict)  # the corpus tokenizer
    lengths: Mapping[str, Any] = field(default_factory=dict)  # segmenter settings
    ladder_split: str = ""  # the ladder's split table, when ladder models read the same corpus

    # ------------------------------------------------------------------ files

    @property
    def directory(self) -> str:
        return f"results/{self.corpus or '_disabled'}/generate"

    def path(self, relative: str) -> str:
        return f"{self.directory}/{relative}"

    def cell_files(self) -> list[str]:
        return [self.path(CELL_PATH.format(gen_model=m, prompt_tokens=p, decoding=d,
                                           max_new_tokens=n, seed=s))
                for m, p, d, n, s in itertools.product(self.sampled_models, self.prompt_tokens,
                                                       self.decoding, self.max_new_tokens,
                                                       self.seeds)
                if self.models[m].decoding is None or d in self.models[m].decoding]

    def prompt_files(self) -> list[str]:
        return [self.path(PROMPT_PATH.format(prompt_tokens=p, seed=s))
                for p, s in itertools.product(self.prompt_tokens, self.seeds)]

    def loss_files(self) -> list[str]:
        """Per-prompt losses feed loss against model size, which needs two models or more;
        with one model none are computed."""
        if len(self.sampled_models) < 2:
            return []
        return [self.path(LOSS_PATH.format(gen_model=m, prompt_tokens=p, seed=s))
                for m, p, s in itertools.product(self.sampled_models, self.prompt_tokens, self.seeds)]

    @property
    def sampled_models(self) -> list[str]:
        """Models that generate (cells) and are scored (loss): every model but the ladder's,
        which are base models with a short context (128 tokens by default): they take part
        in the end-of-text hazard only."""
        return [m for m, spec in self.models.items() if spec.kind != "ladder"]

    @property
    def hazard_enabled(self) -> bool:
        return bool(self.settings.get("hazard", {}).get("enabled"))

    def hazard_files(self) -> list[str]:
        if not self.hazard_enabled:
            return []
        return [self.path(HAZARD_PATH.format(gen_model=m)) for m in self.models]

    def hazard_settings(self) -> dict[str, Any]:
        return canonical(dict(self.settings["hazard"]))

    def hazard_inputs(self) -> dict[str, str]:
        """The corpus documents and, with ladder models trained on the same corpus, the
        ladder's split (the hazard reads its validation documents, unseen by every ladder
        model)."""
        out = {"documents": f"results/{self.corpus}/documents.parquet"}
        if self.ladder_split:
            out["split"] = self.ladder_split
        return out

    def ladder_size(self, name: str) -> str | None:
        spec = self.models[name]
        return spec.source if spec.kind == "ladder" else None

    def model_dirs(self) -> list[str]:
        return [MODEL_DIR.format(gen_model=m) for m in self.models]

    def figures(self) -> dict[str, str]:
        keys = (["length", "s_vs_l"] + (["loss_size"] if len(self.sampled_models) >= 2 else [])
                + (["hazard"] if self.hazard_enabled else []))
        return {k: self.path(FIGURES[k]) for k in keys}

    def targets(self) -> list[str]:
        """Final outputs of the sweep (none when generation is off)."""
        if not self.enabled:
            return []
        return [self.path("fit/summary.json"), self.path("report.md"), *self.figures().values()]

    def wildcard_pattern(self, axis: str) -> str:
        """A regular expression matching exactly the names on one axis (models, decoding)."""
        names = list(getattr(self, axis))
        return "|".join(re.escape(str(v)) for v in names) if names else "a^"

    # ------------------------------------------------------------------ job settings

    @property
    def gpu(self) -> int:
        return 1 if str(self.settings.get("device", "")).startswith("cuda") else 0

    def prompt_settings(self) -> dict[str, Any]:
        """Everything that decides the prompts of one (prompt_tokens, seed)."""
        s = self.settings
        own = s["prompt_tokenizer"]
        return canonical({
            "corpus": self.corpus,
            "n_prompts": s["n_prompts"],
            "start": s["prompt_start"],
            "min_fill": s["min_fill"],
            "continuation_tokens": s["continuation_tokens"],
            "tokenizer": own or self.tokenizer.get("name"),
            "tokenizer_revision": None if own else self.tokenizer.get("revision"),
            "lengths": dict(self.lengths),
        })

    def measure_settings(self) -> dict[str, Any]:
        """How generated and human texts are measured: the corpus tokenizer and segmenter."""
        return canonical({
            "corpus": self.corpus,
            "tokenizer": self.tokenizer.get("name"),
            "tokenizer_revision": self.tokenizer.get("revision"),
            "lengths": dict(self.lengths),
        })

    def run_settings(self, job: str) -> dict[str, Any]:
        """Device, dtype and batch size of a model job: ``"cell"`` or ``"loss"``; a cell
        also names its engine (``backend``: the loss is always computed by transformers)."""
        s = self.settings
        if job == "cell":
            return {"device": s["device"], "dtype": s["dtype"], "batch_size": s["batch_size"],
                    "backend": s["backend"]}
        return {"device": s["device"], "dtype": s["dtype"], "batch_size": s["loss_batch_size"]}

    def engine_inputs(self, name: str) -> dict[str, str]:
        """Extra inputs of a cell: the converted model folder when the backend needs one."""
        if self.settings.get("backend") == "ctranslate2":
            return {"engine": CT2_DIR.format(gen_model=name)}
        return {}

    def model_spec(self, name: str) -> dict[str, Any]:
        return self.models[name].to_dict()

    def model_source(self, name: str) -> list[str]:
        """A GGUF file is an input of its conversion: replacing the file reruns it."""
        spec = self.models[name]
        if spec.kind == "gguf":
            return [str(resolve_gguf_path(spec.source))]
        return []

    def mem_mb(self, attempt: int = 1) -> int:
        return int(self.settings["mem_mb"]) * int(attempt)

    def job_mem_mb(self, wildcards, attempt) -> int:
        """A model job's ``mem_mb`` resource: a second attempt gets twice the memory."""
        return self.mem_mb(attempt)

    def model_inputs(self, ladder_model_dir: Callable[[str], str]) -> Callable[[Any], dict[str, Any]]:
        """The input function of a model job: a GGUF file (replacing it reruns the
        conversion), or for a ladder model the folder of its size's largest-budget run
        (``ladder_model_dir``: the ladder plan's ``model_dir``)."""

        def inputs(wildcards) -> dict[str, Any]:
            size = self.ladder_size(wildcards.gen_model)
            if size is None:
                return {"source": self.model_source(wildcards.gen_model)}
            return {"ladder": ladder_model_dir(size)}

        return inputs


def plan_sweep(config: Mapping[str, Any]) -> SweepPlan:
    """The plan of a validated config (schema defaults filled in).

    Raises :class:`SweepError` or :class:`scalelaw.generate.errors.ModelError` for a mistake that
    the schema cannot see (two models with one name, a hub id that does not exist, a
    sampling setting given to greedy decoding), before any job runs.
    """
    gen = dict(config.get("generate") or {})
    if not gen.get("enabled"):
        return SweepPlan(enabled=False, settings=gen)
    models: dict[str, Any] = {}
    entries = []
    for entry in gen.get("models") or []:
        is_ladder = isinstance(entry, Mapping) and entry.get("ladder")
        entries.extend(expand_ladder_entry(entry, config.get("ladder")) if is_ladder else [entry])
    for entry in entries:
        spec = parse_model_spec(entry)
        if spec.name in models:
            raise SweepError(f"generate.models: two models are named {spec.name!r}; "
                             "give each a distinct 'name'")
        models[spec.name] = spec
    if not models:
        raise SweepError("generate.enabled is true but generate.models is empty")
    if not any(spec.kind != "ladder" for spec in models.values()):
        raise SweepError("generate.models has only ladder models: the sampled sweep needs at least "
                         "one other model (the ladder's models take part in the hazard only)")
    ladder = dict(config.get("ladder") or {})
    same_corpus = str(ladder.get("corpus")) == str(gen["corpus"])
    ladder_split = (f"results/{gen['corpus']}/ladder/data/split.parquet"
                    if any(s.kind == "ladder" for s in models.values()) and same_corpus else "")
    decoding: dict[str, dict[str, Any]] = {}
    for entry in gen["decoding"]:
        entry = dict(entry)
        name = str(entry.pop("name"))
        if name in decoding:
            raise SweepError(f"generate.decoding: two settings are named {name!r}")
        decoding[name] = decoding_settings(name, entry)
    for spec in models.values():
        unknown = sorted(set(spec.decoding or ()) - set(decoding))
        if unknown:
            raise SweepError(f"generate.models: {spec.name!r} names decoding settings {unknown} that "
                             f"generate.decoding does not define ({', '.join(decoding)})")
    for key in ("prompt_tokens", "max_new_tokens", "seeds"):
        values = [int(v) for v in gen[key]]
        if len(set(values)) != len(values):
            raise SweepError(f"generate.{key} has duplicates: {values}")
    require_backend(str(gen["backend"]))
    return SweepPlan(
        enabled=True,
        corpus=str(gen["corpus"]),
        models=models,
        decoding=decoding,
        prompt_tokens=tuple(int(v) for v in gen["prompt_tokens"]),
        max_new_tokens=tuple(int(v) for v in gen["max_new_tokens"]),
        seeds=tuple(int(v) for v in gen["seeds"]),
        settings=gen,
        tokenizer=dict(config.get("tokenizer") or {}),
        lengths=dict(config.get("lengths") or {}),
        ladder_split=ladder_split,
    )
