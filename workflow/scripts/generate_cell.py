"""One cell of the generation grid (rule generate_cell)."""
from pathlib import Path

from scalelaw import generate, io, logs, models

log = logs.to_file(snakemake.log[0])
w, p = snakemake.wildcards, snakemake.params
facts = models.read_facts(Path(snakemake.input.model) / "model.json")
lm = models.load_model(facts, device=p.run["device"], dtype=p.run["dtype"], threads=snakemake.threads)
log.info("model %s on %s (%s, %d threads), loaded in %.2f s", facts["name"], lm.facts["device"],
         lm.facts["dtype"], lm.facts["threads"], lm.facts["load_seconds"])
prompts = io.read_parquet(snakemake.input.prompts)
gen = generate.generate_cell(
    lm, prompts, decoding=dict(p.decoding), max_new_tokens=int(w.max_new_tokens),
    seed=int(w.seed), batch_size=int(p.run["batch_size"]),
)
ran = gen[gen["batch_index"] >= 0].drop_duplicates("batch_index")
log.info("%d generations: %s; %.1f tokens/s", len(gen), gen["stop_reason"].value_counts().to_dict(),
         gen["n_steps"].sum() / max(ran["seconds"].sum(), 1e-9))
model_facts = {k: v for k, v in lm.facts.items() if k != "spec"}
record = io.provenance(
    "generate_cell", model=model_facts, decoding=dict(p.decoding),
    max_new_tokens=int(w.max_new_tokens), seed=int(w.seed), prompt_tokens=int(w.prompt_tokens),
    run=dict(p.run), prompts=io.read_provenance(snakemake.input.prompts),
)
io.write_parquet(gen, snakemake.output[0], record)
