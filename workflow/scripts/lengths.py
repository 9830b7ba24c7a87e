import numpy as np

from scalelaw import corpus, io, lengths, logs

with logs.job(snakemake) as log:
    name = snakemake.wildcards.corpus
    options = snakemake.params.lengths

    docs = corpus.read_shard(snakemake.input.documents, *snakemake.params.shard)
    tokens = io.pq.read_table(snakemake.input.tokens)
    if tokens.column("doc_id").to_pylist() != docs["doc_id"].tolist():
        raise ValueError(f"{snakemake.input.tokens} does not match the documents of shard {snakemake.wildcards.shard}")
    ends = tokens.column("token_ends").combine_chunks()
    token_ends = np.split(ends.values.to_numpy(), ends.offsets.to_numpy()[1:-1]) if len(docs) else []

    sentences, doc_lengths = lengths.measure_documents(
        docs,
        token_ends=token_ends,
        segmenter=options["segmenter"],
        paragraph_breaks=options["paragraph_breaks"],
        corpus=name,
        long_sentence_words=options["long_sentence_words"],
        max_long_share=options["max_long_sentence_share"],
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
