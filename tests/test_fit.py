"""Tests of scalelaw.fitting on synthetic data with a known truth.

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

from scalelaw.fitting import (
    ESTIMATORS, GENERIC_LAWS, LAWS, FitResult, bootstrap, conclusion, get_estimator, get_law, results_frame,
)
from scalelaw.fitting import sentence_length as SL
from scalelaw.fitting.summary import summary as fit_summary
from scalelaw.fitting.estimators import _hc_sandwich, _design
from scalelaw.fitting.nulls import document_null, sentence_shuffle_null

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


def b_of(rec):
    return rec["b"].estimate


@pytest.mark.parametrize("name", ["ols_log", "huber", "quantile_0.5"])
def test_log_scale_estimators_recover_median_law(name):
    L, S = power_data(2000, seed=1)
    rec = get_estimator(name).fit(L, S)
    assert isinstance(rec, FitResult) and rec.estimator == name and rec.n == 2000 and rec.n_unit == "documents"
    assert rec["b"].se_type and rec.diagnostics["r2_scale"]
    assert abs(b_of(rec) - B_TRUE) < 0.02
    assert abs(b_of(rec) - B_TRUE) < 4 * rec["b"].se
    assert rec["a"].estimate == pytest.approx(A_TRUE, rel=0.1)
    assert 0 < rec.diagnostics["r2"] < 1 and rec.converged


def test_gamma_glm_recovers_mean_law():
    # The Gamma GLM models E[S], which is a L^b exp(sigma^2 / 2) under lognormal noise.
    L, S = power_data(2000, seed=2)
    rec = get_estimator("gamma_glm").fit(L, S)
    assert abs(b_of(rec) - B_TRUE) < 0.02
    assert rec["a"].estimate == pytest.approx(A_TRUE * np.exp(SIGMA**2 / 2), rel=0.1)
    assert "Cox-Snell" in rec.diagnostics["r2_scale"] and 0 < rec.diagnostics["r2"] < 1


def test_gamma_glm_pseudo_r2_is_not_inflated():
    # On log-normal data the likelihood-ratio R2 of the Gamma GLM should be near the R2 of
    # OLS on logs; evaluating the null at the full model's dispersion would inflate it.
    L, S = power_data(500, seed=3, b=0.3)
    r2 = lambda name: get_estimator(name).fit(L, S).diagnostics["r2"]  # noqa: E731
    assert r2("gamma_glm") == pytest.approx(r2("ols_log"), abs=0.08)


def test_count_glm_recovers_law_from_sentence_counts():
    L, S, counts = count_data(2000, seed=3)
    rec = get_estimator("count_glm").fit(L, S, counts)
    assert abs(b_of(rec) - B_TRUE) < 0.01
    assert rec["a"].estimate == pytest.approx(A_TRUE, rel=0.05)
    assert rec.diagnostics["gamma"] == pytest.approx(1 - b_of(rec))
    assert rec.diagnostics["counts_from"] == "n_sentences"


@pytest.mark.parametrize("q", [0.1, 0.9])
def test_outer_quantiles_shift_a_not_b(q):
    L, S = power_data(3000, seed=4)
    rec = get_estimator(f"quantile_{q}").fit(L, S)
    assert abs(b_of(rec) - B_TRUE) < 0.03
    assert rec["a"].estimate == pytest.approx(A_TRUE * np.exp(SIGMA * stats.norm.ppf(q)), rel=0.12)


def test_ols_log_diagnostics_flag_heteroskedasticity_and_curvature():
    rng = np.random.default_rng(5)
    L = 100 * 10 ** rng.uniform(0, 3, 800)
    ols = get_estimator("ols_log")
    clean = ols.fit(L, A_TRUE * L**B_TRUE * rng.lognormal(0, 0.2, L.size)).diagnostics
    hetero = ols.fit(L, A_TRUE * L**B_TRUE * rng.lognormal(0, 0.05 * np.log(L))).diagnostics
    curved = ols.fit(L, A_TRUE * L**B_TRUE * np.exp(-4e-5 * L) * rng.lognormal(0, 0.1, L.size)).diagnostics
    assert clean["bp_pvalue"] > 0.01 and clean["reset_pvalue"] > 0.01
    assert hetero["bp_pvalue"] < 1e-3
    assert curved["reset_pvalue"] < 1e-3


def test_ols_log_matches_power_law_fit():
    L, S = power_data(300, seed=6)
    rec, law = get_estimator("ols_log").fit(L, S), LAWS["power"].fit(L, S)
    assert law["b"].estimate == pytest.approx(b_of(rec), rel=1e-6)
    assert law["a"].estimate == pytest.approx(rec["a"].estimate, rel=1e-6)
    # The Gaussian log-likelihood on log y is the OLS one.
    llf = sm.OLS(np.log(S), sm.add_constant(np.log(L))).fit().llf
    assert law.loglik == pytest.approx(llf, rel=1e-9)


@pytest.mark.parametrize("family", ["poisson", "gamma"])
def test_glm_hc3_is_real_hc3(family):
    """statsmodels' GLM returns HC0 whatever HC variant is asked for; ours is HC0 where it
    should equal that, and HC3 (larger, from the hat matrix) is what the record carries."""
    L, S, counts = count_data(80, seed=9)
    X = _design(L)
    if family == "poisson":
        res = sm.GLM(counts, X, family=sm.families.Poisson()).fit(cov_type="HC0")
        mu = res.fittedvalues
        hc0, hc3 = _hc_sandwich(X, counts - mu, mu)
        np.testing.assert_allclose(np.sqrt(np.diag(hc0)), res.bse, rtol=1e-6)
        rec = get_estimator("count_glm").fit(L, S, counts)
    else:
        res = sm.GLM(S, X, family=sm.families.Gamma(sm.families.links.Log())).fit()
        mu = res.fittedvalues
        hc0, hc3 = _hc_sandwich(X, (S - mu) / mu, np.ones_like(S))
        rec = get_estimator("gamma_glm").fit(L, S)
    assert np.all(np.diag(hc3) > np.diag(hc0))
    assert rec["b"].se == pytest.approx(np.sqrt(hc3[1, 1]), rel=1e-6)
    assert rec["b"].se_type.startswith("HC3 (GLM hat matrix")


# ------------------------------------------------------------------------ bootstrap


def ols_stat(L, S):
    est = ESTIMATORS["ols_log"]
    return lambda idx: est.refit(L[idx], S[idx])


def test_bca_interval_covers_true_b_at_nominal_rate():
    covered = 0
    for rep in range(20):
        L, S = power_data(200, seed=100 + rep, sigma=0.3)
        res = bootstrap(ols_stat(L, S), L.size, n_resamples=1000, seed=rep)
        assert res.low[1] < b_of(get_estimator("ols_log").fit(L, S)) < res.high[1]
        covered += res.low[1] <= B_TRUE <= res.high[1]
    assert covered >= 16


def test_bootstrap_is_seeded_and_names_its_unit_and_method():
    L, S = power_data(150, seed=7)
    one = bootstrap(ols_stat(L, S), L.size, seed=11)
    np.testing.assert_array_equal(one.low, bootstrap(ols_stat(L, S), L.size, seed=11).low)
    assert not np.array_equal(one.low, bootstrap(ols_stat(L, S), L.size, seed=12).low)
    assert one.method == "BCa bootstrap over documents, 1000 resamples" and one.n_failed == 0
    other = bootstrap(ols_stat(L, S), L.size, seed=11, unit="prompts", method="percentile")
    assert other.method == "percentile bootstrap over prompts, 1000 resamples"
    with pytest.raises(ValueError, match="unit must be one of"):
        bootstrap(ols_stat(L, S), L.size, unit="sentences?")


def test_closed_form_jackknife_gives_scipys_bca_at_any_n():
    """OLS from per-resample sufficient statistics, with its closed-form jackknife: on
    scipy's own draws, bca_interval gives scipy's BCa interval; bootstrap() keeps BCa (not
    percentile) above BCA_MAX_N; the fast statistic equals refits on the same indices."""
    from scalelaw.fitting.bootstrap import BCA_MAX_N, bca_interval, resample_indices

    ols = ESTIMATORS["ols_log"]
    L, S = power_data(300, seed=5)
    fast, jk = ols.resampler(L, S), ols.jackknife(L, S)
    scipy_bca = bootstrap(lambda idx: ols.refit(L[idx], S[idx]), L.size, seed=5)
    draws = np.random.default_rng(5).integers(0, L.size, (1000, L.size))  # what scipy drew
    low, high = bca_interval(fast(draws), fast(np.arange(L.size)), jk(), 0.95)
    np.testing.assert_allclose(low, scipy_bca.low, rtol=1e-10)
    np.testing.assert_allclose(high, scipy_bca.high, rtol=1e-10)
    # the pipeline's own draws: same interval as refitting every one of those resamples
    ours = bootstrap(fast, L.size, seed=5, jackknife=jk)
    idx = np.concatenate(list(resample_indices(np.random.default_rng(5), L.size, 1000, 1000)))
    np.testing.assert_array_equal(idx, draws)  # scipy's stream, whatever the batch
    np.testing.assert_allclose((ours.low, ours.high), (scipy_bca.low, scipy_bca.high), rtol=1e-10)
    slow = ols.refit(L[idx], S[idx])
    np.testing.assert_allclose(ours.distribution, slow, rtol=1e-9)
    np.testing.assert_allclose(bca_interval(slow, ols.refit(L, S), jk(), 0.95), (ours.low, ours.high), rtol=1e-9)
    pct = bootstrap(fast, L.size, seed=5, jackknife=jk, method="percentile")
    np.testing.assert_allclose(pct.low, np.quantile(slow, 0.025, axis=1), rtol=1e-9)
    assert pct.method == "percentile bootstrap over documents, 1000 resamples"
    L, S = power_data(BCA_MAX_N + 5000, seed=6)
    big = bootstrap(ols.resampler(L, S), L.size, seed=1, jackknife=ols.jackknife(L, S))
    b_hat = ols.fit(L, S)["b"].estimate
    assert big.method.startswith("BCa") and big.low[1] < b_hat < big.high[1]


@pytest.mark.parametrize("name", ["gamma_glm", "count_glm", "huber"])
def test_one_step_jackknife_gives_bca_close_to_refitted_jackknife(name):
    """GLMs and Huber: leave-one-out estimates from one Newton step stand in for n refits.
    BCa uses them only through its acceleration: within a few percent of the exact
    jackknife's, and interval limits within 1 % of the interval's width (the Monte Carlo
    error of a 2.5 % quantile of 1,000 resamples is about 2 % of the width)."""
    est = ESTIMATORS[name]
    L, S = power_data(300, seed=3)
    S[:5] *= 4  # influential documents
    counts = np.maximum(1, np.round(L / S))
    own = counts if est.uses_counts else None
    n = L.size
    drop = ~np.eye(n, dtype=bool)
    idx = np.broadcast_to(np.arange(n), (n, n))[drop].reshape(n, n - 1)
    exact = est.refit(L[idx], S[idx], None if own is None else own[idx])
    one_step = est.jackknife(L, S, own)()

    def acceleration(values):
        U = (n - 1) * (values.mean(axis=1, keepdims=True) - values)
        return (U**3).sum(axis=1) / n**3 / 6 / ((U**2).sum(axis=1) / n**2) ** 1.5

    np.testing.assert_allclose(acceleration(one_step), acceleration(exact), rtol=0.2, atol=2e-4)
    fast = bootstrap(est.resampler(L, S, own), n, seed=4, jackknife=est.jackknife(L, S, own))
    refitted = bootstrap(est.resampler(L, S, own), n, seed=4)  # scipy: n refits for the jackknife
    assert "one-step leave-one-out jackknife" in fast.method and refitted.method.startswith("BCa")
    width = refitted.high - refitted.low
    assert np.all(np.abs(fast.low - refitted.low) < 0.01 * width)
    assert np.all(np.abs(fast.high - refitted.high) < 0.01 * width)


def test_glm_keeps_bca_above_bca_max_n():
    from scalelaw.fitting.bootstrap import BCA_MAX_N

    est = ESTIMATORS["gamma_glm"]
    L, S = power_data(BCA_MAX_N + 10, seed=2)
    res = bootstrap(est.resampler(L, S), L.size, n_resamples=200, seed=0, jackknife=est.jackknife(L, S))
    assert res.method.startswith("BCa") and res.low[1] < B_TRUE < res.high[1]


def test_failed_resamples_are_counted_not_dropped_in_silence():
    L, S = power_data(60, seed=8)
    stat = ols_stat(L, S)

    def flaky(idx):  # a statistic that fails whenever document 0 is drawn three times
        out = stat(idx)
        return np.where((idx == 0).sum(-1) >= 3, np.nan, out)

    res = bootstrap(flaky, L.size, seed=0)
    assert 0 < res.n_failed < 200
    assert f"{1000 - res.n_failed} of 1000 resamples ({res.n_failed} failed and excluded)" in res.method
    assert np.all(np.isfinite(res.low)) and np.all(res.low < res.high)


def test_bootstrap_over_clusters_of_rows():
    """One bootstrap serves clusters too: the statistic gathers the rows of the drawn units."""
    rng = np.random.default_rng(3)
    cluster_effect = rng.normal(0, 1, 30)
    rows = np.repeat(np.arange(30), 20)
    y = cluster_effect[rows] + rng.normal(0, 0.1, rows.size)
    sums, counts = np.bincount(rows, y), np.bincount(rows)
    res = bootstrap(lambda idx: sums[idx].sum(-1) / counts[idx].sum(-1), 30, unit="clusters", seed=1)
    naive = bootstrap(lambda idx: y[idx].mean(-1), y.size, unit="sentences", seed=1)
    # rows within a cluster are not independent: the cluster interval is far wider
    assert (res.high - res.low)[0] > 3 * (naive.high - naive.low)[0]


@pytest.mark.parametrize("name", ["gamma_glm", "count_glm", "huber", "quantile_0.5"])
def test_vectorized_refits_equal_the_single_fit(name):
    """The bootstrap's batched refits reach the same estimate as the statsmodels fit."""
    rng = np.random.default_rng(7)
    est = get_estimator(name)
    for _ in range(3):
        L = np.exp(rng.uniform(np.log(1e3), np.log(3e4), 150))
        S = 3 * L**0.05 * np.exp(rng.normal(0, 0.3, L.size))
        S[:4] *= 6  # outliers, so that Huber downweights some documents
        counts = np.maximum(1, np.round(L / S))
        reference = est.fit(L, S, counts)
        idx = np.stack([np.arange(L.size), np.arange(L.size)[::-1]])  # two "resamples"
        batched = est.refit(L[idx], S[idx], counts[idx])
        for j, p in enumerate(("a", "b")):
            np.testing.assert_allclose(batched[j], reference[p].estimate, rtol=1e-6)


def test_refits_that_do_not_converge_come_back_nan():
    from scalelaw.fitting import estimators

    L, S = power_data(100, seed=3)
    old = estimators._IRLS_MAX_ITER
    estimators._IRLS_MAX_ITER = 1
    try:
        out = get_estimator("gamma_glm").refit(L[None, :], S[None, :])
    finally:
        estimators._IRLS_MAX_ITER = old
    assert np.isnan(out).all()


def test_vectorized_huber_survives_resamples_with_zero_mad():
    """Small corpora resample to many duplicates: the MAD scale can be 0 for a resample."""
    L = np.array([1000.0] * 5 + [2000.0] * 5)
    S = np.array([20.0] * 5 + [22.0] * 5)  # two points, each repeated: every residual is 0
    np.testing.assert_allclose(get_estimator("huber").refit(L, S), ESTIMATORS["ols_log"].refit(L, S))


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
    y = LAWS[name].predict(x, truth) * rng.lognormal(0, sigma, n)
    return x, y, truth


def test_every_registered_law_has_a_truth_to_recover():
    assert set(LAW_TRUTH) == set(GENERIC_LAWS)  # the ladder's laws: tests/ladder/test_laws.py


@pytest.mark.parametrize("name", sorted(LAW_TRUTH))
def test_law_recovers_its_own_parameters(name):
    x, y, truth = law_data(name)
    res = LAWS[name].fit(x, y)
    assert res.converged and res.n == x.size and res.k == len(truth) + 1
    for param, value in truth.items():
        p = res[param]
        assert p.estimate == pytest.approx(value, rel=0.05), param
        assert np.isfinite(p.se) and p.se > 0
        assert abs(p.estimate - value) < 5 * p.se, param
        assert p.ci_low < p.estimate < p.ci_high
    assert LAWS[name].predict(x[:3], res) == pytest.approx(LAWS[name].predict(x[:3], res.estimates))


def test_law_takes_several_columns_of_x():
    """A law over (N, D), as a model ladder needs: x of shape (n, 2)."""
    from scalelaw.fitting import Law

    law = Law("two_terms", ("E", "A", "alpha"), "y = E + A * N^-alpha + D^-0.3",
              lambda x, p: p[0] + p[1] * x[:, 0] ** -p[2] + x[:, 1] ** -0.3,
              lambda x, y: [np.array([1.0, 100.0, 0.3])], (True, True, True))
    rng = np.random.default_rng(2)
    x = np.column_stack([np.exp(rng.uniform(15, 22, 60)), np.exp(rng.uniform(18, 24, 60))])
    y = law.predict(x, [1.7, 400.0, 0.34]) * rng.lognormal(0, 0.001, 60)
    res = law.fit(x, y)
    assert res["alpha"].estimate == pytest.approx(0.34, rel=0.02)


def test_saturating_power_with_realistic_noise():
    x, y, truth = law_data("saturating_power", n=120, sigma=0.02, seed=3)
    res = LAWS["saturating_power"].fit(x, y).estimates
    assert res["E"] == pytest.approx(truth["E"], rel=0.05)
    assert res["alpha"] == pytest.approx(truth["alpha"], rel=0.15)
    assert res["A"] == pytest.approx(truth["A"], rel=0.6)


def test_huber_loss_resists_outliers():
    x, y, truth = law_data("power", n=200, sigma=0.05, seed=4)
    y = y.copy()
    y[np.argsort(x)[-10:]] *= 20.0  # the ten largest x get wild values
    plain = LAWS["power"].fit(x, y)
    robust = LAWS["power"].fit(x, y, loss="huber")
    assert robust.diagnostics["f_scale"] is not None and robust.estimator == "huber_log"
    assert abs(robust["b"].estimate - truth["b"]) < 0.02
    assert abs(plain["b"].estimate - truth["b"]) > 3 * abs(robust["b"].estimate - truth["b"])


def compare_laws(x, y, names):
    from scalelaw.fitting.laws import compare

    fits = compare([LAWS[name].fit(x, y) for name in names])
    return pd.DataFrame({"law": names, "aicc": [f.aicc for f in fits],
                         "delta_aicc": [f.diagnostics["delta_aicc"] for f in fits],
                         "akaike_weight": [f.diagnostics["akaike_weight"] for f in fits]}).set_index("law")


def test_compare_laws_prefers_menzerath_altmann_when_c_is_clear():
    x, y, _ = law_data("menzerath_altmann", n=200, sigma=0.05, seed=5)
    table = compare_laws(x, y, ["power", "menzerath_altmann", "linear", "constant"])
    assert table["aicc"].idxmin() == "menzerath_altmann" and table.loc["menzerath_altmann", "delta_aicc"] == 0
    assert table.loc["power", "delta_aicc"] > 10
    assert table["akaike_weight"].sum() == pytest.approx(1.0)


def test_compare_laws_does_not_prefer_richer_law_without_need():
    x, y, _ = law_data("power", n=200, sigma=0.1, seed=6)
    table = compare_laws(x, y, ["power", "menzerath_altmann", "constant"])
    assert table.loc["power", "delta_aicc"] < 2
    assert table.loc["constant", "delta_aicc"] > 100


def test_fit_law_rejects_bad_input():
    with pytest.raises(ValueError, match="y must be > 0"):
        LAWS["power"].fit([1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="unknown law"):
        get_law("zipf_mandelbrot")


# ------------------------------------------------------------------------ nulls


def test_sentence_shuffle_null_matches_real_fit_when_sentences_are_iid():
    docs, sentences = corpus(200, beta=0.0, seed=1)
    real = b_of(get_estimator("ols_log").fit(docs["L_words"], docs["S_words_mean"]))
    null = sentence_shuffle_null(sentences[["doc_id", "n_words"]], "n_words", 200, seed=0)
    assert null.diagnostics["b_observed"] == pytest.approx(real, rel=1e-9)
    b_null = null["b_null"]
    assert abs(b_null.estimate) < 0.05 and abs(real) < 0.05
    assert b_null.ci_low <= real <= b_null.ci_high


def test_sentence_shuffle_null_is_seeded():
    _, sentences = corpus(50, seed=3)
    a = sentence_shuffle_null(sentences, "n_tokens", 30, seed=4)
    b = sentence_shuffle_null(sentences, "n_tokens", 30, seed=4)
    assert a.to_frame().equals(b.to_frame())


def test_document_null_separates_a_built_in_exponent():
    docs, _ = corpus(300, beta=0.3, seed=2)
    null = document_null("ols_log", docs["L_words"], docs["S_words_mean"], docs["n_sentences"], seed=0)
    assert null.n_unit == "documents" and null.n_resamples == 1000
    d = null["b_minus_null"]
    assert d.ci_low > 0 and "document levels permuted against sentence counts" in d.ci_method


def test_document_null_keeps_between_document_variation():
    """Documents' mean sentence lengths vary (log-sd 0.3) independently of their counts:
    b > 0 through L = n S, and the document null must give that b too."""
    rng = np.random.default_rng(4)
    n = np.round(np.exp(rng.uniform(np.log(10), np.log(400), 400)))
    S = 20 * np.exp(0.3 * rng.standard_normal(400))
    L = n * S
    rec = get_estimator("ols_log").fit(L, S)
    assert rec["b"].estimate > 0.05
    null = document_null("ols_log", L, S, n, np.zeros_like(S), seed=1)
    assert null["b_minus_null"].ci_low < 0 < null["b_minus_null"].ci_high
    assert null["b_null"].estimate == pytest.approx(rec["b"].estimate, abs=0.03)


# ------------------------------------------------------------------------ conclusion


@pytest.mark.parametrize("b, d, word", [
    ((0.05, 0.2), (0.01, 0.1), "longer_sentences"),
    ((-0.3, -0.1), (-0.2, -0.01), "shorter_sentences"),
    ((-0.05, 0.03), (-0.2, -0.01), "shorter_sentences"),  # b below the null, b itself unclear
    ((0.02, 0.08), (-0.02, 0.03), "indistinguishable_from_null"),
    ((-0.02, 0.08), (-0.02, 0.03), "no_detectable_trend"),
    ((np.nan, 0.08), (-0.02, 0.03), "not_fitted"),
])
def test_conclusion_vocabulary(b, d, word):
    assert conclusion.conclude(*b, *d) == word
    text = conclusion.statement(word, b=0.05, b_low=b[0], b_high=b[1], b_null=0.03, d=0.02,
                                d_low=d[0], d_high=d[1])
    assert text.startswith(word)
    # the sentence never says two contradicting things
    others = [w for w in conclusion.CONCLUSIONS if w != word]
    assert not any(w in text for w in others)


def test_robust_only_when_every_variant_agrees():
    assert conclusion.robust(["longer_sentences"] * 4)
    assert not conclusion.robust(["longer_sentences"] * 3 + ["indistinguishable_from_null"])
    assert not conclusion.robust(["not_fitted"] * 2)


def test_decades():
    assert SL.decades([2.0, 20.0, 2000.0]) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        SL.decades([0.0, 1.0])


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


def test_summary_concludes_from_the_null(small_fits):
    table = fit_summary(small_fits)
    assert list(table["unit"]) == ["words", "tokens"]
    assert {"b", "ci_low", "ci_high", "b_null", "b_minus_null", "b_minus_null_low", "best_law",
            "conclusion", "statement", "b_count_glm", "conclusion_count_glm"} <= set(table.columns)
    assert table["conclusion"].isin(conclusion.CONCLUSIONS).all()
    for row in table.itertuples():
        assert row.statement.startswith(row.conclusion)
        assert row.conclusion == conclusion.conclude(row.ci_low, row.ci_high, row.b_minus_null_low,
                                                     row.b_minus_null_high)


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
    with pytest.raises(SL.InsufficientData, match="'flat'.*L_words = 500"):
        SL.fit_corpus(docs, sentences, corpus="flat", units=("words",), **FAST)


def test_rejects_unknown_estimator(small_corpus):
    with pytest.raises(ValueError, match="unknown estimator"):
        SL.fit_corpus(*small_corpus, corpus="synth", estimators=("ols_log", "lasso"))


def test_quantile_estimator_works_end_to_end(small_corpus):
    # the config schema accepts quantile_<q> from the registry; every resample is a QuantReg fit
    docs, _ = small_corpus
    ok = docs[(docs["status"] == "ok") & (docs["S_words_mean"] > 0)]
    rec, null = SL.fit_with_null("quantile_0.5", ok["L_words"], ok["S_words_mean"], ok["n_sentences"],
                                 n_resamples=300, null_reps=10, seed=0)
    assert np.isfinite([rec["b"].ci_low, rec["b"].ci_high]).all() and rec.n_failed_resamples < 30
    assert null.diagnostics["conclusion"] in conclusion.CONCLUSIONS
    assert np.isfinite(null["b_minus_null"].ci_low)


@pytest.mark.slow
def test_defaults_on_250_documents_fill_every_interval():
    docs, sentences = corpus(250, beta=0.2, seed=12)
    fits = results_frame(SL.fit_corpus(docs, sentences, corpus="synth"))
    est = fits[fits["analysis"] == "sentence_length"]
    assert set(est["estimator"]) == set(SL.DEFAULT_ESTIMATORS)
    assert fits["ci_low"].notna().all() and est["se"].notna().all()
    assert len(fit_summary(fits)) == 2
