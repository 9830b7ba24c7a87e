import pandas as pd

from scalelaw import corpus, io, lengths, logs

with logs.job(snakemake) as log:
    name = snakemake.wildcards.corpus
    options = snakemake.params.lengths  # the lengths section with this variant's segmenter and paragraph_breaks

    parts = []
    for (index, total), tokens_path in zip(snakemake.params.shards, snakemake.input.tokens):
        docs = corpus.read_shard(snakemake.input.documents, index, total)
        token_ends = lengths.shard_token_ends(io.pq.read_table(tokens_path), docs, tokens_path)
        _, doc_lengths = lengths.measure_documents(
            docs, token_ends=token_ends, corpus=name, **lengths.measure_options(options)
        )
        parts.append(doc_lengths)
    doc_lengths = pd.concat(parts, ignore_index=True)
    log.info("variant %s: %d documents, status %s", snakemake.wildcards.variant, len(doc_lengths),
             doc_lengths["status"].value_counts().to_dict())
    tokenized = io.read_provenance(snakemake.input.tokens[0])
    record = io.provenance("lengths", corpus=name, config=options, tokenizer=tokenized["tokenizer"],
                           tokenizer_fingerprint=tokenized["tokenizer_fingerprint"])
    io.write_parquet(doc_lengths, snakemake.output.doc_lengths, record)
