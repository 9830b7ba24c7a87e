import numpy as np
import pandas as pd

from scalelaw import corpus, io, lengths, logs

log = logs.to_file(snakemake.log[0])
name = snakemake.wildcards.corpus
variant = snakemake.params.variant

parts = []
for (index, total), tokens_path in zip(snakemake.params.shards, snakemake.input.tokens):
    docs = corpus.read_shard(snakemake.input.documents, index, total)
    tokens = io.pq.read_table(tokens_path)
    if tokens.column("doc_id").to_pylist() != docs["doc_id"].tolist():
        raise ValueError(f"{tokens_path} does not match the documents of shard {index} of {total}")
    ends = tokens.column("token_ends").combine_chunks()
    token_ends = np.split(ends.values.to_numpy(), ends.offsets.to_numpy()[1:-1])
    _, doc_lengths = lengths.measure_documents(docs, token_ends=token_ends, corpus=name, **variant)
    parts.append(doc_lengths)
doc_lengths = pd.concat(parts, ignore_index=True)
log.info("variant %s: %d documents, status %s", variant, len(doc_lengths), doc_lengths["status"].value_counts().to_dict())
tokenized = io.read_provenance(snakemake.input.tokens[0])
record = io.provenance("lengths", corpus=name, config=variant, tokenizer=tokenized["tokenizer"],
                       tokenizer_fingerprint=tokenized["tokenizer_fingerprint"])
io.write_parquet(doc_lengths, snakemake.output.doc_lengths, record)
