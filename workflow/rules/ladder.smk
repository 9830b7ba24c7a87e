# A model ladder trained by the pipeline (config section `ladder:`) and law fits of any
# table (config section `law_tables:`).
#
# One job and one Parquet file per training run, named by size and token budget; a run's
# params are its own size, budget and training settings only, so adding a size or a
# budget trains only the runs it adds.
# Everything below is asked of one LadderPlan (scalelaw/ladder/plan.py), built and checked
# once here: a mistake in the ladder or law_tables sections stops the run before any job.
from scalelaw.ladder import plan as _ladder_plan

try:
    LADDER_PLAN = _ladder_plan.plan_ladder(config)
except _ladder_plan.LadderConfigError as _err:
    stop_on_config_errors([f"config: {line}" for line in str(_err).splitlines()])
LADDER = LADDER_PLAN.settings
LADDER_ON = LADDER_PLAN.enabled
LADDER_RUNS = LADDER_PLAN.runs
LADDER_DIR = LADDER_PLAN.directory
LADDER_GPU = LADDER_PLAN.gpu
LAW_TABLES = LADDER_PLAN.law_tables


# names the rules and common.smk use (bound methods: no functions beside rules, for --lint)
ladder_figures = LADDER_PLAN.figures
ladder_targets = LADDER_PLAN.targets  # final outputs of the ladder and of every law table
ladder_run_params = LADDER_PLAN.job_params


wildcard_constraints:
    run=LADDER_PLAN.wildcard_pattern("run"),
    law_table=LADDER_PLAN.wildcard_pattern("law_table"),


rule ladder_data:
    """Split documents by doc_id (seeded), train a BPE on the training split, pack sequences."""
    input:
        documents=f"results/{LADDER.get('corpus')}/documents.parquet",
    output:
        tokenizer=f"{LADDER_DIR}/data/tokenizer.json",
        train=f"{LADDER_DIR}/data/train.npy",
        val=f"{LADDER_DIR}/data/val.npy",
        split=f"{LADDER_DIR}/data/split.parquet",
        facts=f"{LADDER_DIR}/data/data.json",
    params:
        data=canonical({k: LADDER.get(k) for k in ("val_fraction", "split_seed", "vocab_size", "seq_len",
                                                   "bpe_sample_chars")}),
    log:
        f"logs/ladder/data.log",
    threads: 1
    resources:
        mem_mb=int(LADDER.get("data_mem_mb", 3000)),
        runtime=int(LADDER.get("data_runtime", 30)),
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/ladder_data.py"


rule ladder_train:
    """One training run (size x token budget); resumes from its checkpoint after a kill.
    Writes the run's row (with its n-gram baselines) and the trained model as a Hugging
    Face folder (docs/methods/ladder.md, "Trained models")."""
    input:
        train=rules.ladder_data.output.train,
        val=rules.ladder_data.output.val,
        facts=rules.ladder_data.output.facts,
        tokenizer=rules.ladder_data.output.tokenizer,
    output:
        run=f"{LADDER_DIR}/runs/{{run}}.parquet",
        model=directory(f"{LADDER_DIR}/models/{{run}}"),
    params:
        spec=ladder_run_params,
        checkpoint=lambda w: f"{LADDER_DIR}/checkpoints/{w.run}.pt",
        corpus=LADDER.get("corpus"),
    log:
        "logs/ladder/train/{run}.log",
    threads: int(LADDER.get("threads", 2))
    resources:
        mem_mb=int(LADDER.get("mem_mb", 3000)),
        runtime=int(LADDER.get("runtime", 60)),
        gpu=LADDER_GPU,
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/ladder_train.py"


rule ladder_fit:
    """Approach 3 L(N, D), Approach 2 IsoFLOP parabolas, L(N) and L(D), with intervals."""
    input:
        runs=expand(f"{LADDER_DIR}/runs/{{run}}.parquet", run=list(LADDER_RUNS)),
    output:
        runs=f"{LADDER_DIR}/runs.parquet",
        curves=f"{LADDER_DIR}/curves.parquet",
        fits=f"{LADDER_DIR}/fits.parquet",
        isoflop=f"{LADDER_DIR}/isoflop.parquet",
        summary=f"{LADDER_DIR}/summary.json",
    params:
        fit=canonical(LADDER.get("fit") or {}),
        parameter_count=LADDER.get("parameter_count"),
        design=LADDER.get("design"),
        budgets=LADDER_PLAN.budgets(),
    log:
        "logs/ladder/fit.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/ladder_fit.py"


rule ladder_figures:
    input:
        runs=rules.ladder_fit.output.runs,
        curves=rules.ladder_fit.output.curves,
        fits=rules.ladder_fit.output.fits,
        isoflop=rules.ladder_fit.output.isoflop,
    output:
        **{
            key: report(path, category="Model ladder", caption="../report/ladder.rst")
            for key, path in ladder_figures().items()
        },
    log:
        "logs/ladder/figures.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/ladder_figures.py"


rule ladder_report:
    input:
        runs=rules.ladder_fit.output.runs,
        fits=rules.ladder_fit.output.fits,
        isoflop=rules.ladder_fit.output.isoflop,
        summary=rules.ladder_fit.output.summary,
        facts=rules.ladder_data.output.facts,
        figures=list(ladder_figures().values()),
    output:
        report(f"{LADDER_DIR}/report.md", category="Model ladder", caption="../report/ladder_report.rst"),
    log:
        "logs/ladder/report.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/ladder_report.py"


rule law_table_fit:
    """Any table, any law: a CSV or Parquet file, x columns, a y column, a law from the registry."""
    input:
        table=lambda w: LAW_TABLES[w.law_table]["path"],
    output:
        fits="results/tables/{law_table}/fits.parquet",
        report=report("results/tables/{law_table}/report.md", category="Law tables", caption="../report/ladder_table.rst"),
    params:
        spec=lambda w: canonical(LAW_TABLES[w.law_table]),
    log:
        "logs/tables/{law_table}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/ladder_table.py"


# One training job per GPU when jobs run on this machine: Snakemake limits a custom
# resource only when a limit is given, so without this every gpu=1 job would start at
# once on one card. `--resources gpu=N` (N cards) on the command line wins; a cluster
# executor (SLURM) schedules GPUs itself and gets no limit here.
if LADDER_GPU and workflow.local_exec and "gpu" not in workflow.global_resources:
    workflow.register_resource("gpu", 1)
    from snakemake.logging import logger as _logger

    _logger.info("ladder: one training job per GPU (resources gpu=1; --resources gpu=N for N cards)")
