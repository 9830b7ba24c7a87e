"""End-to-end: the real workflow on a slice of the real corpus (tests/config/test.yaml)."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from scalelaw import io
from scalelaw.fitting import FIT_COLUMNS, expand_group
from scalelaw.fitting.conclusion import TRENDS, VS_NULL
from support.workflow_helpers import planned_jobs, snakemake, write_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run")
    snakemake(workdir, "--cores", "2")
    return workdir


def test_outputs_schemas_and_invariants(run_dir):
    res = run_dir / "results" / "sotu"
    quality = json.loads((res / "corpus_quality.json").read_text())
    docs = pd.read_parquet(res / "documents.parquet")
    doc_lengths = pd.read_parquet(res / "doc_lengths.parquet")
    sentences = pd.read_parquet(res / "sentences.parquet")

    assert quality["documents_read"] == 237 and quality["documents_kept"] == 24 == len(docs)
    # every document accounted for, in corpus order
    assert doc_lengths["doc_id"].tolist() == docs["doc_id"].tolist()
    assert set(doc_lengths["status"]) <= {"ok", "empty", "no_words"}
    # sentence rows sum to the document counts
    per_doc = sentences.groupby("doc_id", sort=False).agg(
        n=("sentence_index", "size"), words=("n_words", "sum"), tokens=("n_tokens", "sum"), chars=("n_chars", "sum")
    )
    merged = doc_lengths.set_index("doc_id").join(per_doc)
    assert (merged["n"] == merged["n_sentences"]).all()
    for unit in ("words", "tokens", "chars"):
        assert (merged[unit] == merged[f"L_{unit}"]).all()
        assert np.allclose(merged[f"L_{unit}"] / merged["n_sentences"], merged[f"S_{unit}_mean"])
    assert (sentences.groupby("doc_id")["sentence_index"].apply(lambda s: (s.values == np.arange(len(s))).all())).all()
    tokens = pd.concat(pd.read_parquet(p) for p in sorted((res / "tokens").glob("*.parquet")))
    assert (tokens["n_tokens"].to_numpy() == doc_lengths["n_tokens_document"].to_numpy()).all()

    # provenance in every Parquet file
    for path in res.rglob("*.parquet"):
        record = io.read_provenance(path)
        assert record["packages"]["pandas"] == pd.__version__, path
    assert io.read_provenance(res / "documents.parquet")["fingerprint"]
    assert io.read_provenance(res / "tokens" / "000of002.parquet")["tokenizer"]["name"] == "bundled:gpt2"

    fits = pd.read_parquet(res / "fit" / "fits.parquet")
    assert tuple(fits.columns) == FIT_COLUMNS
    fits = expand_group(fits)
    assert {"words", "tokens"} == set(fits["unit"])
    b = fits[(fits.parameter == "b") & (fits.analysis == "sentence_length")]
    assert {"ols_log", "gamma_glm", "count_glm", "huber"} <= set(b["estimator"])
    assert (b["ci_low"] <= b["estimate"]).all() and (b["estimate"] <= b["ci_high"]).all()
    assert (b["n"] == (doc_lengths["status"] == "ok").sum()).all()
    assert json.loads((res / "fit" / "fits.json").read_text())["fits"]

    summary_table = pd.read_parquet(res / "fit" / "summary.parquet")
    assert list(summary_table["unit"]) == ["words", "tokens"]
    assert summary_table["trend"].isin(TRENDS).all() and summary_table["vs_null"].isin(VS_NULL).all()
    assert summary_table["robust"].dtype == bool and (summary_table["n_variants"] == 4).all()
    variants = pd.read_parquet(res / "fit" / "sensitivity.parquet")
    assert len(variants) == 8 and variants["primary"].sum() == 2
    assert set(zip(variants["segmenter"], variants["paragraph_breaks"])) == {
        ("nupunkt", True), ("nupunkt", False), ("blingfire", True), ("blingfire", False)}

    summary = (run_dir / "results" / "report" / "summary.md").read_text()
    assert summary.index("## The answers") < summary.index("## Results") < summary.index("## Sensitivity to segmentation")
    for row in summary_table.itertuples():
        assert f"**{row.trend}**: {row.trend_statement}" in summary
        assert f"**{row.vs_null}**: {row.vs_null_statement}" in summary
    for fig in ("scatter", "residuals", "distributions"):
        assert (res / "figures" / f"{fig}.png").stat().st_size > 10_000
    assert (run_dir / "results" / "report" / "sensitivity.png").stat().st_size > 10_000


def test_finished_run_has_nothing_to_do(run_dir):
    assert planned_jobs(run_dir) == {}


def test_fit_option_change_reruns_only_fit_and_report(run_dir, tmp_path):
    config = write_config(tmp_path / "c.yaml", **{"fit.null_model.reps": 60})
    assert planned_jobs(run_dir, config) == {
        "fit": 2, "fit_variants": 1, "fit_summary": 1, "report_figures": 1, "report_summary": 1, "all": 1}


def test_color_option_change_reruns_only_the_report(run_dir, tmp_path):
    # the figures are coloured by it, and the summary says whether it explains S
    config = write_config(tmp_path / "c.yaml", **{"report.color_by": None})
    assert planned_jobs(run_dir, config) == {"report_figures": 1, "report_summary": 1, "all": 1}


def test_corpus_option_change_reruns_that_corpus_only(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("two")
    two = write_config(
        workdir / "two.yaml",
        **{
            "use_corpora": ["sotu", "modern"],
            "corpora.modern": {"source": "sotu", "max_docs": 12, "seed": 2, "shards": 1, "min_words": 3000},
            "corpora.sotu.max_docs": 12,
        },
    )
    snakemake(workdir, "--cores", "2", configfile=two)
    changed = write_config(workdir / "changed.yaml", base=two, **{"corpora.modern.min_words": 3500})
    jobs = planned_jobs(workdir, changed)
    assert jobs.pop("tokenize") == 1 and jobs.pop("lengths") == 1  # modern has one shard
    assert jobs == {"corpus": 1, "lengths_merge": 1, "fit": 2, "report_figures": 1, "report_summary": 1, "all": 1,
                    "lengths_variant": 3, "fit_variants": 1, "fit_summary": 1}
    # the untouched corpus keeps its files
    proc = snakemake(workdir, "-n", "--quiet", "--printshellcmds", configfile=changed)
    assert "results/sotu/" not in proc.stdout.replace("results/sotu/fit/summary.parquet", "").replace(
        "results/sotu/fit/sensitivity.parquet", "")


def test_results_do_not_depend_on_shards_or_cores(run_dir, tmp_path):
    one_shard = write_config(tmp_path / "one.yaml", **{"corpora.sotu.shards": 1})
    snakemake(tmp_path, "--cores", "1", configfile=one_shard)
    for name in ("sentences", "doc_lengths", "fit/fits", "fit/summary", "fit/sensitivity"):
        a = pd.read_parquet(run_dir / "results" / "sotu" / f"{name}.parquet")
        b = pd.read_parquet(tmp_path / "results" / "sotu" / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, b)


def test_report_html(run_dir):
    snakemake(run_dir, "--report", "report.html")
    html = (run_dir / "report.html").read_text(errors="replace")
    assert "scatter.png" in html and "summary.md" in html
