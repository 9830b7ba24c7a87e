"""fit_corpus, the pipeline's entry: the shared table, its summary, seeded reruns, bad input."""

import numpy as np
import pandas as pd
import pytest

from scalelaw.fitting import LAWS, conclusion, results_frame
from scalelaw.fitting import sentence_length as SL
from scalelaw.fitting.summary import summary as fit_summary
from support.corpora import corpus


# ------------------------------------------------------------------------ pipeline entry

FAST = dict(estimators=("ols_log", "count_glm"), null_reps=50)


@pytest.fixture(scope="module")
def small_corpus():
    docs, sentences = corpus(60, beta=0.2, seed=9, max_sent=60)
    docs.loc[0, "status"] = "no_sentences"
    docs.loc[1, "S_words_mean"] = 0.0
    return docs, sentences


@pytest.fixture(scope="module")
def small_fits(small_corpus):
    return results_frame(SL.fit_corpus(*small_corpus, corpus="synth", **FAST))


def test_fit_table_is_the_shared_schema(small_fits):
    from scalelaw.fitting import FIT_COLUMNS, expand_group

    fits = expand_group(small_fits)
    assert tuple(small_fits.columns) == FIT_COLUMNS
    key = ["corpus", "unit", "analysis", "estimator", "law", "parameter"]
    assert not fits.duplicated(key).any()
    for unit in ("words", "tokens"):
        rows = fits[fits["unit"] == unit]
        assert (rows["x"] == f"L_{unit}").all() and (rows["y"] == f"S_{unit}_mean").all()
        for est in FAST["estimators"]:
            sel = rows[(rows["analysis"] == "sentence_length") & (rows["estimator"] == est)]
            assert sorted(sel["parameter"]) == ["a", "b"]
            assert sel["ci_method"].str.startswith("BCa bootstrap over documents").all()
            null = rows[(rows["analysis"] == "null_document") & (rows["estimator"] == est)]
            assert sorted(null["parameter"]) == ["b_minus_null", "b_null"]
        laws = rows[rows["analysis"] == "law_comparison"]
        for law in ("power", "menzerath_altmann", "linear", "constant"):
            assert list(laws.loc[laws["law"] == law, "parameter"]) == list(LAWS[law].params)
        assert laws["aicc"].notna().all() and (laws["aicc_scale"] == f"log S_{unit}_mean (Gaussian)").all()
        assert len(rows[rows["analysis"] == "null_sentence_shuffle"]) == 1
    # Exclusions are per unit: the zero S_words_mean only removes a document from "words".
    assert (fits.loc[fits["unit"] == "words", "n"] == 58).all()
    assert (fits.loc[fits["unit"] == "tokens", "n"] == 59).all()
    assert (fits["ci_low"] <= fits["ci_high"]).all()


def test_summary_gives_two_answers_from_their_intervals(small_fits):
    table = fit_summary(small_fits)
    assert list(table["unit"]) == ["words", "tokens"]
    assert {"b", "ci_low", "ci_high", "b_null", "b_minus_null", "b_minus_null_low", "best_law", "delta_aicc_power",
            "law_statement", "trend", "vs_null", "trend_statement", "vs_null_statement", "describes",
            "b_count_glm", "trend_count_glm", "vs_null_count_glm", "estimator_disagreement"} <= set(table.columns)
    assert "conclusion" not in table.columns
    for row in table.itertuples():
        assert row.trend == conclusion.trend(row.ci_low, row.ci_high)
        assert row.vs_null == conclusion.vs_null(row.b_minus_null_low, row.b_minus_null_high)
        assert row.trend_statement == conclusion.trend_statement(
            row.trend, b=row.b, b_low=row.ci_low, b_high=row.ci_high, describes=row.describes, unit=row.unit)
        assert row.describes == "the geometric mean of S"
        disagree = (row.trend, row.vs_null) != (row.trend_count_glm, row.vs_null_count_glm)
        assert bool(row.estimator_disagreement) == disagree


def test_same_seed_same_table(small_corpus, small_fits):
    again = results_frame(SL.fit_corpus(*small_corpus, corpus="synth", **FAST))
    pd.testing.assert_frame_equal(small_fits, again)
    other = results_frame(SL.fit_corpus(*small_corpus, corpus="synth", seed=1, **FAST))
    assert not other["ci_low"].equals(small_fits["ci_low"])


def test_insufficient_data_names_corpus_and_counts():
    docs, sentences = corpus(12, seed=10)
    docs.loc[:4, "status"] = "no_words"
    with pytest.raises(SL.InsufficientData, match=r"corpus 'tiny', unit 'words': 7 usable documents of 12"):
        SL.fit_corpus(docs, sentences, corpus="tiny", **FAST)


def test_no_spread_in_length_is_insufficient():
    docs, sentences = corpus(20, seed=11)
    docs["L_words"] = 500
    with pytest.raises(SL.InsufficientData, match=r"'flat', unit 'words': L \(document length\) is 500 in all"):
        SL.fit_corpus(docs, sentences, corpus="flat", units=("words",), **FAST)


def test_rejects_unknown_estimator(small_corpus):
    with pytest.raises(ValueError, match="unknown estimator"):
        SL.fit_corpus(*small_corpus, corpus="synth", estimators=("ols_log", "lasso"))


def test_quantile_estimator_works_end_to_end(small_corpus):
    # the config schema accepts quantile_<q> from the registry; every resample is a QuantReg fit
    docs, _ = small_corpus
    ok = docs[(docs["status"] == "ok") & (docs["S_words_mean"] > 0)]
    rec, null = SL.fit_with_null("quantile_0.5", ok["L_words"], ok["S_words_mean"], ok["n_sentences"],
                                 n_resamples=150, null_reps=10, seed=0)
    assert np.isfinite([rec["b"].ci_low, rec["b"].ci_high]).all() and rec.n_failed_resamples < 15
    assert null.diagnostics["draws_per_resample"] == 2  # refitted one by one: the fewest draws
    assert null.diagnostics["trend"] in conclusion.TRENDS and null.diagnostics["vs_null"] in conclusion.VS_NULL
    assert np.isfinite(null["b_minus_null"].ci_low)


@pytest.mark.slow
def test_defaults_on_250_documents_fill_every_interval():
    docs, sentences = corpus(250, beta=0.2, seed=12)
    fits = results_frame(SL.fit_corpus(docs, sentences, corpus="synth"))
    est = fits[fits["analysis"] == "sentence_length"]
    assert set(est["estimator"]) == set(SL.DEFAULT_ESTIMATORS)
    assert fits["ci_low"].notna().all() and est["se"].notna().all()
    assert len(fit_summary(fits)) == 2
