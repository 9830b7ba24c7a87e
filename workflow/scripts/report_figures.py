from scalelaw import io, logs, report

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
units = snakemake.params.units
docs = io.read_parquet(snakemake.input.doc_lengths)
report.save(report.scatter_figure(docs, units, name), snakemake.output.scatter)
report.save(report.residual_figure(docs, units, name), snakemake.output.residuals)
report.save(report.distribution_figure(docs, units, name), snakemake.output.distributions)
