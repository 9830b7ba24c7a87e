import pandas as pd

from scalelaw import io, logs
from scalelaw.fitting import sensitivity
from scalelaw.fitting import summary as fit_summary

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
units = snakemake.params.units
parts = []
for path in [snakemake.input.fits, *snakemake.input.variants]:
    record = io.read_provenance(path)
    fits = io.read_parquet(path)
    # One frame per fit file: its fitted units, then a row for each unit it could not fit.
    frames = [fit_summary.summary(fits)] if len(fits) else []
    frames += [fit_summary.not_fitted_summary(name, [unit], record["n_usable"], reason, record["variant"])
               for unit, reason in (record.get("not_fitted") or {}).items()]
    parts.append(pd.concat(frames, ignore_index=True))
primary = parts[0]
variants = sensitivity.variant_table(parts)
summary = sensitivity.with_robustness(primary, variants)
log.info("corpus %s:\n%s", name, summary.to_string())
record = io.provenance("fit_summary", corpus=name, variants=len(parts))
io.write_parquet(summary, snakemake.output.summary, record)
io.write_parquet(variants, snakemake.output.sensitivity, record)
