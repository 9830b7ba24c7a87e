"""Ladder figures (rule ladder_figures), drawn from the fitted tables."""
from scalelaw import io, logs
from scalelaw.ladder import report

log = logs.to_file(snakemake.log[0])
i = snakemake.input
report.figures(io.read_parquet(i.runs), io.read_parquet(i.curves), io.read_parquet(i.fits), io.read_parquet(i.isoflop),
               dict(snakemake.output.items()), io.read_provenance(i.fits)["parameter_count"])
