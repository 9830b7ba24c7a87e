"""The ladder's laws in the one registry (scalelaw.fitting.laws, power_sums, law_intervals):
the Chinchilla refit before and after the one law layer, the published recipe, recovery of
known laws, the IsoFLOP approach, the fit-table reader and the one Wald helper."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from scalelaw.fitting import power_sums
from scalelaw.fitting.law_intervals import fit_with_intervals, leave_largest_out, not_identified
from scalelaw.fitting.laws import LAWS, get_law
from scalelaw.fitting.result import FIT_COLUMNS, Param, read_fits, results_frame, wald_param
from scalelaw.ladder import analysis, tables

ROOT = Path(__file__).resolve().parents[2]
CHINCHILLA_CSV = ROOT / "data" / "chinchilla" / "svg_extracted_data.csv"
BEFORE = json.loads((Path(__file__).parent / "chinchilla_before.json").read_text())
PUBLISHED = {"E": 1.817, "A": 482.0, "B": 2085.4, "alpha": 0.3478, "beta": 0.3658}
PUBLISHED_SE = {"E": 0.026, "A": 124.5, "B": 1293, "alpha": 0.015, "beta": 0.021}
TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
SPEC = {
    "path": str(CHINCHILLA_CSV),
    "columns": {"N": "`Model Size`", "D": "`Training FLOP` / (6 * `Model Size`)", "loss": "loss"},
    "x": ["N", "D"], "y": "loss", "law": "chinchilla", "drop_highest": 5, "n_unit": "runs",
    "fit": {"huber_delta": 1e-3, "n_starts": 4, "n_bootstrap": 100, "confidence_level": 0.95, "seed": 0},
}


def chinchilla_points():
    return tables.load(SPEC, "chinchilla")


def test_chinchilla_refit_gives_the_numbers_of_the_old_law_layer():
    """config/chinchilla.yaml's recipe with 100 resamples: the same estimates, standard
    errors and intervals as fitting/ladder_laws.py gave on main before the one law layer
    (tests/ladder/chinchilla_before.json; the 4,000-resample record there matched too)."""
    points, counts = chinchilla_points()
    before = BEFORE["n_bootstrap_100"]
    assert counts == before["counts"]
    result = tables.fit(points, SPEC, "chinchilla")
    assert result.n == before["n"] and result.n_resamples == before["n_resamples"] == 100
    assert result.loglik == pytest.approx(before["loglik"], rel=1e-7)
    assert result.aicc == pytest.approx(before["aicc"], rel=1e-7)
    for name, (estimate, se, low, high) in before["params"].items():
        p = result[name]
        assert p.estimate == pytest.approx(estimate, rel=1e-6), name
        assert [p.se, p.ci_low, p.ci_high] == pytest.approx([se, low, high], rel=1e-4), name
    assert result.diagnostics["not_identified"] == {}


def test_chinchilla_refit_reproduces_the_published_numbers_within_their_standard_errors():
    points, _ = chinchilla_points()
    result = tables.fit(points, {**SPEC, "fit": {**SPEC["fit"], "n_bootstrap": 0}}, "chinchilla")
    for name, value in PUBLISHED.items():
        assert abs(result[name].estimate - value) < PUBLISHED_SE[name], (name, result[name].estimate)
    frame = results_frame([result])
    assert list(frame.columns) == list(FIT_COLUMNS)


def test_fast_fit_reaches_the_minimum_of_the_published_recipe():
    """The published recipe (finite differences) from its 10 best grid starts reaches the
    same minimum as the registry's chinchilla law (the full 4,500 starts: benchmarks/ladder.py)."""
    points, _ = chinchilla_points()
    x, y = points[["N", "D"]].to_numpy(), points["loss"].to_numpy()
    fast = get_law("chinchilla").fit(x, y, loss="huber", f_scale=1e-3)
    grid = power_sums.published_start_grid()
    order = np.argsort(power_sums.huber_objective(grid, np.log(x), np.log(y), 1e-3))
    slow, slow_objective = power_sums.published_recipe_fit(x, y, starts=grid[order[:10]])
    assert fast.diagnostics["objective"] <= slow_objective * (1 + 1e-7)
    for name, value in zip(("E", "A", "B", "alpha", "beta"), slow):
        assert float(f"{fast[name].estimate:.3g}") == float(f"{value:.3g}"), name


def test_analytic_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    log_x = np.log(rng.uniform(1e6, 1e9, (40, 2)))
    log_y = rng.normal(1, 0.1, 40)
    theta = np.array([0.4, 5.0, 6.0, 0.3, 0.4])
    w = rng.integers(1, 3, 40).astype(float)
    _, grad = power_sums.objective_and_gradient(theta, log_x, log_y, 1e-2, w)
    numeric = approx_fprime(theta, lambda t: power_sums.objective_and_gradient(t, log_x, log_y, 1e-2, w)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


def synthetic_grid(seed, noise=1e-3, sizes=8, budgets=8):
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid(np.geomspace(1e7, 1e10, sizes), np.geomspace(1e9, 1e12, budgets))
    x = np.column_stack([n.ravel(), d.ravel()])
    return x, get_law("chinchilla").predict(x, TRUTH) * np.exp(rng.normal(0, noise, len(x)))


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_a_known_law_from_synthetic_runs(seed):
    x, y = synthetic_grid(seed)
    fit = fit_with_intervals("chinchilla", x, y, f_scale=1e-3, n_resamples=100, seed=seed)
    for name in ("E", "alpha", "beta"):
        assert abs(fit[name].estimate / TRUTH[name] - 1) < 0.03, (name, fit[name].estimate)
        assert fit[name].ci_low <= TRUTH[name] <= fit[name].ci_high, (name, fit[name])
    assert fit.n_failed_resamples == 0 and fit.converged
    assert fit["a_N_opt"].estimate == pytest.approx(fit["beta"].estimate / (fit["alpha"].estimate + fit["beta"].estimate))


def test_saturating_laws_are_fitted_one_way():
    """saturating_power (loss over models, L(N), L(D)) and chinchilla share the power-sum
    solver whatever the loss; least squares and Huber reach the same exact-data optimum."""
    assert LAWS["saturating_power"].solver == LAWS["chinchilla"].solver == "power_sum"
    truth = {"E": 2.0, "A": 50.0, "alpha": 0.5}
    x = np.geomspace(1e3, 1e7, 7)
    y = get_law("saturating_power").predict(x, truth)
    for kw in ({}, {"loss": "huber", "f_scale": 1e-3}):
        fit = get_law("saturating_power").fit(x, y, **kw)
        assert fit.converged
        for name, value in truth.items():
            assert fit[name].estimate == pytest.approx(value, rel=1e-4), (kw, name)


def test_leave_largest_out_is_one_record():
    truth = {"E": 2.0, "A": 50.0, "alpha": 0.5}
    x = np.geomspace(1e3, 1e7, 7)
    y = get_law("saturating_power").predict(x, truth)
    record = leave_largest_out("saturating_power", x, y, labels=[f"m{i}" for i in range(7)])
    assert record["holdout_n"] == 1 and record["holdout_rows"] == ["m6"]
    assert abs(record["holdout_rel_error"]) < 1e-4 and record["holdout_value"] == pytest.approx(1e7)
    short = leave_largest_out("saturating_power", x[:4], y[:4])
    assert "holdout_error" in short and "3 rows left" in short["holdout_error"]


def test_a_parameter_the_runs_do_not_identify_gets_no_interval():
    assert not_identified(Param(0.5, ci_low=0.19, ci_high=21.0), 1000).startswith("interval 0.19 to 21 spans")
    assert not_identified(Param(2.0, ci_low=0.0, ci_high=3.0), 1000).endswith("reaches zero")
    assert not_identified(Param(0.3, ci_low=0.25, ci_high=0.4), 1000) == ""
    assert not_identified(Param(0.3, ci_low=0.25, ci_high=0.4), 5) == "5 successful resamples"
    # losses far above E (E not identified): 6 runs of a 2 x 3 design with 1 % noise
    rng = np.random.default_rng(0)
    n, d = np.meshgrid([1e5, 3e5], [1e6, 3e6, 1e7])
    x = np.column_stack([n.ravel(), d.ravel()])
    y = get_law("chinchilla").predict(x, {"E": 0.5, "A": 300, "B": 900, "alpha": 0.3, "beta": 0.3})
    y = y * np.exp(rng.normal(0, 0.01, len(y)))
    fit = fit_with_intervals("chinchilla", x, y, f_scale=1e-3, n_resamples=60)
    missing = fit.diagnostics["not_identified"]
    assert missing, fit.params
    for name in missing:
        assert np.isnan(fit[name].ci_low) and fit[name].ci_method.startswith("not identified")
    assert any("not identified" in w for w in fit.warnings)


def test_isoflop_parabolas_recover_the_compute_optimal_exponent():
    """Runs on IsoFLOP profiles of a known L(N, D): N_opt ∝ C^(beta/(alpha+beta))."""
    law = get_law("chinchilla")
    rows = [{"C": c, "N": n, "loss": law.predict(np.array([[n, c / (6 * n)]]), TRUTH)[0]}
            for c in np.geomspace(1e18, 1e21, 4) for n in np.geomspace(1e7, 1e10, 13)]
    fits, table = analysis.fit_isoflop(pd.DataFrame(rows), n_bootstrap=50, confidence_level=0.95, seed=0)
    a = fits[0]["a"].estimate
    assert a == pytest.approx(TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"]), abs=0.03)
    assert fits[1]["b"].estimate == pytest.approx(1 - a)
    assert fits[0]["a"].ci_low <= a <= fits[0]["a"].ci_high and "within 4 strata" in fits[0]["a"].ci_method
    assert len(table) == 4 and table["N_opt"].notna().all()


def test_fit_table_reads_back_into_the_same_fit_results():
    x, y = synthetic_grid(0, sizes=4, budgets=4)
    one = fit_with_intervals("chinchilla", x, y, f_scale=1e-3, n_resamples=20, group={"fit": "L(N,D)"})
    two = get_law("saturating_power").fit(x[:, 0], y, group={"fit": "L(N)"})
    back = read_fits(results_frame([one, two]))
    assert [b.law for b in back] == ["chinchilla", "saturating_power"]
    for orig, got in zip([one, two], back):
        assert got.group == orig.group and got.n == orig.n and got.k == orig.k and got.aicc == orig.aicc
        assert list(got.params) == list(orig.params)
        for name, p in orig.params.items():
            assert got[name].estimate == p.estimate and got[name].ci_method == p.ci_method
            assert (np.isnan(p.ci_low) and np.isnan(got[name].ci_low)) or got[name].ci_low == p.ci_low
        assert got.diagnostics["x_columns"] == orig.diagnostics["x_columns"]
    assert read_fits(results_frame([])) == []


def test_wald_param_is_symmetric_or_log_symmetric():
    p = wald_param(2.0, 0.1, 0.95)
    assert (p.ci_low, p.ci_high) == pytest.approx((2.0 - 1.959964 * 0.1, 2.0 + 1.959964 * 0.1))
    q = wald_param(2.0, 0.1, 0.95, log_scale=True)
    assert q.ci_low * q.ci_high == pytest.approx(4.0) and q.se == pytest.approx(0.2)
    assert wald_param(1.0, float("nan"), 0.95).ci_low == 1.0


def test_a_law_that_names_two_x_columns_refuses_one():
    with pytest.raises(ValueError, match=r"law 'chinchilla' takes 2 x columns \(N, D\)"):
        get_law("chinchilla").fit(np.arange(1.0, 11.0), np.ones(10))


def test_too_few_distinct_values_of_an_x_leave_its_term_unidentified():
    from scalelaw.fitting.law_intervals import structurally_unidentified

    n, d = np.meshgrid([1e5, 2e5, 4e5, 8e5, 1.6e6], [1e6, 3e6])
    x = np.column_stack([n.ravel(), d.ravel()])
    out = structurally_unidentified(get_law("chinchilla"), x)
    assert set(out) == {"B", "beta", "E", "a_N_opt", "b_D_opt"}
    assert out["beta"].startswith("2 distinct value(s) of D")
    assert structurally_unidentified(get_law("chinchilla"), synthetic_grid(0, sizes=3, budgets=3)[0]) == {}


def test_fit_ladder_reports_exponents_for_both_parameter_counts():
    x, y = synthetic_grid(0, noise=2e-3, sizes=4, budgets=4)
    runs = pd.DataFrame({"run": [f"r{i}" for i in range(len(y))], "size": [f"s{v:.0f}" for v in x[:, 0]],
                         "params_total": x[:, 0] * 1.5, "params_non_embedding": x[:, 0], "tokens_seen": x[:, 1],
                         "tokens_budget": x[:, 1], "val_loss": y, "epochs": 0.5})
    fit = {"huber_delta": 1e-3, "n_starts": 4, "n_bootstrap": 30, "confidence_level": 0.95, "seed": 0}
    results, _, summary = analysis.fit_ladder(runs, fit, "non_embedding")
    labels = [r.group["fit"] for r in results]
    assert labels[:2] == ["L(N,D)", "L(N,D) [N total]"]
    both = summary["exponents_by_convention"]
    assert set(both) == {"non_embedding", "total"}
    # N total = 1.5 N non-embedding here: the same exponents, a different A
    assert both["total"]["alpha"]["estimate"] == pytest.approx(both["non_embedding"]["alpha"]["estimate"], rel=1e-3)
    assert results[1]["A"].estimate == pytest.approx(results[0]["A"].estimate * 1.5 ** results[0]["alpha"].estimate,
                                                     rel=1e-2)
    assert "holdout_rel_error" in summary["leave_largest_out"]


def test_wald_intervals_pass_the_same_identification_test():
    n, d = np.meshgrid([1e5, 2e5, 4e5, 8e5, 1.6e6], [1e6, 3e6])
    x = np.column_stack([n.ravel(), d.ravel()])
    y = get_law("chinchilla").predict(x, TRUTH) * np.exp(np.random.default_rng(0).normal(0, 3e-3, len(x)))
    fit = fit_with_intervals("chinchilla", x, y, f_scale=1e-3, n_resamples=0)
    assert fit.n_resamples == 0 and "beta" in fit.diagnostics["not_identified"]
    assert np.isnan(fit["beta"].ci_low) and fit["beta"].ci_method.startswith("not identified: 2 distinct")
    assert "alpha" not in fit.diagnostics["not_identified"] and fit["alpha"].ci_method.startswith("Wald")
