"""The report reads fit tables (never refits), leads with the two answers, and the README's
results table is the run's."""

import re

import numpy as np
import pandas as pd
import pytest

from scalelaw import report
from scalelaw.fitting import conclusion, results_frame
from scalelaw.fitting import sentence_length as SL
from scalelaw.fitting.covariate import covariate_check
from scalelaw.fitting.sensitivity import variant_table, with_robustness
from scalelaw.fitting.summary import summary as fit_summary
from support.corpora import corpus
from support.workflow_helpers import ROOT


@pytest.fixture(scope="module")
def fitted():
    docs, sentences = corpus(40, beta=0.2, seed=3, max_sent=40)
    fits = results_frame(SL.fit_corpus(docs, sentences, corpus="synth", units=("words",),
                                       estimators=("ols_log", "count_glm"), null_reps=20,
                                       labels={"segmenter": "nupunkt", "paragraph_breaks": True}))
    summary = fit_summary(fits)
    summary = with_robustness(summary, variant_table([summary]))
    md = report.summary_markdown(summary, [{"corpus": "synth"}], fits, pd.DataFrame())
    return md, fits, docs, summary


def test_readme_results_table_has_the_generated_shape():
    readme = (ROOT / "README.md").read_text()
    assert report.README_BEGIN in readme and report.README_END in readme
    block = readme.split(report.README_BEGIN)[1].split(report.README_END)[0].strip().splitlines()
    assert block[0] == "| " + " | ".join(report.RESULTS_COLUMNS) + " |"
    for line in block[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        row = dict(zip(report.RESULTS_COLUMNS, cells))
        assert row["trend"] in conclusion.TRENDS and row["vs_null"] in conclusion.VS_NULL, line


def test_update_readme_copies_the_run_table_verbatim(fitted):
    md = fitted[0]
    readme = (ROOT / "README.md").read_text()
    updated = report.update_readme(readme, md)
    assert report.results_block(md) in updated
    assert report.update_readme(updated, md) == updated
    # everything outside the markers is untouched
    outside = lambda text: re.sub(re.escape(report.README_BEGIN) + ".*?" + re.escape(report.README_END), "",  # noqa: E731
                                  text, flags=re.S)
    assert outside(updated) == outside(readme)


def test_summary_leads_with_the_two_answers_in_words(fitted):
    md, _, _, summary = fitted
    row = summary.iloc[0]
    answers = md.split("## The answers")[1].split("## Results")[0]
    assert f"**{row.trend}**: {row.trend_statement}" in answers
    assert f"**{row.vs_null}**: {row.vs_null_statement}" in answers
    assert row.law_statement and f"*Best law:* {row.law_statement}" in answers
    estimators = "all 2 give the same two answers" if not row.estimator_disagreement else "disagree"
    assert estimators in answers
    assert f"*Robust:* {'yes' if row.robust else 'no'} ({row.robustness})" in answers
    # the results table holds the same words as the sentences above it
    table = report.results_block(md).splitlines()
    assert f"| {row.trend} |" in table[2] and f"| {row.vs_null} |" in table[2]


def test_disagreeing_units_and_estimators_get_a_line():
    base = dict(corpus="c", n=50, describes="the geometric mean of S", trend_statement="t", vs_null_statement="v",
                law_statement="", robust=False, robustness="units differ", reason="")
    summary = pd.DataFrame([
        {**base, "unit": "words", "trend": "increasing", "vs_null": "as_null", "estimator_disagreement": ""},
        {**base, "unit": "tokens", "trend": "increasing", "vs_null": "shorter_with_more_sentences",
         "estimator_disagreement": "vs_null: ols_log shorter_with_more_sentences, count_glm as_null"},
    ])
    md = report.summary_markdown(summary, [{"corpus": "c"}], results_frame([]), pd.DataFrame())
    assert "the units disagree (words: increasing / as_null; tokens: increasing / shorter_with_more_sentences)" in md
    assert "estimators disagree: vs_null: ols_log shorter_with_more_sentences, count_glm as_null" in md


def test_robustness_names_each_flag():
    row = dict(corpus="c", unit="words", b=0.1, trend="increasing", vs_null="as_null", estimator_disagreement="")
    primary = pd.DataFrame([row, {**row, "unit": "tokens"}])
    variants = variant_table([primary, primary.assign(vs_null="shorter_with_more_sentences", segmenter="blingfire",
                                                      paragraph_breaks=False)])
    out = with_robustness(primary, variants)
    assert not out["robust_segmentation"].any() and out["robust_estimators"].all() and out["robust_units"].all()
    assert not out["robust"].any() and (out["robustness"] == "segmentation variants differ").all()
    same = with_robustness(primary, variant_table([primary]))
    assert same["robust"].all()


def test_a_document_column_that_explains_s_is_named():
    rng = np.random.default_rng(0)
    year = rng.integers(1800, 2000, 300)
    n = rng.integers(5, 200, 300)
    S = np.where(year < 1900, 30.0, 18.0) * np.exp(0.05 * rng.standard_normal(300))
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(300)], "status": "ok", "n_sentences": n,
                         "L_words": n * S, "S_words_mean": S, "year": year})
    check = covariate_check(docs, "words", "year", corpus="c")
    assert check["explains_better"] and check["adj_r2_column"] > 0.8 > check["adj_r2_L"]
    assert check["statement"].startswith("year (10 equal-count bins) explains S better than L does")
    docs["year"] = rng.permutation(docs["year"].to_numpy())
    docs["S_words_mean"] = 6 * docs["L_words"] ** 0.2
    assert not covariate_check(docs, "words", "year")["explains_better"]
    assert covariate_check(docs, "words", "era") is None


def test_figures_draw_the_fit_the_null_and_the_best_law_from_the_table(fitted, monkeypatch):
    _, fits, docs, _ = fitted
    line = report.primary_line(fits, "words")
    b_row = fits[(fits["analysis"] == "sentence_length") & (fits["estimator"] == "ols_log")
                 & (fits["parameter"] == "b")]
    assert line["b"] == b_row["estimate"].iloc[0]
    import statsmodels.api as sm

    def no_refit(*a, **k):
        raise AssertionError("the report refitted")

    monkeypatch.setattr(sm, "OLS", no_refit)
    docs = docs.assign(year=np.arange(len(docs)))
    fig = report.scatter_figure(docs, fits, ["words"], "synth", color_by="year")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    fig.canvas.draw()
    assert any(t.get_text() for t in ax.get_xticklabels()) and any(t.get_text() for t in ax.get_yticklabels())
    assert len(fig.axes) == 2  # the colour bar of the year
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("fit: b = ") for label in labels)
    assert any(label.startswith(f"null: b_null = {report.null_line(fits, 'words'):.3f}") for label in labels)
    # the legend sits below the axes, outside the data
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.y1 <= ax.get_window_extent().y0
    # the best law's curve is drawn exactly when it is not the power law
    laws = fits[fits["analysis"] == "law_comparison"].dropna(subset=["aicc"])
    best = laws.loc[laws["aicc"].idxmin(), "law"]
    assert any(label.startswith("best law by AICc") for label in labels) == (best != "power")


def test_best_law_curve_is_drawn_when_the_power_law_loses():
    rng = np.random.default_rng(1)
    L = np.exp(rng.uniform(np.log(50), np.log(20_000), 400))
    S = 4 * L**0.4 * np.exp(-L / 4000) * np.exp(0.05 * rng.standard_normal(400))
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(400)], "status": "ok", "n_sentences": np.round(L / S),
                         "L_words": L, "S_words_mean": S})
    fits = results_frame(SL.fit_corpus(docs, None, corpus="ma", units=("words",), estimators=("ols_log",),
                                       null_reps=10))
    row = fit_summary(fits).iloc[0]
    assert row.best_law == "menzerath_altmann" and row.delta_aicc_power > 10
    assert "rises until L ≈" in row.law_statement and "the power law is not the best law" in row.law_statement
    fig = report.scatter_figure(docs, fits, ["words"], "ma")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "best law by AICc: menzerath_altmann" in labels
