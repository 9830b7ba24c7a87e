from scalelaw import corpus, io, lengths, logs

with logs.job(snakemake) as log:
    name = snakemake.wildcards.corpus
    options = snakemake.params.lengths

    docs = corpus.read_shard(snakemake.input.documents, *snakemake.params.shard)
    token_ends = lengths.shard_token_ends(io.pq.read_table(snakemake.input.tokens), docs, snakemake.input.tokens)
    sentences, doc_lengths = lengths.measure_documents(
        docs, token_ends=token_ends, corpus=name, **lengths.measure_options(options)
    )
    log.info("shard %s: %d documents, %d sentences (%d long), status %s", snakemake.wildcards.shard,
             len(doc_lengths), len(sentences), int(sentences["is_long"].sum()),
             doc_lengths["status"].value_counts().to_dict())
    tokenized = io.read_provenance(snakemake.input.tokens)
    record = io.provenance(
        "lengths",
        corpus=name,
        shard=snakemake.wildcards.shard,
        config=options,
        tokenizer=tokenized["tokenizer"],
        tokenizer_fingerprint=tokenized["tokenizer_fingerprint"],
    )
    io.write_parquet(sentences, snakemake.output.sentences, record)
    io.write_parquet(doc_lengths, snakemake.output.doc_lengths, record)
