from scalelaw import io, logs
from scalelaw.fitting import results_frame
from scalelaw.fitting import sentence_length as SL

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
options = snakemake.params.fit


def as_list(value):
    return [value] if isinstance(value, str) else list(value)


def fit_lengths(doc_lengths: str, sentences_path: str | None, variant: dict, out: str):
    """Fit ``units`` of one lengths table (the primary one, or a sensitivity variant's)."""
    docs = io.read_parquet(doc_lengths)
    sentences = None
    if sentences_path:
        sentences = io.read_parquet(sentences_path, columns=["doc_id", *(f"n_{u}" for u in options["units"])])
    # One unit at a time, so that a unit with too few documents says so under its own name
    # while another unit can still be fitted (each unit draws its own seeded generators, so
    # the numbers equal a fit of all units at once).
    results, not_fitted = [], {}
    for unit in units:
        try:
            results.extend(SL.fit_corpus(
                docs,
                sentences,
                corpus=name,
                units=[unit],
                estimators=snakemake.params.estimators,
                laws=snakemake.params.laws,
                n_resamples=options["bootstrap"]["resamples"],
                confidence_level=options["bootstrap"]["confidence_level"],
                seed=options["seed"],
                null_reps=options["null_model"]["reps"],
                min_docs=options["min_docs"],
                labels=variant,
            ))
        except SL.InsufficientData as err:
            # Too few documents: the summary says so instead of printing numbers.
            log.warning("not fitted: %s", err)
            not_fitted[unit] = str(err)
    fits = results_frame(results)
    log.info("corpus %s, %s, %s: %d fit rows", name, variant, units, len(fits))
    upstream = io.read_provenance(doc_lengths)
    record = io.provenance("fit", corpus=name, config=options, variant=variant, units=units,
                           lengths=upstream.get("config"), tokenizer=upstream.get("tokenizer"),
                           not_fitted=not_fitted, n_usable=int((docs["status"] == "ok").sum()))
    io.write_parquet(fits, out, record)


# The primary rule fits one unit of one table (with its sentences); fit_variants fits
# every unit of every sensitivity variant of the corpus, in the order of its inputs.
units = [snakemake.wildcards.unit] if "unit" in snakemake.wildcards.keys() else options["units"]
inputs, outputs = as_list(snakemake.input.doc_lengths), as_list(snakemake.output.fits)
sentences = snakemake.input.sentences if "sentences" in snakemake.input.keys() else None
for doc_lengths, variant, out in zip(inputs, snakemake.params.variants, outputs, strict=True):
    fit_lengths(doc_lengths, sentences, variant, out)
