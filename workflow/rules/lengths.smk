rule lengths:
    input:
        documents="results/{corpus}/documents.parquet",
        tokens="results/{corpus}/tokens/{shard}.parquet",
    output:
        sentences="results/{corpus}/lengths/{shard}/sentences.parquet",
        doc_lengths="results/{corpus}/lengths/{shard}/doc_lengths.parquet",
    params:
        lengths=canonical(config["lengths"]),
        shard=shard_index,
    log:
        "logs/{corpus}/lengths/{shard}.log",
    priority: 10  # the text law first: summary.md within minutes, before training and generation
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=30,
    retries: 1
    conda:
        "../../envs/extract.yaml"
    script:
        "../scripts/lengths.py"


rule lengths_merge:
    input:
        sentences=lengths_shards("sentences"),
        doc_lengths=lengths_shards("doc_lengths"),
    output:
        sentences="results/{corpus}/sentences.parquet",
        doc_lengths="results/{corpus}/doc_lengths.parquet",
    log:
        "logs/{corpus}/lengths_merge.log",
    priority: 10  # the text law first: summary.md within minutes, before training and generation
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=10,
    retries: 1
    conda:
        "../../envs/extract.yaml"
    script:
        "../scripts/lengths_merge.py"


# A sensitivity variant: the same documents and tokens, segmented another way. One job
# per (corpus, variant); it reuses the tokenize jobs' output.
rule lengths_variant:
    input:
        documents="results/{corpus}/documents.parquet",
        tokens=token_shards,
    output:
        doc_lengths="results/{corpus}/sensitivity/{variant}/doc_lengths.parquet",
    params:
        lengths=lambda wildcards: canonical({**config["lengths"], **SENSITIVITY[wildcards.variant]}),
        shards=lambda wildcards: [[i, corpus_spec(wildcards.corpus)["shards"]] for i in range(corpus_spec(wildcards.corpus)["shards"])],
    log:
        "logs/{corpus}/sensitivity/{variant}/lengths.log",
    # the longest jobs of a run (every shard of a corpus, segmented anew): started first
    # among the ready jobs, so that the short fit jobs fill the cores at the end instead of
    # one core waiting on the last variant (measured on the x4 corpus: 8 s of one core idle)
    priority: 11  # above the other text-law rules (10)
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=30,
    retries: 1
    conda:
        "../../envs/extract.yaml"
    script:
        "../scripts/lengths_variant.py"
