"""Figures of the generation sweep (rule generate_figures)."""
from scalelaw import io, logs
from scalelaw.generate import figures

with logs.job(snakemake) as log:
    i, o = snakemake.input, snakemake.output
    figures.plot_length_vs_prompt(io.read_parquet(i.generations), io.read_parquet(i.km), o.length)
    unit = io.read_provenance(i.texts)["config"]["unit"]
    figures.plot_s_vs_l(io.read_parquet(i.texts), o.s_vs_l, unit=unit)
    if "loss_size" in o.keys():
        metric = io.read_provenance(i.loss_size)["config"]["loss_metric"]
        figures.plot_loss_vs_size(io.read_parquet(i.model_means), io.read_parquet(i.loss_size),
                                       o.loss_size, metric=metric)
    if "hazard" in o.keys():
        figures.plot_eos_hazard(io.read_parquet(i.hazard), o.hazard)
