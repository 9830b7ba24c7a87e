"""L(N, D) and friends (scalelaw.fitting.ladder_laws): the published Chinchilla refit,
recovery of known laws, the IsoFLOP approach, the table source and its errors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from scalelaw.fitting import ladder_laws as ll
from scalelaw.fitting.result import FIT_COLUMNS, results_frame
from scalelaw.ladder import tables

ROOT = Path(__file__).resolve().parents[1]
CHINCHILLA_CSV = ROOT / "data" / "chinchilla" / "svg_extracted_data.csv"
PUBLISHED = {"E": 1.817, "A": 482.0, "B": 2085.4, "alpha": 0.3478, "beta": 0.3658}
PUBLISHED_SE = {"E": 0.026, "A": 124.5, "B": 1293, "alpha": 0.015, "beta": 0.021}
SPEC = {
    "path": str(CHINCHILLA_CSV),
    "columns": {"N": "`Model Size`", "D": "`Training FLOP` / (6 * `Model Size`)", "loss": "loss"},
    "x": ["N", "D"], "y": "loss", "law": "chinchilla", "drop_highest": 5, "n_unit": "runs",
    "fit": {"huber_delta": 1e-3, "n_starts": 4, "n_bootstrap": 100, "confidence_level": 0.95, "seed": 0},
}


def chinchilla_points():
    return tables.prepare(tables.read_table(CHINCHILLA_CSV), SPEC, "chinchilla")


def test_chinchilla_refit_reproduces_the_published_numbers_within_their_standard_errors():
    points, counts = chinchilla_points()
    assert counts == {"rows": 245, "dropped_highest_y": 5, "fitted": 240}
    result = tables.fit(points, SPEC, "chinchilla")
    for name, value in PUBLISHED.items():
        assert abs(result[name].estimate - value) < PUBLISHED_SE[name], (name, result[name].estimate)
    # bootstrap standard errors of the same order as the published ones (100 resamples here)
    for name in ("E", "alpha", "beta"):
        assert 0.5 < result[name].se / PUBLISHED_SE[name] < 2, (name, result[name].se)
    frame = results_frame([result])
    assert list(frame.columns) == list(FIT_COLUMNS)
    assert frame["ci_low"].notna().all() and (frame["ci_low"] <= frame["estimate"]).all()


def test_fast_fit_reaches_the_minimum_of_the_published_recipe():
    """The published recipe (finite differences, every grid start) from its 10 best grid
    starts reaches the same minimum as the fast fit: same objective, same parameters to 3
    significant digits (the full 4,500-start comparison is in benchmarks/ladder.py)."""
    points, _ = chinchilla_points()
    x, y = points[["N", "D"]].to_numpy(), points["loss"].to_numpy()
    fast = ll.fit_loss_law(x, y, "chinchilla", n_bootstrap=0)
    grid = ll.published_start_grid()
    order = np.argsort(ll.huber_objective(grid, np.log(x), np.log(y)))
    slow, slow_objective = ll.published_recipe_fit(x, y, starts=grid[order[:10]])
    assert fast.diagnostics["objective"] <= slow_objective * (1 + 1e-7)
    for name, value in zip(("E", "A", "B", "alpha", "beta"), slow):
        assert float(f"{fast[name].estimate:.3g}") == float(f"{value:.3g}"), name


def test_analytic_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    log_x = np.log(rng.uniform(1e6, 1e9, (40, 2)))
    log_y = rng.normal(1, 0.1, 40)
    theta = np.array([0.4, 5.0, 6.0, 0.3, 0.4])
    w = rng.integers(1, 3, 40).astype(float)
    _, grad = ll._objective_and_gradient(theta, log_x, log_y, 1e-2, w)
    numeric = approx_fprime(theta, lambda t: ll._objective_and_gradient(t, log_x, log_y, 1e-2, w)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_a_known_law_from_synthetic_runs(seed):
    truth = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid(np.geomspace(1e7, 1e10, 8), np.geomspace(1e9, 1e12, 8))
    x = np.column_stack([n.ravel(), d.ravel()])
    y = ll.predict(ll.LADDER_LAWS["chinchilla"], truth, x) * np.exp(rng.normal(0, 1e-3, len(x)))
    fit = ll.fit_loss_law(x, y, "chinchilla", n_bootstrap=100, seed=seed)
    for name in ("E", "alpha", "beta"):
        assert abs(fit[name].estimate / truth[name] - 1) < 0.03, (name, fit[name].estimate)
        assert fit[name].ci_low <= truth[name] <= fit[name].ci_high, (name, fit[name])
    assert fit.n_failed_resamples == 0 and fit.converged


def test_one_variable_law_and_leave_largest_out_on_exact_data():
    truth = {"E": 2.0, "A": 50.0, "alpha": 0.5}
    x = np.geomspace(1e3, 1e7, 7)
    y = ll.predict(ll.LADDER_LAWS["saturating_power"], truth, x[:, None])
    fit = ll.fit_loss_law(x, y, "saturating_power", n_bootstrap=0)
    for name, value in truth.items():
        assert fit[name].estimate == pytest.approx(value, rel=1e-3)
    llo = ll.leave_largest_out(x, y, "saturating_power")
    assert abs(llo["mean_relative_error"]) < 1e-3 and llo["held_out"] == 1


def test_isoflop_parabolas_recover_the_compute_optimal_exponent():
    """Runs on IsoFLOP profiles of a known L(N, D): N_opt ∝ C^(beta/(alpha+beta))."""
    truth = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    rows = []
    for c in np.geomspace(1e18, 1e21, 4):
        for n in np.geomspace(1e7, 1e10, 13):
            d = c / (6 * n)
            rows.append({"C": c, "N": n, "loss": ll.predict(ll.LADDER_LAWS["chinchilla"], truth, np.array([[n, d]]))[0]})
    fits, table = ll.fit_isoflop(pd.DataFrame(rows), n_bootstrap=100)
    a = fits[0]["a"].estimate
    expected = truth["beta"] / (truth["alpha"] + truth["beta"])
    assert a == pytest.approx(expected, abs=0.03)
    assert fits[1]["b"].estimate == pytest.approx(1 - a)
    assert len(table) == 4 and table["N_opt"].notna().all()


def test_table_source_errors_name_the_culprit():
    table = pd.DataFrame({"n": [1.0, 2.0, 3.0, 4.0], "loss": [3.0, 2.5, -1.0, 2.0]})
    with pytest.raises(ValueError, match=r"column 'loss' has 1 missing or non-positive"):
        ll.fit_table(table, ["n"], "loss", "saturating_power", source="mine")
    with pytest.raises(ValueError, match=r"no column 'tokens'"):
        ll.fit_table(table, ["tokens"], "loss", "saturating_power", source="mine")
    with pytest.raises(ValueError, match=r"unknown law 'kaplan'; known: chinchilla"):
        ll.fit_table(table, ["n"], "loss", "kaplan")
    with pytest.raises(ValueError, match=r"law_tables.t.columns.D: cannot compute"):
        tables.prepare(table, {"columns": {"D": "`nope` * 2"}, "x": ["D"], "y": "loss"}, "t")
