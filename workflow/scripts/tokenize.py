import os

os.environ["RAYON_NUM_THREADS"] = str(snakemake.threads)

from scalelaw import corpus, io, logs, tokenize

with logs.job(snakemake) as log:
    spec = snakemake.params.tokenizer

    docs = corpus.read_shard(snakemake.input.documents, *snakemake.params.shard)
    tokenizer = tokenize.load_backend(spec["name"], spec.get("revision"))
    table = tokenize.tokenize_documents(docs, tokenizer, batch_size=spec["batch_size"])
    log.info("shard %s: %d documents, %d tokens", snakemake.wildcards.shard, len(docs),
             sum(table.column("n_tokens").to_pylist()))
    record = io.provenance(
        "tokenize",
        corpus=snakemake.wildcards.corpus,
        shard=snakemake.wildcards.shard,
        tokenizer=spec,
        tokenizer_fingerprint=tokenize.tokenizer_fingerprint(tokenizer),
    )
    # token offsets are nearly all distinct: no dictionary (it cost 1.3 GB on a 50 MB document)
    io.write_parquet(table, snakemake.output.tokens, record, use_dictionary=["doc_id"])
