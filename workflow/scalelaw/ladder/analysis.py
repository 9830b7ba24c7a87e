"""From the ladder's run files to its fits: collect runs and curves, fit L(N, D)
(Approach 3), IsoFLOP parabolas (Approach 2, IsoFLOP designs), L(N) at the largest budget
and L(D) at the largest size, each with intervals, AICc where comparable and a
leave-largest-out extrapolation error."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..fitting import ladder_laws as laws
from ..fitting.result import FitResult

CURVE_PREFIX = "curve_"


def run_frame(summary: Mapping[str, Any], curve: pd.DataFrame) -> pd.DataFrame:
    """One run's file: its loss curve (columns prefixed ``curve_``) with the run's summary
    as constant columns."""
    frame = curve.drop(columns="run").add_prefix(CURVE_PREFIX)
    for key, value in summary.items():
        frame[key] = value
    return frame


def collect(frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-run files -> one row per run and one long curve table."""
    if not frames:
        raise ValueError("the ladder has no runs")
    every = pd.concat(frames, ignore_index=True)
    curve_cols = [c for c in every.columns if c.startswith(CURVE_PREFIX)]
    curves = every[["run", *curve_cols]].rename(columns=lambda c: c.removeprefix(CURVE_PREFIX))
    runs = every.drop(columns=curve_cols).groupby("run", sort=False).tail(1).reset_index(drop=True)
    return runs.sort_values(["params_total", "tokens_seen"]).reset_index(drop=True), curves


def frontier(estimates: Mapping[str, float], compute: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal N and D under C = 6 N D for L = E + A/N^alpha + B/D^beta
    (Hoffmann et al. 2022, eq. 4): N_opt = G (C/6)^(beta/(alpha+beta)), D_opt = C / (6 N_opt)."""
    a_, b_ = estimates["alpha"], estimates["beta"]
    g = (a_ * estimates["A"] / (b_ * estimates["B"])) ** (1 / (a_ + b_))
    n_opt = g * (np.asarray(compute, float) / 6) ** (b_ / (a_ + b_))
    return n_opt, np.asarray(compute, float) / (6 * n_opt)


def _fit_kw(fit: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "delta": float(fit["huber_delta"]),
        "n_starts": int(fit["n_starts"]),
        "n_bootstrap": int(fit["n_bootstrap"]),
        "confidence_level": float(fit["confidence_level"]),
        "seed": int(fit["seed"]),
    }


def fit_ladder(
    runs: pd.DataFrame,
    fit: Mapping[str, Any],
    parameter_count: str,
    budgets: Mapping[str, float | None] | None = None,
    group: Mapping[str, Any] | None = None,
) -> tuple[list[FitResult], pd.DataFrame, dict[str, Any]]:
    """Every ladder fit as FitResults, the IsoFLOP optima table and a summary (warnings,
    counts, leave-largest-out errors)."""
    n_col = "params_" + parameter_count
    kw = _fit_kw(fit)
    base = {**dict(group or {}), "N": parameter_count, "y": "val_loss (nats/token)"}
    n = runs[n_col].to_numpy(float)
    d = runs["tokens_seen"].to_numpy(float)
    y = runs["val_loss"].to_numpy(float)
    results: list[FitResult] = []
    warnings: list[str] = []
    summary: dict[str, Any] = {"n_runs": int(len(runs)), "n_sizes": int(runs["size"].nunique()),
                               "n_budgets": int(runs["tokens_budget"].nunique()), "parameter_count": parameter_count}
    repeated = runs[runs["epochs"] > 1]
    if len(repeated):
        warnings.append(f"{len(repeated)} run(s) repeat training data (up to {repeated['epochs'].max():.2f} epochs): "
                        + ", ".join(repeated["run"]))
    summary["repeated_data_runs"] = repeated["run"].tolist()

    if len(runs) >= 6 and runs["size"].nunique() >= 2 and runs["tokens_seen"].nunique() >= 2:
        main = laws.fit_loss_law(np.column_stack([n, d]), y, "chinchilla", group={**base, "fit": "L(N,D)"}, **kw)
        alternatives = {
            "L = E + A/N^alpha": laws.fit_loss_law(n, y, "saturating_power", **{**kw, "n_bootstrap": 0}),
            "L = E + B/D^beta": laws.fit_loss_law(d, y, "saturating_power", **{**kw, "n_bootstrap": 0}),
        }
        main.diagnostics["aicc_same_runs"] = {main.formula: main.aicc, **{k: v.aicc for k, v in alternatives.items()}}
        main.diagnostics["leave_largest_out"] = laws.leave_largest_out(
            np.column_stack([n, d]), y, "chinchilla", column=0, delta=kw["delta"], n_starts=kw["n_starts"])
        summary["leave_largest_out"] = main.diagnostics["leave_largest_out"]
        results.append(main)
        if main["E"].estimate < 0.01 * y.min():
            warnings.append(f"L(N,D): E = {main['E'].estimate:.3g} is at zero: the irreducible loss is not "
                            "identified by these runs (the losses are far from it), so A, alpha and the "
                            "compute-optimal exponents are poorly determined too")
    else:
        warnings.append(f"L(N, D) needs at least 6 runs over 2 sizes and 2 budgets; have {len(runs)}")

    for label, sel_col, x_col, analysis in (
        ("L(N) at the largest budget", "tokens_budget", n_col, "loss_vs_size"),
        ("L(D) at the largest size", n_col, "tokens_seen", "loss_vs_data"),
    ):
        sub = runs[runs[sel_col] == runs[sel_col].max()]
        if len(sub) < 4:
            warnings.append(f"{label}: {len(sub)} run(s); a 3-parameter law needs at least 4")
            continue
        x = sub[x_col].to_numpy(float)
        ys = sub["val_loss"].to_numpy(float)
        res = laws.fit_loss_law(x, ys, "saturating_power", analysis=analysis,
                                group={**base, "fit": label, "x": x_col, "at": float(sub[sel_col].max())}, **kw)
        res.diagnostics["leave_largest_out"] = laws.leave_largest_out(x, ys, "saturating_power",
                                                                      delta=kw["delta"], n_starts=kw["n_starts"])
        results.append(res)

    isoflop = pd.DataFrame(columns=["C", "N_opt", "note", "D_opt"])
    budgets = {k: v for k, v in (budgets or {}).items() if v is not None}
    if budgets:
        with_budget = runs.assign(C=runs["run"].map(budgets)).dropna(subset=["C"])
        try:
            iso_fits, isoflop = laws.fit_isoflop(with_budget, n_col=n_col, c_col="C", loss_col="val_loss",
                                                 n_bootstrap=kw["n_bootstrap"], confidence_level=kw["confidence_level"],
                                                 seed=kw["seed"], group={**base, "fit": "IsoFLOP"})
            results.extend(iso_fits)
        except ValueError as err:
            warnings.append(f"Approach 2: {err}")
    else:
        summary["isoflop"] = "Approach 2 needs an IsoFLOP design (ladder.design: isoflop)"
    for r in results:
        warnings.extend(f"{r.group.get('fit', r.analysis)}: {w}" for w in r.warnings)
    summary["warnings"] = warnings
    return results, isoflop, summary
