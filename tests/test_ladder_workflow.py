"""The ladder end to end in the real workflow, on a tiny config: runs, fits with finite
intervals, figures, report; adding a budget trains only the new runs; a law table."""

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


def test_isoflop_design_plans_one_run_per_budget_and_size(tmp_path):
    config = write_config(tmp_path / "c.yaml", base=TINY, **{"ladder.design": "isoflop",
                                                              "ladder.compute": [2e9, 6e9, 2e10]})
    jobs = planned_jobs(tmp_path, config, "results/sotu/ladder/report.md")
    assert jobs["ladder_train"] == 12 and jobs["ladder_fit"] == 1
    too_small = write_config(tmp_path / "s.yaml", base=TINY, **{"ladder.design": "isoflop", "ladder.compute": [1e6]})
    proc = snakemake(tmp_path, "-n", configfile=too_small, check=False)
    assert proc.returncode != 0 and "ladder.compute: budget 1e+06 gives size 'd16'" in proc.stderr
