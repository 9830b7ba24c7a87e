"""Resolve one model of the generation sweep and write its facts (rule generate_prepare_model)."""
from pathlib import Path

from scalelaw import logs
from scalelaw.generate import sources, specs

with logs.job(snakemake) as log:
    spec = specs.ModelSpec(**snakemake.params.spec)
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    log.info("model %s: %s %s", spec.name, spec.kind, spec.source)
    ladder_dir = snakemake.input.get("ladder")
    facts = sources.prepare_model(spec, work_dir=out / "hf", ladder_dir=ladder_dir)
    facts["spec"] = spec.to_dict()
    log.info("facts: %s", facts)
    sources.write_facts(facts, out / "model.json")
