rule fit:
    input:
        doc_lengths="results/{corpus}/doc_lengths.parquet",
        sentences="results/{corpus}/sentences.parquet",
    output:
        fits="results/{corpus}/fit/fits.parquet",
        fits_json="results/{corpus}/fit/fits.json",
        summary="results/{corpus}/fit/summary.parquet",
    params:
        fit=canonical(config["fit"]),
    log:
        "logs/{corpus}/fit.log",
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=60,
    retries: 1
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/fit.py"
