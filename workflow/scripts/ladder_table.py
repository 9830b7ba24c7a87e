"""Any table, any law (rule law_table_fit)."""
from scalelaw import io, logs
from scalelaw.fitting.result import results_frame
from scalelaw.ladder import tables

with logs.job(snakemake) as log:
    name, spec = snakemake.wildcards.law_table, snakemake.params.spec
    points, counts = tables.load({**spec, "path": snakemake.input.table}, name)
    log.info("%s: %s", name, counts)
    result = tables.fit(points, spec, name)
    result.diagnostics["counts"] = counts
    record = io.provenance("law_table_fit", spec=dict(spec))
    io.write_parquet(results_frame([result]), snakemake.output.fits, record)
    io.write_text(tables.markdown(name, spec, result, counts), snakemake.output.report)
