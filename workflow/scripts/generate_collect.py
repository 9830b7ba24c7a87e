"""Merge the sweep's cells and measure generated and human texts (rule generate_collect)."""
from pathlib import Path

import pandas as pd

from scalelaw import io, logs
from scalelaw.generate import hazard, loss, measuring, prompts as prompt_cuts, sources
from scalelaw.tokenize import load_tokenizer, tokenizer_fingerprint

with logs.job(snakemake) as log:
    p = snakemake.params
    gen = io.read_parquet(list(snakemake.input.cells))
    prompts = io.read_parquet(list(snakemake.input.prompts))
    # one model: no losses (loss against size needs two), an empty table of the same columns
    losses = io.read_parquet(list(snakemake.input.losses)) if snakemake.input.losses else \
        pd.DataFrame(columns=loss.LOSS_COLUMNS)
    # the hazard off: an empty table of the same columns
    eos_hazard = io.read_parquet(list(snakemake.input.hazard)) if snakemake.input.hazard else \
        pd.DataFrame(columns=hazard.HAZARD_COLUMNS)
    facts = pd.DataFrame([
        {k: v for k, v in sources.read_facts(Path(d) / "model.json").items() if k != "spec"}
        for d in snakemake.input.models
    ])
    facts.insert(0, "model", facts.pop("name"))
    settings = p.settings
    tokenizer = load_tokenizer(settings["tokenizer"], revision=settings["tokenizer_revision"])
    measured = measuring.measure_generations(
        gen, prompts, tokenizer, segmenter=settings["lengths"]["segmenter"],
        paragraph_breaks=settings["lengths"]["paragraph_breaks"], corpus=settings["corpus"],
    )
    gen = measuring.attach_measured_lengths(gen, measured["generated"])
    human = measured["human"].rename(columns={"doc_id": "prompt_key"})
    key_cols = prompts.assign(prompt_key=prompt_cuts.prompt_key(prompts))[
        ["prompt_key", "prompt_tokens", "seed", "prompt_id", "doc_id"]].drop_duplicates("prompt_key")
    human = human.merge(key_cols.rename(columns={"doc_id": "source_doc_id"}), on="prompt_key", how="left")
    log.info("%d generations (%d capped), %d prompts, %d losses, %d models", len(gen),
             int(gen["censored"].sum()), len(human), len(losses), len(facts))
    record = io.provenance(
        "generate_collect", settings=dict(settings),
        tokenizer_fingerprint=tokenizer_fingerprint(tokenizer), n_cells=len(snakemake.input.cells),
        measure="scalelaw.lengths.measure_documents (corpus tokenizer and segmenter)",
    )
    io.write_parquet(gen, snakemake.output.generations, record)
    io.write_parquet(measured["generated_sentences"], snakemake.output.generated_sentences, record)
    io.write_parquet(human, snakemake.output.human, record)
    io.write_parquet(measured["human_sentences"], snakemake.output.human_sentences, record)
    io.write_parquet(losses, snakemake.output.losses, record)
    io.write_parquet(eos_hazard, snakemake.output.hazard, record)
    io.write_parquet(facts, snakemake.output.models, record)
