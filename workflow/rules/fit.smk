# Fit options that change only the fits: a change reruns fit, fit_variant, fit_summary and
# the report, never the lengths.
rule fit:
    input:
        doc_lengths="results/{corpus}/doc_lengths.parquet",
        sentences="results/{corpus}/sentences.parquet",
    output:
        fits="results/{corpus}/fit/fits.parquet",
        fits_json="results/{corpus}/fit/fits.json",
    params:
        fit=canonical(config["fit"]),
        estimators=config["fit"]["estimators"],
        laws=config["fit"]["laws"],
        variant=primary_variant(),
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


# One sensitivity variant: the primary estimator and its null on that variant's lengths.
rule fit_variant:
    input:
        doc_lengths="results/{corpus}/sensitivity/{variant}/doc_lengths.parquet",
    output:
        fits="results/{corpus}/sensitivity/{variant}/fits.parquet",
    params:
        fit=canonical(config["fit"]),
        estimators=["ols_log"],
        laws=[],
        variant=lambda wildcards: SENSITIVITY[wildcards.variant],
    log:
        "logs/{corpus}/sensitivity/{variant}/fit.log",
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=30,
    retries: 1
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/fit.py"


rule fit_summary:
    input:
        fits="results/{corpus}/fit/fits.parquet",
        variants=variant_fits,
    output:
        summary="results/{corpus}/fit/summary.parquet",
        sensitivity="results/{corpus}/fit/sensitivity.parquet",
    params:
        units=config["fit"]["units"],
    log:
        "logs/{corpus}/fit_summary.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/fit_summary.py"
