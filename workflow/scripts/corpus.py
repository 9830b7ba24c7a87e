from scalelaw import corpus, io, logs, manifest

with logs.job(snakemake) as log:
    name = snakemake.wildcards.corpus
    spec = snakemake.params.spec
    files, counts, fingerprint = None, {}, None
    if getattr(snakemake.input, "manifest", None):
        listed = manifest.read(snakemake.input.manifest)
        fingerprint = f"manifest:{manifest.digest(listed)}"
        if spec["source"] == "files":
            files = [entry["path"] for entry in listed["files"]]
            counts = corpus.listing_counts(listed["files_matched_twice"], listed.get("broken_links", []))

    loaded = corpus.load_corpus(spec, base_dir=".", name=name, files=files)
    quality = {**loaded.quality, **counts}
    log.info("corpus %s: %s", name, quality)
    record = io.provenance(
        "corpus", corpus=name, source=spec["source"], fingerprint=fingerprint or loaded.fingerprint, config=spec
    )
    io.write_parquet(loaded.documents.assign(corpus=name), snakemake.output.documents, record, row_group_size=256)
    io.write_json({"corpus": name, **quality}, snakemake.output.quality)
