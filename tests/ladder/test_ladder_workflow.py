"""The ladder end to end in the real workflow, on a tiny config: runs with their n-gram
baselines and exported models, fits with finite intervals, figures, report; adding a
budget trains only the new runs; a law table; one training job per GPU; the GPU check
script as a dry run on the CPU."""

import json

import pandas as pd
import pytest

from scalelaw.fitting.result import expand_group
from support.workflow_helpers import ROOT, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.slow
TINY = ROOT / "tests" / "config" / "ladder_tiny.yaml"
CHINCHILLA = str(ROOT / "data" / "chinchilla" / "svg_extracted_data.csv")


def test_tiny_ladder_end_to_end(tmp_path):
    config = write_config(tmp_path / "config.yaml", base=TINY, **{"law_tables": {"chinchilla": {
        "path": CHINCHILLA, "x": ["N", "D"], "y": "loss", "law": "chinchilla", "drop_highest": 5,
        "columns": {"N": "`Model Size`", "D": "`Training FLOP` / (6 * `Model Size`)"},
        "fit": {"n_bootstrap": 50}}}})
    work = tmp_path / "work"
    snakemake(work, "--cores", "2", "results/sotu/ladder/report.md", "results/tables/chinchilla/report.md",
              configfile=config)
    ladder = work / "results" / "sotu" / "ladder"
    runs = pd.read_parquet(ladder / "runs.parquet")
    assert len(runs) == 12 and runs["run"].is_unique
    for col in ("val_loss", "params_total", "params_non_embedding", "tokens_seen", "flops_6nd", "train_seconds",
                "tokens_per_s", "matmul_fraction", "device", "dtype", "seed", "epochs"):
        assert runs[col].notna().all(), col
    assert (runs["flops_6nd"] == 6 * runs["params_total"] * runs["tokens_seen"]).all()
    assert (runs["params_total"] - runs["params_non_embedding"] == runs["output_layer_params"]).all()
    base = runs[["unigram_val_loss", "bigram_val_loss", "trigram_val_loss"]]
    assert base.notna().all().all() and (base["unigram_val_loss"] > base["bigram_val_loss"]).all()
    for run in runs["run"]:
        card = json.loads((ladder / "models" / run / "ladder_model.json").read_text())
        assert card["run"] == run and card["corpus"] == "sotu"
        assert (ladder / "models" / run / "model.safetensors").exists()
    split = pd.read_parquet(ladder / "data" / "split.parquet")
    assert set(split["split"]) == {"train", "val"} and split["doc_id"].is_unique
    curves = pd.read_parquet(ladder / "curves.parquet")
    assert set(curves["run"]) == set(runs["run"]) and curves.groupby("run").size().min() >= 2
    fits = expand_group(pd.read_parquet(ladder / "fits.parquet"))
    main = fits[fits["fit"] == "L(N,D)"]
    assert set(main["parameter"]) >= {"E", "A", "B", "alpha", "beta"}
    # an interval for each parameter, or none and the reason (scalelaw.fitting.law_intervals)
    has_interval = main[["ci_low", "ci_high"]].notna().all(axis=1)
    assert (has_interval | main["ci_method"].str.startswith("not identified")).all()
    for name in ("loss_vs_N", "loss_vs_D", "compute_frontier", "loss_curves"):
        assert (ladder / "figures" / f"{name}.png").stat().st_size > 1000
    report = (ladder / "report.md").read_text()
    assert "Kaplan" in report and "Chinchilla" in report and "Leave-largest-out" in report
    assert "## Against n-gram baselines" in report
    losing = runs[~(runs["val_loss"] < runs["bigram_val_loss"])]
    assert ("smoke test of the machinery" in report) == (len(losing) > 0)
    table_fits = pd.read_parquet(work / "results" / "tables" / "chinchilla" / "fits.parquet")
    assert len(table_fits) == 7 and json.loads(table_fits["diagnostics"][0])["counts"]["fitted"] == 240
    assert not list((ladder / "checkpoints").glob("*.pt"))  # removed once a run is written

    targets = ("results/sotu/ladder/report.md", "results/tables/chinchilla/report.md")
    assert planned_jobs(work, config, *targets) == {}  # a rerun does nothing
    bigger = write_config(tmp_path / "bigger.yaml", base=config, **{"ladder.tokens": [4096, 8192, 16384, 32768]})
    jobs = planned_jobs(work, bigger, *targets)
    assert jobs.get("ladder_train") == 4  # one new run per size, nothing else retrained
    assert "ladder_data" not in jobs


def test_config_mistakes_stop_the_run_with_one_line(tmp_path):
    config = write_config(tmp_path / "c.yaml", base=TINY, **{"ladder.corpus": "nope",
                                                              "law_tables": {"t": {"path": "missing.csv", "x": ["a"], "y": "b", "law": "saturating_power"}}})
    proc = snakemake(tmp_path, "-n", configfile=config, check=False)
    assert proc.returncode != 0
    # a corpus not in use is replaced by the first of use_corpora, with a note (scalelaw.config)
    assert "ladder.corpus 'nope' is not in use_corpora; using 'sotu'" in proc.stderr
    assert "law_tables.t.path: no file 'missing.csv'" in proc.stderr


def test_cuda_training_jobs_request_a_gpu(tmp_path):
    config = write_config(tmp_path / "c.yaml", base=TINY, **{"ladder.device": "cuda"})
    proc = snakemake(tmp_path, "-n", "results/sotu/ladder/report.md", configfile=config)
    text = proc.stdout + proc.stderr
    blocks = text.split("rule ")
    train = [b for b in blocks if b.startswith("ladder_train")]
    assert len(train) == 12 and all("gpu=1" in b for b in train)
    assert all("gpu=1" not in b for b in blocks if b.startswith("ladder_fit"))
    assert "one training job per GPU" in text  # the local gpu limit is registered


def test_a_gpu_resource_limit_runs_one_gpu_job_at_a_time(tmp_path):
    """What ladder.smk relies on: a registered gpu=1 limit serialises gpu=1 jobs locally."""
    (tmp_path / "Snakefile").write_text(
        'if workflow.local_exec and "gpu" not in workflow.global_resources:\n'
        '    workflow.register_resource("gpu", 1)\n'
        'rule all:\n    input: expand("j{i}.txt", i=range(3))\n'
        'rule j:\n    output: "j{i}.txt"\n    resources: gpu=1\n'
        '    shell: "date +%s.%N > {output}; sleep 1; date +%s.%N >> {output}"\n')
    import subprocess
    import sys
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "3", "-q", "-d", str(tmp_path),
                    "-s", str(tmp_path / "Snakefile")], check=True, capture_output=True)
    spans = sorted(tuple(map(float, (tmp_path / f"j{i}.txt").read_text().split())) for i in range(3))
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # no two jobs overlap


def test_gpu_check_script_runs_on_the_cpu_as_a_dry_check(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--device", "cpu", "--steps", "8",
                           "--limit", "840", "--out", str(tmp_path)], capture_output=True, text=True, timeout=900,
                          env={**__import__("os").environ, "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["resume"]["same_loss"] and report["resume"]["killed_and_resumed"]["resumed"] != "[]"
    assert report["dtype_check"]["within_noise"] and report["generate"]["new_tokens"] > 0
    assert {r["size"] for r in report["sizes"]} == {"d32l2", "d64l2"}
    assert "all checks passed" in proc.stdout


def test_isoflop_design_plans_one_run_per_budget_and_size(tmp_path):
    config = write_config(tmp_path / "c.yaml", base=TINY, **{"ladder.design": "isoflop",
                                                              "ladder.compute": [2e9, 6e9, 2e10]})
    jobs = planned_jobs(tmp_path, config, "results/sotu/ladder/report.md")
    assert jobs["ladder_train"] == 12 and jobs["ladder_fit"] == 1
    too_small = write_config(tmp_path / "s.yaml", base=TINY, **{"ladder.design": "isoflop", "ladder.compute": [1e6]})
    proc = snakemake(tmp_path, "-n", configfile=too_small, check=False)
    assert proc.returncode != 0 and "ladder.compute: budget 1e+06 gives size 'd16'" in proc.stderr
