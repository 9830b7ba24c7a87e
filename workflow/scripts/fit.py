from scalelaw import io, logs
from scalelaw.fitting import results_frame
from scalelaw.fitting import sentence_length as SL

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
options = snakemake.params.fit
variant = snakemake.params.variant  # {"segmenter", "paragraph_breaks"} the lengths were measured with

docs = io.read_parquet(snakemake.input.doc_lengths)
sentences = None
if "sentences" in snakemake.input.keys():
    sentences = io.read_parquet(snakemake.input.sentences, columns=["doc_id", *(f"n_{u}" for u in options["units"])])
# One unit at a time, so that a unit with too few documents says so under its own name
# while another unit can still be fitted (each unit draws its own seeded generators, so
# the numbers equal a fit of all units at once).
results, not_fitted = [], {}
for unit in options["units"]:
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
log.info("corpus %s, %s: %d fit rows", name, variant, len(fits))
upstream = io.read_provenance(snakemake.input.doc_lengths)
record = io.provenance("fit", corpus=name, config=options, variant=variant, lengths=upstream.get("config"),
                       tokenizer=upstream.get("tokenizer"), not_fitted=not_fitted,
                       n_usable=int((docs["status"] == "ok").sum()))
io.write_parquet(fits, snakemake.output.fits, record)
if "fits_json" in snakemake.output.keys():
    io.write_json({"provenance": record, "fits": fits.to_dict(orient="records")}, snakemake.output.fits_json)
