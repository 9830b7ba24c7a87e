# A model ladder trained by the pipeline (config section `ladder:`) and law fits of any
# table (config section `law_tables:`).
#
# One job and one Parquet file per training run, named by size and token budget; a run's
# params are its own size, budget and training settings only, so adding a size or a
# budget trains only the runs it adds.
from scalelaw.ladder import design as _ladder_design

LADDER = config.get("ladder") or {}
LADDER_ON = bool(LADDER.get("enabled", False))
try:
    LADDER_RUNS = {r["run"]: r for r in _ladder_design.plan_runs(LADDER)} if LADDER_ON else {}
except _ladder_design.DesignError as _err:
    stop_on_config_errors([f"config: {_err}"])
LADDER_DIR = f"results/{LADDER.get('corpus') or '_disabled'}/ladder"
LADDER_GPU = 1 if str(LADDER.get("device", "cpu")).startswith("cuda") else 0
LAW_TABLES = config.get("law_tables") or {}


def _ladder_config_errors():
    lines = []
    if LADDER_ON and LADDER.get("corpus") not in CORPORA:
        lines.append(f"config: ladder.corpus: {LADDER.get('corpus')!r} is not in use_corpora ({', '.join(CORPORA)})")
    for name, spec in LAW_TABLES.items():
        if not os.path.isfile(spec["path"]):
            lines.append(f"config: law_tables.{name}.path: no file {spec['path']!r} (relative to {os.getcwd()})")
        elif not spec["path"].lower().endswith((".csv", ".parquet", ".pq")):
            lines.append(f"config: law_tables.{name}.path: {spec['path']!r} is not .csv or .parquet")
    return lines


stop_on_config_errors(_ladder_config_errors())


def ladder_figures():
    return {
        "loss_vs_n": f"{LADDER_DIR}/figures/loss_vs_N.png",
        "loss_vs_d": f"{LADDER_DIR}/figures/loss_vs_D.png",
        "frontier": f"{LADDER_DIR}/figures/compute_frontier.png",
        "curves": f"{LADDER_DIR}/figures/loss_curves.png",
    }


def ladder_targets():
    """Final outputs of the ladder and of every law table (empty when neither is configured)."""
    targets = [f"{LADDER_DIR}/report.md", *ladder_figures().values()] if LADDER_ON else []
    targets += expand("results/tables/{law_table}/report.md", law_table=list(LAW_TABLES))
    return targets


def ladder_run_params(wildcards):
    run = LADDER_RUNS[wildcards.run]
    return canonical(
        {
            "size": _ladder_design.size_spec(LADDER, run["size"]),
            "tokens": run["tokens"],
            "train": LADDER["train"],
            "device": LADDER["device"],
            "dtype": LADDER["dtype"],
        }
    )


wildcard_constraints:
    run="|".join(map(re.escape, LADDER_RUNS)) if LADDER_RUNS else "a^",
    law_table="|".join(map(re.escape, LAW_TABLES)) if LAW_TABLES else "a^",


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
        fit=canonical(LADDER.get("fit", {})),
        parameter_count=LADDER.get("parameter_count"),
        design=LADDER.get("design"),
        budgets={name: r["budget"] for name, r in LADDER_RUNS.items()},
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


def ladder_model_dir(size_name):
    """The Hugging Face folder of the largest-budget run of ladder size ``size_name``
    (written by ladder_train). Call it only inside input functions: generate.smk is
    included before this file."""
    runs = [r for r in LADDER_RUNS.values() if r["size"] == size_name]
    if not runs:
        raise ValueError(f"ladder.sizes: no size named {size_name!r} in the ladder (sizes: "
                         f"{', '.join(sorted({r['size'] for r in LADDER_RUNS.values()}))})")
    largest = max(runs, key=lambda r: (r["tokens"], r["run"]))
    return f"{LADDER_DIR}/models/{largest['run']}"


# One training job per GPU when jobs run on this machine: Snakemake limits a custom
# resource only when a limit is given, so without this every gpu=1 job would start at
# once on one card. `--resources gpu=N` (N cards) on the command line wins; a cluster
# executor (SLURM) schedules GPUs itself and gets no limit here.
if LADDER_GPU and workflow.local_exec and "gpu" not in workflow.global_resources:
    workflow.register_resource("gpu", 1)
    from snakemake.logging import logger as _logger

    _logger.info("ladder: one training job per GPU (resources gpu=1; --resources gpu=N for N cards)")
