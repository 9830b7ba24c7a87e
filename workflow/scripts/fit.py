import pandas as pd

from scalelaw import fit, io, logs

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
options = snakemake.params.fit

docs = io.read_parquet(snakemake.input.doc_lengths)
sentences = io.read_parquet(snakemake.input.sentences, columns=["doc_id", "sentence_index", "n_words", "n_tokens", "n_chars"])
try:
    fits = fit.fit_sentence_length(
        docs,
        sentences,
        corpus=name,
        units=options["units"],
        estimators=options["estimators"],
        laws=options["laws"],
        n_resamples=options["bootstrap"]["resamples"],
        confidence_level=options["bootstrap"]["confidence_level"],
        seed=options["seed"],
        null_reps=options["null_model"]["reps"],
        min_docs=options["min_docs"],
    )
    summary = fit.summary(fits)
except fit.InsufficientData as err:
    # Too few documents: say so in the tables and the report instead of printing numbers.
    log.warning("not fitted: %s", err)
    fits = pd.DataFrame({column: pd.Series(dtype="object") for column in fit.TABLE_COLUMNS})
    summary = pd.DataFrame(
        {"corpus": name, "unit": unit, "n": int((docs["status"] == "ok").sum()), "verdict": f"not fitted: {err}"}
        for unit in options["units"]
    )
log.info("corpus %s:\n%s", name, summary.to_string())
upstream = io.read_provenance(snakemake.input.doc_lengths)
record = io.provenance("fit", corpus=name, config=options, lengths=upstream.get("config"), tokenizer=upstream.get("tokenizer"))
io.write_parquet(fits, snakemake.output.fits, record)
io.write_parquet(summary, snakemake.output.summary, record)
io.write_json({"provenance": record, "fits": fits.to_dict(orient="records")}, snakemake.output.fits_json)
