"""The one bootstrap: seeded, names its unit and method, BCa equal to scipy's, failures counted."""

import numpy as np
import pytest

from scalelaw.fitting import ESTIMATORS, bootstrap, get_estimator
from support.corpora import B_TRUE, b_of, power_data


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


# ------------------------------------------------------------------------ strata


def test_stratified_resamples_stay_within_their_strata():
    """Each stratum is resampled on its own (scipy.stats.bootstrap, paired=False): a
    statistic of the first stratum alone has the interval of an unstratified bootstrap of
    that stratum, and every resample keeps each stratum's size."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 30), rng.normal(10, 1, 12)
    seen = []

    def statistic(ia, ib):
        seen.append((ia.shape[-1], ib.shape[-1], int(ia.max()), int(ib.max())))
        return np.stack([a[ia].mean(axis=-1), b[ib].mean(axis=-1)])

    res = bootstrap(statistic, (30, 12), unit="runs", n_resamples=2000, method="percentile", seed=1)
    assert all(s[0] == 30 and s[1] == 12 and s[2] < 30 and s[3] < 12 for s in seen)
    assert res.low[0] < a.mean() < res.high[0] and res.low[1] < b.mean() < res.high[1]
    assert res.se[0] == pytest.approx(a.std(ddof=0) / np.sqrt(30), rel=0.1)
    assert res.se[1] == pytest.approx(b.std(ddof=0) / np.sqrt(12), rel=0.1)
    assert "within 2 strata" in res.method and res.unit == "runs" and res.n == 42


def test_stratified_bootstrap_refuses_bca():
    with pytest.raises(ValueError, match="stratified"):
        bootstrap(lambda i, j: i.mean(axis=-1), (5, 5), unit="runs", method="BCa")
