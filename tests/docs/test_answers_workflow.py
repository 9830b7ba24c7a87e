"""Through Snakemake: a run ends with its answers, its HTML report opens on them, and
`--report` without the run's results says in one line what to pass."""

import pytest

from support.workflow_helpers import snakemake, write_config

pytestmark = pytest.mark.slow


def test_report_without_the_runs_results_says_what_to_pass(tmp_path):
    proc = snakemake(tmp_path / "empty", "--report", "report.html", check=False)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("scalelaw:")]
    assert proc.returncode == 1 and len(lines) == 1
    assert "results are missing" in lines[0] and "--configfile" in lines[0] and "--directory" in lines[0]
    assert "Missing metadata" not in proc.stderr and not (tmp_path / "empty" / "report.html").exists()


def test_run_ends_with_answers_and_report_opens_on_them(tmp_path):
    config = write_config(tmp_path / "small.yaml", **{
        "corpora.sotu.max_docs": 12, "fit.units": ["words"], "sensitivity.enabled": False})
    workdir = tmp_path / "run"
    proc = snakemake(workdir, "--cores", "2", configfile=config)
    tail = proc.stderr[proc.stderr.index("scalelaw: the answers of this run"):]
    assert "results/report/summary.md:" in tail and "lengths in words" in tail
    assert "scalelaw: reports: results/report/summary.md" in tail and "--report report.html --configfile" in tail

    snakemake(workdir, "--report", "report.html", configfile=config)
    html = (workdir / "report.html").read_text(errors="replace")
    assert "asks two questions of the corpora sotu" in html and "lengths in words" in html
