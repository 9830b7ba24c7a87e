"""Figures of the generation sweep (rule generate_figures)."""
from scalelaw import io, logs, sweep_report

log = logs.to_file(snakemake.log[0])
i, o = snakemake.input, snakemake.output
gen = io.read_parquet(i.generations)
sweep_report.plot_length_vs_prompt(gen, io.read_parquet(i.km), o.length)
sweep_report.plot_s_vs_l(gen, io.read_parquet(i.human), o.s_vs_l)
if "loss_size" in o.keys():
    metric = io.read_provenance(i.loss_size)["config"].get("loss_metric", "loss_nats_per_token")
    sweep_report.plot_loss_vs_size(io.read_parquet(i.model_means), io.read_parquet(i.loss_size),
                                   o.loss_size, metric=metric)
