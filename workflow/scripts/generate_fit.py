"""Fits over the generation sweep (rule generate_fit)."""
from scalelaw import io, logs, sweep_fit

log = logs.to_file(snakemake.log[0])
i, o = snakemake.input, snakemake.output
gen = io.read_parquet(i.generations)
out = sweep_fit.fit_sweep(gen, io.read_parquet(i.human), io.read_parquet(i.losses),
                          io.read_parquet(i.models), snakemake.params.fit)
record = io.provenance("generate_fit", config=dict(snakemake.params.fit),
                       collect=io.read_provenance(i.generations))
for key in ("censoring", "km", "aft", "s_vs_l", "loss_size", "model_means"):
    io.write_parquet(out[key], getattr(o, key), record)
for w in out["summary"]["warnings"]:
    log.warning(w)
log.info("%d generations, %d hit the cap", out["summary"]["n_generations"], out["summary"]["n_capped"])
io.write_json({"provenance": record, **out["summary"]}, o.summary)
