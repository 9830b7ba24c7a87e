"""Coverage of the L(N, D) bootstrap intervals (scalelaw.fitting.law_intervals) on synthetic
ladders with a known law and realistic noise, at the designs the configs use.

Each replicate draws every run's loss from L = E + A/N^alpha + B/D^beta times a log-normal
factor of sd 0.003 (0.012 to 0.018 nats at these losses; the default ladder's seed-to-seed
spread was 0.005 to 0.012 nats), fits it as the ladder does (Huber delta 1e-3, 4 starts,
resamples refitted from every optimum the full fit reached) and checks whether the 95 %
interval holds the true exponent. N are the total parameter counts of the configs' sizes.

- the grid of config/ladder-cpu.yaml, read from the config (N total, a size repeated with
  another seed counted twice): alpha and beta are identified in every replicate, and their
  intervals cover the truth >= 90 % of the time (30 replicates on 2026-12-07: 97 % and 97 %).
- the default grid of config/config.yaml, 3 sizes x 3 budgets: 9 runs for 5 parameters.
  A grid of that kind (80 k to 196 k parameters x 0.9 M to 2.8 M tokens), measured with
  intervals (30 replicates on 2026-12-07), covered alpha 87 % and beta 83 % of the time,
  so a fit with fewer than law_intervals.MIN_RESIDUAL_DOF residual degrees of freedom
  gets point estimates and the reason, no interval.
- the CPU ladder's 5 sizes with only 2 budgets: alpha is covered >= 90 %; beta cannot be identified
  by 2 budgets (E, B and beta trade off along a line) and is reported as "not identified",
  with no interval, in every replicate.
"""

from pathlib import Path

import numpy as np
import pytest
import yaml

from scalelaw.fitting.law_intervals import MIN_RESIDUAL_DOF, fit_with_intervals
from scalelaw.fitting.laws import get_law
from scalelaw.ladder.model import parameter_counts

ROOT = Path(__file__).resolve().parents[2]
NOISE = 0.003
REPLICATES = 20
RESAMPLES = 100


def size(d_model, n_layers, n_heads):
    return {"d_model": d_model, "n_layers": n_layers, "n_heads": n_heads}


def design(sizes, vocab, tokens, repeat_size=None):
    n = [parameter_counts(s, vocab)["params_total"] for s in sizes]
    rows = [(ni, t) for ni in n for t in tokens]
    if repeat_size is not None:  # a second seed of one size: the same (N, D), fresh noise
        rows += [(n[repeat_size], t) for t in tokens]
    return np.array(rows, float)


CPU_SIZES = [size(32, 2, 1), size(48, 2, 2), size(64, 3, 2), size(96, 3, 3), size(128, 4, 4)]


def config_design(name):
    """The (N, D) of every run a config's grid ladder trains (a size repeated with another
    seed gives its (N, D) twice), and its typical D (the geometric mean of the budgets)."""
    ladder = yaml.safe_load((ROOT / "config" / name).read_text())["ladder"]
    assert ladder["design"] == "grid", name
    rows = [(parameter_counts(s, int(ladder["vocab_size"]))["params_total"], t)
            for s in ladder["sizes"] for t in ladder["tokens"]]
    return np.array(rows, float), float(np.exp(np.mean(np.log(ladder["tokens"]))))


DESIGNS = {
    "config/config.yaml": config_design("config.yaml"),
    "config/ladder-cpu.yaml": config_design("ladder-cpu.yaml"),
    "5 sizes x 2 budgets + seed": (design(CPU_SIZES, 512, [1200000, 3600000], repeat_size=1), 2e6),
}


def coverage(x, d_ref):
    """Per exponent: (share of intervals holding the truth, intervals given, not identified)."""
    law = get_law("chinchilla")
    # the N and D terms each 1.5 nats above E at N = 3e5 and at the design's typical D
    truth = {"E": 2.0, "A": 1.5 * 3e5**0.35, "B": 1.5 * d_ref**0.35, "alpha": 0.35, "beta": 0.35}
    mean = law.predict(x, truth)
    held, missing = {"alpha": [], "beta": []}, {"alpha": 0, "beta": 0}
    for r in range(REPLICATES):
        y = mean * np.exp(np.random.default_rng(1000 + r).normal(0, NOISE, len(mean)))
        fit = fit_with_intervals(law, x, y, f_scale=1e-3, n_starts=4, n_resamples=RESAMPLES, seed=r)
        for p in held:
            if p in fit.diagnostics["not_identified"]:
                missing[p] += 1
                assert np.isnan(fit[p].ci_low) and np.isnan(fit[p].ci_high)
            else:
                held[p].append(fit[p].ci_low <= truth[p] <= fit[p].ci_high)
    return {p: (float(np.mean(h)) if h else float("nan"), len(h), missing[p]) for p, h in held.items()}


@pytest.mark.slow
def test_cpu_ladder_intervals_cover_alpha_and_beta():
    x, d_ref = DESIGNS["config/ladder-cpu.yaml"]
    out = coverage(x, d_ref)
    for p in ("alpha", "beta"):
        share, given, missing = out[p]
        assert given == REPLICATES and missing == 0, (p, out)
        assert share >= 0.9, (p, out)


@pytest.mark.slow
def test_two_budget_ladder_covers_alpha_and_reports_beta_not_identified():
    x, d_ref = DESIGNS["5 sizes x 2 budgets + seed"]
    out = coverage(x, d_ref)
    share, given, missing = out["alpha"]
    assert given == REPLICATES and share >= 0.9, out
    assert out["beta"][1:] == (0, REPLICATES), out


def test_a_fit_with_too_few_runs_for_its_parameters_gets_no_interval_and_says_why():
    law = get_law("chinchilla")
    truth = {"E": 2.0, "A": 1.5 * 3e5**0.35, "B": 1.5 * 2e6**0.35, "alpha": 0.35, "beta": 0.35}
    x, _ = DESIGNS["config/config.yaml"]
    assert len(x) - law.k < MIN_RESIDUAL_DOF  # the default ladder is such a fit
    y = law.predict(x, truth) * np.exp(np.random.default_rng(0).normal(0, NOISE, len(x)))
    fit = fit_with_intervals(law, x, y, f_scale=1e-3, n_starts=4, n_resamples=50, seed=0)
    for name in ("alpha", "beta", "E"):
        assert np.isfinite(fit[name].estimate)
        assert np.isnan(fit[name].ci_low) and fit[name].ci_method.startswith("no interval: 9 runs for 5 parameters")
    assert any(w.startswith("no interval") for w in fit.warnings)


@pytest.mark.parametrize("n_resamples", [100, 0])  # bootstrap and Wald intervals alike
@pytest.mark.parametrize("n_extra, has_interval", [(MIN_RESIDUAL_DOF - 1, False), (MIN_RESIDUAL_DOF, True)])
def test_the_residual_degrees_of_freedom_rule_at_its_boundary(n_extra, has_interval, n_resamples):
    law = get_law("saturating_power")
    x = np.geomspace(1e4, 1e6, law.k + n_extra)
    y = (2.0 + 50 * x**-0.4) * np.exp(np.random.default_rng(1).normal(0, 0.002, len(x)))
    fit = fit_with_intervals(law, x, y, f_scale=1e-3, n_starts=4, n_resamples=n_resamples, seed=0)
    assert np.isfinite(fit["alpha"].ci_low) == has_interval, fit["alpha"]
