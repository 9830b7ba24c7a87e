"""One cell of the generation grid (rule generate_cell)."""
from pathlib import Path

from scalelaw import io, logs
from scalelaw.generate import generation, loading, sources

with logs.job(snakemake) as log:
    w, p = snakemake.wildcards, snakemake.params
    facts = sources.read_facts(Path(snakemake.input.model) / "model.json")
    lm = loading.load_model(facts, device=p.run["device"], dtype=p.run["dtype"], threads=snakemake.threads,
                           backend=p.run["backend"], engine_dir=snakemake.input.get("engine"))
    log.info("model %s on %s (%s, %d threads, %s), loaded in %.2f s", facts["name"], lm.facts["device"],
             lm.facts["dtype"], lm.facts["threads"], lm.facts["backend"], lm.facts["load_seconds"])
    prompts = io.read_parquet(snakemake.input.prompts)
    # the longest row: prompt (with a chat template's tokens) and every new token
    batch_size = loading.generation_batch_size(lm, p.run["batch_size"],
                                              2 * int(w.prompt_tokens) + 64 + int(w.max_new_tokens))
    log.info("batch size %d (config: %s)", batch_size, p.run["batch_size"])
    gen = generation.generate_cell(
        lm, prompts, decoding=dict(p.decoding), max_new_tokens=int(w.max_new_tokens),
        seed=int(w.seed), batch_size=batch_size,
    )
    ran = gen[gen["batch_index"] >= 0].drop_duplicates("batch_index")
    log.info("%d generations: %s; %.1f tokens/s", len(gen), gen["stop_reason"].value_counts().to_dict(),
             gen["n_steps"].sum() / max(ran["seconds"].sum(), 1e-9))
    model_facts = {k: v for k, v in lm.facts.items() if k != "spec"}
    record = io.provenance(
        "generate_cell", model=model_facts, decoding=dict(p.decoding),
        max_new_tokens=int(w.max_new_tokens), seed=int(w.seed), prompt_tokens=int(w.prompt_tokens),
        run=dict(p.run), batch_size=batch_size, prompts=io.read_provenance(snakemake.input.prompts),
    )
    io.write_parquet(gen, snakemake.output[0], record)
    n_eos = int((gen["stop_reason"] == "eos").sum())
    logs.console(f"generate: {facts['name']} {w.decoding} prompts of {w.prompt_tokens} tokens, seed {w.seed}: "
                 f"{n_eos} of {len(gen)} stopped by end-of-text")
