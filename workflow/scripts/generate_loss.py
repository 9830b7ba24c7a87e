"""Per-prompt loss of one model on the human continuations (rule generate_loss)."""
from pathlib import Path

from scalelaw import io, logs
from scalelaw.generate import loading, sources
from scalelaw.generate.loss import continuation_loss

with logs.job(snakemake) as log:
    p = snakemake.params
    facts = sources.read_facts(Path(snakemake.input.model) / "model.json")
    lm = loading.load_model(facts, device=p.run["device"], dtype=p.run["dtype"], threads=snakemake.threads)
    prompts = io.read_parquet(snakemake.input.prompts)
    loss = continuation_loss(lm, prompts, batch_size=int(p.run["batch_size"]))
    log.info("%s: mean loss %.4f nats/token, %.4f bits/byte over %d continuations",
             facts["name"], loss["loss_nats_per_token"].mean(), loss["loss_bits_per_byte"].mean(), len(loss))
    record = io.provenance(
        "generate_loss", model={k: v for k, v in lm.facts.items() if k != "spec"},
        run=dict(p.run), prompts=io.read_provenance(snakemake.input.prompts),
    )
    io.write_parquet(loss, snakemake.output[0], record)
