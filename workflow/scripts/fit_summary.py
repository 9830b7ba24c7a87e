import pandas as pd

from scalelaw import io, logs
from scalelaw.fitting import sensitivity
from scalelaw.fitting import summary as fit_summary
from scalelaw.fitting.result import results_frame

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus


def summarise(fits: pd.DataFrame, record: dict) -> pd.DataFrame:
    """One fit file's summary: its fitted units, then a row for each unit it could not fit."""
    frames = [fit_summary.summary(fits)] if len(fits) else []
    frames += [fit_summary.not_fitted_summary(name, [unit], record["n_usable"], reason, record["variant"])
               for unit, reason in (record.get("not_fitted") or {}).items()]
    return pd.concat(frames, ignore_index=True)


# The primary fits, one file per unit (in the config's order), joined into one table.
unit_records = [io.read_provenance(path) for path in snakemake.input.units]
unit_fits = [io.read_parquet(path) for path in snakemake.input.units]
fits = pd.concat([f for f in unit_fits if len(f)] or [results_frame([])], ignore_index=True)
record = {**unit_records[0], "units": [u for r in unit_records for u in r["units"]],
          "not_fitted": {u: why for r in unit_records for u, why in (r.get("not_fitted") or {}).items()}}
io.write_parquet(fits, snakemake.output.fits, record)
io.write_json({"provenance": record, "fits": fits.to_dict(orient="records")}, snakemake.output.fits_json)

parts = [pd.concat([summarise(f, r) for f, r in zip(unit_fits, unit_records)], ignore_index=True)]
parts += [summarise(io.read_parquet(path), io.read_provenance(path)) for path in snakemake.input.variants]
primary = parts[0]
variants = sensitivity.variant_table(parts)
summary = sensitivity.with_robustness(primary, variants)
log.info("corpus %s:\n%s", name, summary.to_string())
summary_record = io.provenance("fit_summary", corpus=name, variants=len(parts))
io.write_parquet(summary, snakemake.output.summary, summary_record)
io.write_parquet(variants, snakemake.output.sensitivity, summary_record)
