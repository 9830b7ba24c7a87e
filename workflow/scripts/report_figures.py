from scalelaw import io, logs, report

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
units = snakemake.params.units
color_by = snakemake.params.color_by
docs = io.read_parquet(snakemake.input.doc_lengths)
if color_by:
    available = io.pq.ParquetFile(snakemake.input.documents).schema_arrow.names
    if color_by in available:
        docs = docs.merge(io.read_parquet(snakemake.input.documents, columns=["doc_id", color_by]), on="doc_id", how="left")
    else:
        log.info("corpus %s has no column %r: points are not coloured", name, color_by)
        color_by = None
fits = io.read_parquet(snakemake.input.fits)
io.write_figure(report.scatter_figure(docs, fits, units, name, color_by), snakemake.output.scatter)
io.write_figure(report.residual_figure(docs, fits, units, name, color_by), snakemake.output.residuals)
io.write_figure(report.distribution_figure(docs, units, name), snakemake.output.distributions)
