rule corpus:
    input:
        # the files a corpus reads, with checksums: a changed, added or removed file reruns it
        manifest=corpus_manifest,
    output:
        documents="results/{corpus}/documents.parquet",
        quality="results/{corpus}/corpus_quality.json",
    params:
        spec=corpus_load_params,
    log:
        "logs/{corpus}/corpus.log",
    priority: 10  # the text law first: summary.md within minutes, before training and generation
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=30,
    retries: 1
    conda:
        "../../envs/corpus.yaml"
    script:
        "../scripts/corpus.py"
