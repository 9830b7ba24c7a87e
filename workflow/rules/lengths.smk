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
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=30,
        attempt=lambda wildcards, attempt: attempt,  # a data error stops its retry at once (logs.job)
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
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=10,
    retries: 1
    conda:
        "../../envs/extract.yaml"
    script:
        "../scripts/lengths_merge.py"
