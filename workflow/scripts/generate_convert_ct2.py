"""Convert one prepared model to CTranslate2 for generate.backend ctranslate2 (rule generate_convert_ct2)."""
from pathlib import Path

from scalelaw import logs
from scalelaw.generate import engines, sources

with logs.job(snakemake) as log:
    facts = sources.read_facts(Path(snakemake.input[0]) / "model.json")
    out = engines.convert_ct2(facts, snakemake.output[0])
    log.info("model %s converted to CTranslate2 in %s", facts["name"], out)
