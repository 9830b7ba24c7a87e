from scalelaw import corpus, io, logs

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
spec = snakemake.params.spec

loaded = corpus.load_corpus(spec, base_dir=".")
log.info("corpus %s: %s", name, loaded.quality)
record = io.provenance("corpus", corpus=name, source=spec["source"], fingerprint=loaded.fingerprint, config=spec)
io.write_parquet(loaded.documents.assign(corpus=name), snakemake.output.documents, record, row_group_size=256)
io.write_json({"corpus": name, **loaded.quality}, snakemake.output.quality)
