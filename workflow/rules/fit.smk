# Fit options that change only the fits: a change reruns fit, fit_variants, fit_summary and
# the report, never the lengths.
# One job per unit (words, tokens, ...): the units are fitted independently (each draws
# its own seeded generators), so the jobs run side by side; fit_summary joins them.
rule fit:
    input:
        doc_lengths="results/{corpus}/doc_lengths.parquet",
        sentences="results/{corpus}/sentences.parquet",
    output:
        fits="results/{corpus}/fit/units/{unit}.parquet",
    params:
        fit=canonical(config["fit"]),
        estimators=config["fit"]["estimators"],
        laws=config["fit"]["laws"],
        variants=[primary_variant()],
    wildcard_constraints:
        unit="|".join(config["fit"]["units"]),
    log:
        "logs/{corpus}/fit/{unit}.log",
    priority: 10  # the text law first: summary.md within minutes, before training and generation
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=60,
    retries: 1
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/fit.py"


# Every sensitivity variant of a corpus in one job: the primary estimator and its null
# on each variant's lengths. One job, not one per variant, because each fit takes well
# under a second and a job's start (Python, pandas, statsmodels) about two: a rerun after
# a fit option change paid that start once per variant.
if SENSITIVITY:

    rule fit_variants:
        input:
            doc_lengths=[f"results/{{corpus}}/sensitivity/{name}/doc_lengths.parquet" for name in SENSITIVITY],
        output:
            fits=[f"results/{{corpus}}/sensitivity/{name}/fits.parquet" for name in SENSITIVITY],
        params:
            fit=canonical(config["fit"]),
            estimators=["ols_log"],
            laws=[],
            variants=list(SENSITIVITY.values()),
        log:
            "logs/{corpus}/sensitivity/fit.log",
        priority: 10  # the text law first: summary.md within minutes, before training and generation
        threads: 1
        resources:
            mem_mb=lambda wildcards, attempt: 2000 * attempt,
            runtime=30,
        retries: 1
        conda:
            "../../envs/fit.yaml"
        script:
            "../scripts/fit.py"


# Joins the primary fits of every unit (fits.parquet, fits.json) and concludes: one row
# per unit, with the sensitivity variants' verdicts beside it.
rule fit_summary:
    input:
        units=expand("results/{{corpus}}/fit/units/{unit}.parquet", unit=config["fit"]["units"]),
        variants=variant_fits,
    output:
        fits="results/{corpus}/fit/fits.parquet",
        fits_json="results/{corpus}/fit/fits.json",
        summary="results/{corpus}/fit/summary.parquet",
        sensitivity="results/{corpus}/fit/sensitivity.parquet",
    params:
        units=config["fit"]["units"],
    log:
        "logs/{corpus}/fit_summary.log",
    priority: 10  # the text law first: summary.md within minutes, before training and generation
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/fit_summary.py"
