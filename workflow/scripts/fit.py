import pandas as pd

from scalelaw import fit, io, logs

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
options = snakemake.params.fit

docs = io.read_parquet(snakemake.input.doc_lengths)
sentences = io.read_parquet(snakemake.input.sentences, columns=["doc_id", "sentence_index", "n_words", "n_tokens", "n_chars"])
# One unit at a time, so that a unit with too few documents says so under its own name
# while another unit can still be fitted (each unit draws its own seeded generators, so
# the numbers equal a fit of all units at once).
tables, summaries = [], []
for unit in options["units"]:
    try:
        table = fit.fit_sentence_length(
            docs,
            sentences,
            corpus=name,
            units=[unit],
            estimators=options["estimators"],
            laws=options["laws"],
            n_resamples=options["bootstrap"]["resamples"],
            confidence_level=options["bootstrap"]["confidence_level"],
            seed=options["seed"],
            null_reps=options["null_model"]["reps"],
            min_docs=options["min_docs"],
        )
        tables.append(table)
        summaries.append(fit.summary(table))
    except fit.InsufficientData as err:
        # Too few documents: say so in the tables and the report instead of printing numbers.
        log.warning("not fitted: %s", err)
        summaries.append(pd.DataFrame(
            [{"corpus": name, "unit": unit, "n": int((docs["status"] == "ok").sum()), "verdict": f"not fitted: {err}"}]
        ))
fits = (pd.concat(tables, ignore_index=True) if tables
        else pd.DataFrame({column: pd.Series(dtype="object") for column in fit.TABLE_COLUMNS}))
summary = pd.concat(summaries, ignore_index=True)
log.info("corpus %s:\n%s", name, summary.to_string())
upstream = io.read_provenance(snakemake.input.doc_lengths)
record = io.provenance("fit", corpus=name, config=options, lengths=upstream.get("config"), tokenizer=upstream.get("tokenizer"))
io.write_parquet(fits, snakemake.output.fits, record)
io.write_parquet(summary, snakemake.output.summary, record)
io.write_json({"provenance": record, "fits": fits.to_dict(orient="records")}, snakemake.output.fits_json)
