"""The report reads fit tables (never refits); the README's results table is the run's."""

import re

import numpy as np
import pandas as pd

from scalelaw import report
from scalelaw.fitting import results_frame
from scalelaw.fitting import sentence_length as SL
from scalelaw.fitting.summary import summary as fit_summary
from support.workflow_helpers import ROOT
from test_fit import corpus


def _summary_md():
    docs, sentences = corpus(40, beta=0.2, seed=3, max_sent=40)
    fits = results_frame(SL.fit_corpus(docs, sentences, corpus="synth", units=("words",),
                                       estimators=("ols_log",), null_reps=20))
    summary = fit_summary(fits)
    summary["robust"] = True
    return report.summary_markdown(summary, [{"corpus": "synth"}], fits, pd.DataFrame()), fits, docs


def test_readme_results_table_has_the_generated_shape():
    readme = (ROOT / "README.md").read_text()
    assert report.README_BEGIN in readme and report.README_END in readme
    block = readme.split(report.README_BEGIN)[1].split(report.README_END)[0].strip().splitlines()
    assert block[0] == "| " + " | ".join(report.RESULTS_COLUMNS) + " |"
    conclusions = [line.split(" | ")[-2] for line in block[2:]]
    assert conclusions and all(c in SL.conclusions.CONCLUSIONS for c in conclusions)


def test_update_readme_copies_the_run_table_verbatim():
    md, _, _ = _summary_md()
    readme = (ROOT / "README.md").read_text()
    updated = report.update_readme(readme, md)
    assert report.results_block(md) in updated
    assert report.update_readme(updated, md) == updated
    # everything outside the markers is untouched
    outside = lambda text: re.sub(re.escape(report.README_BEGIN) + ".*?" + re.escape(report.README_END), "",  # noqa: E731
                                  text, flags=re.S)
    assert outside(updated) == outside(readme)


def test_figures_draw_the_fitted_line_from_the_table(monkeypatch):
    md, fits, docs = _summary_md()
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
    assert "longer_sentences" in md or "conclusion" in md
