"""One cell of the generation grid (rule generate_cell)."""
from pathlib import Path

from scalelaw import generate, io, logs, models

log = logs.to_file(snakemake.log[0])
w, p = snakemake.wildcards, snakemake.params
facts = models.read_facts(Path(snakemake.input.model) / "model.json")
lm = models.load_model(facts, device=p.device, dtype=p.dtype, threads=snakemake.threads)
log.info("model %s on %s (%s, %d threads), loaded in %.2f s", facts["name"], lm.facts["device"],
         lm.facts["dtype"], lm.facts["threads"], lm.facts["load_seconds"])
prompts = io.read_parquet(snakemake.input.prompts)
gen = generate.generate_cell(
    lm, prompts, decoding=dict(p.decoding), max_new_tokens=int(w.max_new_tokens),
    seed=int(w.seed), batch_size=int(p.batch_size),
)
log.info("%d generations, %d hit the cap of %s tokens; %.1f tokens/s", len(gen),
         int(gen["censored"].sum()), w.max_new_tokens,
         gen["n_steps"].sum() / gen.drop_duplicates("batch_index")["seconds"].sum())
model_facts = {k: v for k, v in lm.facts.items() if k != "spec"}
record = io.provenance(
    "generate_cell", model=model_facts, decoding=dict(p.decoding),
    max_new_tokens=int(w.max_new_tokens), seed=int(w.seed), prompt_tokens=int(w.prompt_tokens),
    batch_size=int(p.batch_size), prompts=io.read_provenance(snakemake.input.prompts),
)
io.write_parquet(gen, snakemake.output[0], record)
