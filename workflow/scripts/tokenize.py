import os

os.environ["RAYON_NUM_THREADS"] = str(snakemake.threads)

from scalelaw import corpus, io, logs, tokenize

log = logs.to_file(snakemake.log[0])
index, total = (int(x) for x in snakemake.wildcards.shard.split("of"))
spec = snakemake.params.tokenizer

n_docs = io.pq.ParquetFile(snakemake.input.documents).metadata.num_rows
start, stop = corpus.shard_bounds(n_docs, total)[index]
docs = io.read_rows(snakemake.input.documents, start, stop, columns=["doc_id", "text"])
tokenizer = tokenize.load_tokenizer(spec["name"], spec.get("revision"))
table = tokenize.tokenize_documents(docs, tokenizer, batch_size=spec["batch_size"])
log.info("shard %s: %d documents, %d tokens", snakemake.wildcards.shard, len(docs), sum(table.column("n_tokens").to_pylist()))
record = io.provenance(
    "tokenize",
    corpus=snakemake.wildcards.corpus,
    shard=snakemake.wildcards.shard,
    tokenizer=spec,
    tokenizer_fingerprint=tokenize.tokenizer_fingerprint(tokenizer),
)
io.write_parquet(table, snakemake.output.tokens, record)
