"""Tests of scalelaw.fit on synthetic data with a known truth.

Every check here can fail: estimators must recover parameters that were put in, the
bootstrap must cover the truth at about its nominal rate, the law comparison must pick
the law that generated the data, and the null model must separate a built-in exponent
from a ratio artifact.  No exponent of real data is asserted.
"""


import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from scalelaw import fit

A_TRUE, B_TRUE, SIGMA = 3.0, 0.15, 0.25


def power_data(n, *, a=A_TRUE, b=B_TRUE, sigma=SIGMA, seed=0, n_decades=3, L0=100.0):
    """L log-uniform over n_decades, S = a L^b times lognormal noise (median a L^b)."""
    rng = np.random.default_rng(seed)
    L = L0 * 10 ** rng.uniform(0, n_decades, n)
    S = a * L**b * rng.lognormal(0.0, sigma, n)
    return L, S


def count_data(n, *, a=A_TRUE, b=B_TRUE, seed=0):
    """Sentence counts consistent with S = a L^b: E[n_sent] = L^(1-b) / a, Poisson noise."""
    rng = np.random.default_rng(seed)
    L = np.round(100 * 10 ** rng.uniform(0, 3, n))
    counts = np.maximum(rng.poisson(L ** (1 - b) / a), 1).astype(float)
    return L, L / counts, counts


def corpus(n_docs=120, *, beta=0.0, seed=0, max_sent=300):
    """A document table and a sentence table as docs/contracts.md describes them.

    Each document draws a sentence count; its sentences draw lengths around a mean that
    grows as n_sent^beta (beta = 0: i.i.d. sentence lengths across the corpus).
    """
    rng = np.random.default_rng(seed)
    n_sent = np.round(np.exp(rng.uniform(np.log(2), np.log(max_sent), n_docs))).astype(int)
    mean = 8.0 * n_sent**beta * (rng.lognormal(0.0, 0.2, n_docs) if beta else 1.0)
    doc_ids = np.array([f"doc{i:04d}" for i in range(n_docs)])
    doc_of = np.repeat(np.arange(n_docs), n_sent)
    words = rng.poisson(np.repeat(mean, n_sent)) + 1
    tokens = np.round(1.3 * words).astype(int) + rng.poisson(1.0, words.size)
    sentences = pd.DataFrame({
        "corpus": "synth",
        "doc_id": doc_ids[doc_of],
        "sentence_index": np.concatenate([np.arange(k) for k in n_sent]).astype(np.int32),
        "n_words": words.astype(np.int64),
        "n_tokens": tokens.astype(np.int64),
        "n_chars": (6 * words).astype(np.int64),
    })
    g = sentences.groupby("doc_id", sort=False)
    docs = pd.DataFrame({
        "corpus": "synth",
        "doc_id": doc_ids,
        "n_sentences": g.size().to_numpy(),
        "L_words": g["n_words"].sum().to_numpy(),
        "L_tokens": g["n_tokens"].sum().to_numpy(),
        "S_words_mean": g["n_words"].mean().to_numpy(),
        "S_tokens_mean": g["n_tokens"].mean().to_numpy(),
        "status": "ok",
    })
    return docs, sentences


# ------------------------------------------------------------------------ estimators


@pytest.mark.parametrize("name", ["ols_log", "huber", "quantile_0.5"])
def test_log_scale_estimators_recover_median_law(name):
    L, S = power_data(2000, seed=1)
    rec = fit.get_estimator(name)(L, S)
    assert rec.estimator == name and rec.n == 2000 and rec.se_type and rec.r2_scale
    assert abs(rec.b - B_TRUE) < 0.02
    assert abs(rec.b - B_TRUE) < 4 * rec.se_b
    assert rec.a == pytest.approx(A_TRUE, rel=0.1)
    assert 0 < rec.pseudo_r2 < 1


def test_gamma_glm_recovers_mean_law():
    # The Gamma GLM models E[S], which is a L^b exp(sigma^2 / 2) under lognormal noise.
    L, S = power_data(2000, seed=2)
    rec = fit.gamma_glm(L, S)
    assert abs(rec.b - B_TRUE) < 0.02
    assert rec.a == pytest.approx(A_TRUE * np.exp(SIGMA**2 / 2), rel=0.1)
    assert "Cox-Snell" in rec.r2_scale and 0 < rec.pseudo_r2 < 1


def test_gamma_glm_pseudo_r2_is_not_inflated():
    # On log-normal data the likelihood-ratio R2 of the Gamma GLM should be near the R2 of
    # OLS on logs; evaluating the null at the full model's dispersion would inflate it.
    L, S = power_data(500, seed=3, b=0.3)
    assert fit.gamma_glm(L, S).pseudo_r2 == pytest.approx(fit.ols_log(L, S).pseudo_r2, abs=0.08)


def test_count_glm_recovers_law_from_sentence_counts():
    L, S, counts = count_data(2000, seed=3)
    rec = fit.count_glm(L, S, counts)
    assert abs(rec.b - B_TRUE) < 0.01
    assert rec.a == pytest.approx(A_TRUE, rel=0.05)
    assert rec.diagnostics["gamma"] == pytest.approx(1 - rec.b)
    assert rec.diagnostics["counts_from"] == "n_sentences"


@pytest.mark.parametrize("q", [0.1, 0.9])
def test_outer_quantiles_shift_a_not_b(q):
    L, S = power_data(3000, seed=4)
    rec = fit.get_estimator(f"quantile_{q}")(L, S)
    assert abs(rec.b - B_TRUE) < 0.03
    assert rec.a == pytest.approx(A_TRUE * np.exp(SIGMA * stats.norm.ppf(q)), rel=0.12)


def test_ols_log_diagnostics_flag_heteroskedasticity_and_curvature():
    rng = np.random.default_rng(5)
    L = 100 * 10 ** rng.uniform(0, 3, 800)
    clean = fit.ols_log(L, A_TRUE * L**B_TRUE * rng.lognormal(0, 0.2, L.size))
    hetero = fit.ols_log(L, A_TRUE * L**B_TRUE * rng.lognormal(0, 0.05 * np.log(L)))
    curved = fit.ols_log(L, A_TRUE * L**B_TRUE * np.exp(-4e-5 * L) * rng.lognormal(0, 0.1, L.size))
    assert clean.diagnostics["bp_pvalue"] > 0.01 and clean.diagnostics["reset_pvalue"] > 0.01
    assert hetero.diagnostics["bp_pvalue"] < 1e-3
    assert curved.diagnostics["reset_pvalue"] < 1e-3


def test_ols_log_matches_power_law_fit():
    L, S = power_data(300, seed=6)
    rec, law = fit.ols_log(L, S), fit.fit_law(L, S, "power")
    assert law.params["b"] == pytest.approx(rec.b, rel=1e-6)
    assert law.params["a"] == pytest.approx(rec.a, rel=1e-6)
    # The Gaussian log-likelihood on log y is the OLS one.
    llf = sm.OLS(np.log(S), sm.add_constant(np.log(L))).fit().llf
    assert law.loglik == pytest.approx(llf, rel=1e-9)


# ------------------------------------------------------------------------ bootstrap


def test_bca_interval_covers_true_b_at_nominal_rate():
    covered = 0
    for rep in range(20):
        L, S = power_data(200, seed=100 + rep, sigma=0.3)
        ci = fit.bootstrap_ci(L, S, "ols_log", n_resamples=1000, seed=rep)["b"]
        assert ci.low < fit.ols_log(L, S).b < ci.high
        covered += ci.low <= B_TRUE <= ci.high
    assert covered >= 16


def test_bootstrap_is_seeded_and_names_its_method():
    L, S = power_data(150, seed=7)
    one = fit.bootstrap_ci(L, S, "ols_log", seed=11)
    assert one == fit.bootstrap_ci(L, S, "ols_log", seed=11)
    assert one != fit.bootstrap_ci(L, S, "ols_log", seed=12)
    assert one["b"].method == "BCa bootstrap over documents, 1000 resamples"
    assert one["a"].low < fit.ols_log(L, S).a < one["a"].high


def test_looped_bootstrap_for_count_glm_covers_truth():
    L, S, counts = count_data(60, seed=8)
    cis = fit.bootstrap_ci(L, S, "count_glm", counts=counts, seed=1)
    assert cis["b"].low < B_TRUE < cis["b"].high
    assert cis["a"].low < A_TRUE < cis["a"].high


@pytest.mark.parametrize(
    "L, S, kwargs, message",
    [
        (np.full(20, 50.0), np.linspace(5, 10, 20), {}, "all x values are equal"),
        (np.arange(1.0, 6.0), np.arange(1.0, 6.0), {}, "too few observations"),
        (np.arange(1.0, 21.0), np.arange(1.0, 21.0), {"n_resamples": 200}, "n_resamples"),
        (np.arange(0.0, 20.0), np.arange(1.0, 21.0), {}, "must be > 0"),
    ],
)
def test_bootstrap_rejects_degenerate_input(L, S, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit.bootstrap_ci(L, S, "ols_log", **kwargs)


# ------------------------------------------------------------------------ laws

LAW_TRUTH = {
    "power": ({"a": 3.0, "b": 0.2}, (10.0, 1e4)),
    "menzerath_altmann": ({"a": 5.0, "b": 0.3, "c": -0.002}, (1.0, 1000.0)),
    "linear": ({"a": 2.0, "b": 0.05}, (1.0, 100.0)),
    "constant": ({"a": 4.0}, (1.0, 100.0)),
    "saturating_power": ({"E": 1.8, "A": 480.0, "alpha": 0.35}, (1e7, 1e11)),
}


def law_data(name, n=300, sigma=0.01, seed=0):
    truth, (lo, hi) = LAW_TRUTH[name]
    rng = np.random.default_rng(seed)
    x = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    y = fit.LAWS[name].predict(x, np.array(list(truth.values()))) * rng.lognormal(0, sigma, n)
    return x, y, truth


def test_every_registered_law_has_a_truth_to_recover():
    assert set(LAW_TRUTH) == set(fit.LAWS)


@pytest.mark.parametrize("name", sorted(LAW_TRUTH))
def test_law_recovers_its_own_parameters(name):
    x, y, truth = law_data(name)
    res = fit.fit_law(x, y, name)
    assert res.converged and res.n == x.size and res.k == len(truth) + 1
    for param, value in truth.items():
        assert res.params[param] == pytest.approx(value, rel=0.05), param
        assert np.isfinite(res.se[param]) and res.se[param] > 0
        assert abs(res.params[param] - value) < 5 * res.se[param], param
        low, high = res.ci()[param]
        assert low < res.params[param] < high


def test_saturating_power_with_realistic_noise():
    x, y, truth = law_data("saturating_power", n=120, sigma=0.02, seed=3)
    res = fit.fit_law(x, y, "saturating_power")
    assert res.params["E"] == pytest.approx(truth["E"], rel=0.05)
    assert res.params["alpha"] == pytest.approx(truth["alpha"], rel=0.15)
    assert res.params["A"] == pytest.approx(truth["A"], rel=0.6)


def test_huber_loss_resists_outliers():
    x, y, truth = law_data("power", n=200, sigma=0.05, seed=4)
    y = y.copy()
    y[np.argsort(x)[-10:]] *= 20.0  # the ten largest x get wild values
    plain = fit.fit_law(x, y, "power")
    robust = fit.fit_law(x, y, "power", loss="huber")
    assert robust.f_scale is not None and robust.loss == "huber"
    assert abs(robust.params["b"] - truth["b"]) < 0.02
    assert abs(plain.params["b"] - truth["b"]) > 3 * abs(robust.params["b"] - truth["b"])


def test_compare_laws_prefers_menzerath_altmann_when_c_is_clear():
    x, y, _ = law_data("menzerath_altmann", n=200, sigma=0.05, seed=5)
    table = fit.compare_laws(x, y, ["power", "menzerath_altmann", "linear", "constant"])
    assert list(table.columns) == [
        "law", "formula", "k", "n", "loglik", "aicc", "delta_aicc", "akaike_weight", "scale"
    ]
    best = table.loc[table["aicc"].idxmin()]
    assert best["law"] == "menzerath_altmann" and best["delta_aicc"] == 0
    assert table.set_index("law").loc["power", "delta_aicc"] > 10
    assert table["akaike_weight"].sum() == pytest.approx(1.0)
    assert (table["scale"] == "log y").all()


def test_compare_laws_does_not_prefer_richer_law_without_need():
    x, y, _ = law_data("power", n=200, sigma=0.1, seed=6)
    table = fit.compare_laws(x, y, ["power", "menzerath_altmann", "constant"]).set_index("law")
    assert table.loc["power", "delta_aicc"] < 2
    assert table.loc["constant", "delta_aicc"] > 100


def test_fit_law_rejects_bad_input():
    with pytest.raises(ValueError, match="y must be > 0"):
        fit.fit_law([1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 2.0, 3.0], "power")
    with pytest.raises(ValueError, match="unknown law"):
        fit.fit_law([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "zipf_mandelbrot")


# ------------------------------------------------------------------------ null model


def test_null_model_matches_real_fit_when_sentences_are_iid():
    docs, sentences = corpus(200, beta=0.0, seed=1)
    real = fit.ols_log(docs["L_words"], docs["S_words_mean"]).b
    null = fit.shuffled_null(sentences[["doc_id", "n_words"]], 200, seed=0)
    assert null.b_observed == pytest.approx(real, rel=1e-9)
    assert null.reps.shape == (200,)
    assert abs(null.b_null) < 0.05 and abs(real) < 0.05
    assert abs(real - null.b_null) < 0.03
    assert null.low <= real <= null.high


def test_null_model_separates_a_built_in_exponent():
    docs, sentences = corpus(200, beta=0.3, seed=2)
    real = fit.ols_log(docs["L_words"], docs["S_words_mean"]).b
    null = fit.shuffled_null(sentences, 200, seed=0, length_col="n_words")
    assert real > 0.15
    assert real > null.high
    assert abs(null.b_null) < 0.05


def test_null_model_is_seeded():
    _, sentences = corpus(50, seed=3)
    a = fit.shuffled_null(sentences, 30, seed=4, length_col="n_tokens")
    b = fit.shuffled_null(sentences, 30, seed=4, length_col="n_tokens")
    np.testing.assert_array_equal(a.reps, b.reps)


# ------------------------------------------------------------------------ verdict, decades


def test_verdict_wording_and_numbers():
    assert fit.verdict(0.12, 0.05, 0.2).startswith("supported: longer documents have longer")
    assert "b = 0.12" in fit.verdict(0.12, 0.05, 0.2)
    assert fit.verdict(-0.1, -0.2, -0.03).startswith("contradicted: longer documents have shorter")
    assert fit.verdict(0.02, -0.01, 0.05).startswith("inconclusive")
    assert fit.verdict(-0.02, -0.05, 0.01).startswith("inconclusive")
    assert "artifact" in fit.verdict(0.05, 0.02, 0.08, b_null_low=0.0, b_null_high=0.06)


def test_decades():
    assert fit.decades([2.0, 20.0, 2000.0]) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        fit.decades([0.0, 1.0])


# ------------------------------------------------------------------------ pipeline entry

REQUIRED_COLUMNS = {
    "corpus", "unit", "x", "y", "estimator", "law", "parameter", "estimate", "se", "se_type",
    "ci_low", "ci_high", "ci_method", "n", "n_excluded", "decades_x", "pseudo_r2", "r2_scale",
    "aicc", "aicc_scale", "delta_aicc", "bp_pvalue", "reset_pvalue", "b_null", "b_null_low",
    "b_null_high", "b_minus_null", "verdict",
}
FAST = dict(estimators=("ols_log", "count_glm"), null_reps=50)


@pytest.fixture(scope="module")
def small_corpus():
    docs, sentences = corpus(60, beta=0.2, seed=9, max_sent=60)
    docs.loc[0, "status"] = "no_sentences"
    docs.loc[1, "S_words_mean"] = 0.0
    return docs, sentences


@pytest.fixture(scope="module")
def small_fits(small_corpus):
    return fit.fit_sentence_length(*small_corpus, corpus="synth", **FAST)


def test_tidy_table_schema(small_fits):
    fits = small_fits
    assert REQUIRED_COLUMNS <= set(fits.columns)
    assert list(fits.columns) == list(fit.TABLE_COLUMNS)
    key = ["corpus", "unit", "estimator", "law", "parameter"]
    assert not fits.duplicated(key).any()
    for unit in ("words", "tokens"):
        rows = fits[fits["unit"] == unit]
        assert (rows["x"] == f"L_{unit}").all() and (rows["y"] == f"S_{unit}_mean").all()
        for est in FAST["estimators"]:
            assert sorted(rows.loc[rows["estimator"] == est, "parameter"]) == ["a", "b"]
        laws = rows[rows["estimator"] == "least_squares_log"]
        for law in ("power", "menzerath_altmann", "linear", "constant"):
            assert list(laws.loc[laws["law"] == law, "parameter"]) == list(fit.LAWS[law].params)
        assert laws["delta_aicc"].min() == 0 and laws["aicc"].notna().all()
        assert (laws["aicc_scale"] == f"log S_{unit}_mean (Gaussian)").all()
        primary = rows[(rows["estimator"] == "ols_log") & (rows["parameter"] == "b")]
        assert len(primary) == 1 and primary["verdict"].iloc[0].startswith("supported")
        p = primary.iloc[0]
        assert p["b_minus_null"] == pytest.approx(p["estimate"] - p["b_null"])
        assert p["b_null_low"] <= p["b_null"] <= p["b_null_high"]
        assert p["ci_low"] < p["estimate"] < p["ci_high"]
    # The verdict and null sit on the primary b rows only.
    is_primary_b = (fits["estimator"] == "ols_log") & (fits["parameter"] == "b")
    assert fits.loc[~is_primary_b, "verdict"].isna().all()
    assert fits.loc[~is_primary_b, "b_null"].isna().all()
    assert fits.loc[fits["estimator"] == "ols_log", "bp_pvalue"].notna().all()
    # Exclusions are per unit: the zero S_words_mean only removes a document from "words".
    words = fits["unit"] == "words"
    assert (fits.loc[words, "n"] == 58).all() and (fits.loc[words, "n_excluded"] == 2).all()
    assert (fits.loc[~words, "n"] == 59).all() and (fits.loc[~words, "n_excluded"] == 1).all()
    assert (fits["ci_low"] <= fits["ci_high"]).all()


def test_summary_one_row_per_unit(small_fits):
    table = fit.summary(small_fits)
    assert list(table["unit"]) == ["words", "tokens"]
    assert {"b", "ci_low", "ci_high", "b_minus_null", "best_law", "verdict", "b_count_glm"} <= set(table.columns)
    assert table["best_law"].isin(["power", "menzerath_altmann", "linear", "constant"]).all()
    primary = small_fits[(small_fits["estimator"] == "ols_log") & (small_fits["parameter"] == "b")]
    np.testing.assert_allclose(table["b"], primary["estimate"])


def test_same_seed_same_table(small_corpus, small_fits):
    again = fit.fit_sentence_length(*small_corpus, corpus="synth", **FAST)
    pd.testing.assert_frame_equal(small_fits, again)
    other = fit.fit_sentence_length(*small_corpus, corpus="synth", seed=1, **FAST)
    assert not other["ci_low"].equals(small_fits["ci_low"])


def test_insufficient_data_names_corpus_and_counts():
    docs, sentences = corpus(12, seed=10)
    docs.loc[:4, "status"] = "no_words"
    with pytest.raises(fit.InsufficientData, match=r"corpus 'tiny', unit 'words': 7 usable documents of 12") as err:
        fit.fit_sentence_length(docs, sentences, corpus="tiny", **FAST)
    assert isinstance(err.value, ValueError)


def test_no_spread_in_length_is_insufficient():
    docs, sentences = corpus(20, seed=11)
    docs["L_words"] = 500
    with pytest.raises(fit.InsufficientData, match="'flat'.*L_words = 500"):
        fit.fit_sentence_length(docs, sentences, corpus="flat", units=("words",), **FAST)


def test_rejects_unknown_estimator(small_corpus):
    with pytest.raises(ValueError, match="unknown estimator"):
        fit.fit_sentence_length(*small_corpus, corpus="synth", estimators=("ols_log", "lasso"))


@pytest.mark.slow
def test_defaults_on_250_documents_fill_every_interval():
    docs, sentences = corpus(250, beta=0.2, seed=12)
    fits = fit.fit_sentence_length(docs, sentences, corpus="synth")
    assert set(fits["estimator"]) == {*fit.DEFAULT_ESTIMATORS, "least_squares_log"}
    assert fits["ci_low"].notna().all() and fits["se"].notna().all()
    assert len(fit.summary(fits)) == 2


@pytest.mark.parametrize("name", ["gamma_glm", "count_glm", "huber"])
def test_vectorized_bootstrap_refits_equal_statsmodels(name):
    """The bootstrap's batched refits reach the same estimate as the statsmodels fit."""
    rng = np.random.default_rng(7)
    for _ in range(3):
        L = np.exp(rng.uniform(np.log(1e3), np.log(3e4), 150))
        S = 3 * L**0.05 * np.exp(rng.normal(0, 0.3, L.size))
        S[:4] *= 6  # outliers, so that Huber downweights some documents
        counts = np.maximum(1, np.round(L / S))
        reference = fit.get_estimator(name)(L, S, counts, full=False)
        data, statistic = fit._vectorized_statistic(name, L, S, counts)
        batched = statistic(*[np.stack([d, d[::-1]]) for d in data])  # two "resamples"
        np.testing.assert_allclose(batched[:, 0], reference, rtol=1e-8)
        np.testing.assert_allclose(batched[:, 1], reference, rtol=1e-8)  # order does not matter


def test_vectorized_huber_survives_resamples_with_zero_mad():
    """Small corpora resample to many duplicates: the MAD scale can be 0 for a resample."""
    L = np.array([1000.0] * 5 + [2000.0] * 5)
    S = np.array([20.0] * 5 + [22.0] * 5)  # two points, each repeated: every residual is 0
    data, statistic = fit._vectorized_statistic("huber", L, S, None)
    a, b = statistic(*data)
    np.testing.assert_allclose([a, b], fit.ols_log(L, S, full=False))
    rng = np.random.default_rng(3)
    L = np.exp(rng.uniform(np.log(1e3), np.log(3e4), 12))
    S = 3 * L**0.05 * np.exp(rng.normal(0, 0.3, 12))
    cis = fit.bootstrap_ci(L, S, "huber", n_resamples=1000, seed=0)
    assert np.isfinite(cis["b"].low) and np.isfinite(cis["b"].high)
