rule report_figures:
    input:
        doc_lengths="results/{corpus}/doc_lengths.parquet",
        documents="results/{corpus}/documents.parquet",
        fits="results/{corpus}/fit/fits.parquet",
    output:
        scatter=report(
            "results/{corpus}/figures/scatter.png",
            caption="../report/scatter.rst",
            category="S against L",
            subcategory="{corpus}",
        ),
        residuals=report(
            "results/{corpus}/figures/residuals.png",
            caption="../report/residuals.rst",
            category="S against L",
            subcategory="{corpus}",
        ),
        distributions=report(
            "results/{corpus}/figures/distributions.png",
            caption="../report/distributions.rst",
            category="Data",
            subcategory="{corpus}",
        ),
    params:
        units=config["fit"]["units"],
        color_by=config["report"]["color_by"],
    log:
        "logs/{corpus}/report_figures.log",
    priority: 10  # the text law first: summary.md within minutes, before training and generation
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/report_figures.py"


rule report_summary:
    input:
        fits=expand("results/{corpus}/fit/fits.parquet", corpus=CORPORA),
        summaries=expand("results/{corpus}/fit/summary.parquet", corpus=CORPORA),
        sensitivity=expand("results/{corpus}/fit/sensitivity.parquet", corpus=CORPORA),
        quality=expand("results/{corpus}/corpus_quality.json", corpus=CORPORA),
        doc_lengths=expand("results/{corpus}/doc_lengths.parquet", corpus=CORPORA),
        documents=expand("results/{corpus}/documents.parquet", corpus=CORPORA),
    output:
        markdown=report("results/report/summary.md", caption="../report/summary.rst", category="Summary"),
        quality=report(
            "results/report/quality.csv", caption="../report/quality.rst", category="Data"
        ),
        sensitivity=report(
            "results/report/sensitivity.png", caption="../report/sensitivity.rst", category="Summary"
        ),
    params:
        corpora=CORPORA,
        units=config["fit"]["units"],
        color_by=config["report"]["color_by"],
    log:
        "logs/report_summary.log",
    priority: 10  # the text law first: summary.md within minutes, before training and generation
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/report_summary.py"
