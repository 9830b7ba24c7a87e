"""Laws as objects: each recovers its own parameters, AICc picks the generating law."""

import numpy as np
import pandas as pd
import pytest

from scalelaw.fitting import GENERIC_LAWS, LAWS, get_law


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
