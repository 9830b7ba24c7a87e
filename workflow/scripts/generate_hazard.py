"""The end-of-text hazard of one model along real documents (rule generate_hazard)."""
from pathlib import Path

from scalelaw import io, logs
from scalelaw.generate import hazard, loading, sources

with logs.job(snakemake) as log:
    s, run = snakemake.params.settings, snakemake.params.run
    facts = sources.read_facts(Path(snakemake.input.model) / "model.json")
    lm = loading.load_model(facts, device=run["device"], dtype=run["dtype"], threads=snakemake.threads)
    documents = io.read_parquet(snakemake.input.documents, columns=["doc_id", "text"])
    split = io.read_parquet(snakemake.input.split) if "split" in snakemake.input.keys() else None
    docs, document_set = hazard.hazard_documents(documents, n_documents=s["n_documents"], seed=s["seed"], split=split)
    table, skipped = hazard.eos_hazard(lm, docs, prompt_tokens=s["prompt_tokens"], horizon=s["horizon_tokens"],
                                       document_set=document_set, batch_size=s["batch_size"])
    log.info("%s: %d rows over %d %s documents; skipped: %s", facts["name"], len(table), len(docs),
             document_set, skipped)
    if skipped["prompt_tokens_beyond_context"]:
        log.warning("%s: prompt lengths %s do not fit its context of %d tokens with a horizon of %d: skipped",
                    facts["name"], skipped["prompt_tokens_beyond_context"], skipped["context"], s["horizon_tokens"])
    record = io.provenance("generate_hazard", settings=dict(s), run=dict(run), skipped=skipped,
                           document_set=document_set,
                           model={k: v for k, v in lm.facts.items() if k != "spec"})
    io.write_parquet(table, snakemake.output[0], record)
    logs.console(f"generate: end-of-text hazard of {facts['name']} read along {len(docs)} documents")
