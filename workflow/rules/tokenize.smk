rule tokenize:
    input:
        documents="results/{corpus}/documents.parquet",
    output:
        tokens="results/{corpus}/tokens/{shard}.parquet",
    params:
        tokenizer=canonical(config["tokenizer"]),
        shard=shard_index,
    log:
        "logs/{corpus}/tokenize/{shard}.log",
    priority: 10  # the text law first: summary.md within minutes, before training and generation
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=30,
    retries: 1
    conda:
        "../../envs/extract.yaml"
    script:
        "../scripts/tokenize.py"
