"""The one bootstrap (scalelaw.fitting.bootstrap): resampling within strata."""

import numpy as np
import pytest

from scalelaw.fitting.bootstrap import bootstrap


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
