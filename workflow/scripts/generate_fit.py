"""Fits over the generation sweep (rule generate_fit)."""
from scalelaw import io, logs
from scalelaw.generate import fit

with logs.job(snakemake) as log:
    i, o = snakemake.input, snakemake.output
    out = fit.fit_sweep(
        io.read_parquet(i.generations), io.read_parquet(i.human), io.read_parquet(i.losses),
        io.read_parquet(i.models), snakemake.params.fit,
        generated_sentences=io.read_parquet(i.generated_sentences),
        human_sentences=io.read_parquet(i.human_sentences),
        hazard=io.read_parquet(i.hazard),
    )
    record = io.provenance("generate_fit", config=dict(snakemake.params.fit),
                           collect=io.read_provenance(i.generations))
    for key in ("censoring", "km", "fits", "texts", "loss_size", "model_means", "hazard_summary"):
        io.write_parquet(out[key], getattr(o, key), record)
    for w in out["summary"]["warnings"]:
        log.warning(w)
    log.info("%d generations: %d stopped by EOS, %d hit a cap, %d had no room",
             out["summary"]["n_generations"], out["summary"]["n_eos"], out["summary"]["n_capped"],
             out["summary"]["n_no_room"])
    io.write_json({"provenance": record, **out["summary"]}, o.summary)
