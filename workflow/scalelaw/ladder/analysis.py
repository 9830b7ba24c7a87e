"""From the ladder's run files to its fits: collect runs and curves, fit L(N, D)
(Approach 3, law ``chinchilla``), IsoFLOP parabolas (Approach 2, law ``isoflop_parabola``
per budget, then N_opt = k C^a by OLS on logs), L(N) at the largest budget and L(D) at the
largest size (law ``saturating_power``), each with resampled intervals (or "not
identified"), AICc where comparable and a leave-largest-out extrapolation error. Every law
is one of the registry's (:mod:`scalelaw.fitting.laws`), fitted through ``Law.fit``.

L(N, D) is fitted with N as configured (``parameter_count``) and, when the runs carry both
counts, with the other convention too: the exponents differ between them (Kaplan et al.
count non-embedding parameters, Hoffmann et al. total)."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..fitting.bootstrap import bootstrap
from ..fitting.law_intervals import fit_with_intervals, leave_largest_out
from ..fitting.laws import get_law
from ..fitting.result import FitResult, Param

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
    return runs.sort_values([n_column(runs, "total") or "run", "tokens_seen"]).reset_index(drop=True), curves


def frontier(estimates: Mapping[str, float], compute: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal N and D under C = 6 N D for L = E + A/N^alpha + B/D^beta
    (Hoffmann et al. 2022, eq. 4): N_opt = G (C/6)^(beta/(alpha+beta)), D_opt = C / (6 N_opt)."""
    a_, b_ = estimates["alpha"], estimates["beta"]
    g = (a_ * estimates["A"] / (b_ * estimates["B"])) ** (1 / (a_ + b_))
    n_opt = g * (np.asarray(compute, float) / 6) ** (b_ / (a_ + b_))
    return n_opt, np.asarray(compute, float) / (6 * n_opt)


# The column each parameter-count convention is found under (ladder.model writes params_*;
# n_params_* is accepted too).
N_COLUMNS = {"total": ("params_total", "n_params_total"),
             "non_embedding": ("params_non_embedding", "n_params_non_embedding")}
MAIN_FIT = "L(N,D)"


def n_column(runs: pd.DataFrame, convention: str) -> str | None:
    return next((c for c in N_COLUMNS[convention] if c in runs.columns), None)


def _fit_kw(fit: Mapping[str, Any]) -> dict[str, Any]:
    """The ladder.fit section (validated: every key present, defaults from the schema)."""
    return {"f_scale": float(fit["huber_delta"]), "n_starts": int(fit["n_starts"]),
            "n_resamples": int(fit["n_bootstrap"]), "confidence_level": float(fit["confidence_level"]),
            "seed": int(fit["seed"])}


def _loss_law(law: str, x, y, kw: Mapping[str, Any], **extra) -> FitResult:
    return fit_with_intervals(law, x, y, loss="huber", unit="runs", **{**kw, **extra})


def _holdout(law: str, x, y, kw: Mapping[str, Any], labels) -> dict[str, Any]:
    return leave_largest_out(law, x, y, column=0, labels=labels, loss="huber", f_scale=kw["f_scale"],
                             n_starts=kw["n_starts"])


def fit_ladder(
    runs: pd.DataFrame,
    fit: Mapping[str, Any],
    parameter_count: str,
    budgets: Mapping[str, float | None] | None = None,
    group: Mapping[str, Any] | None = None,
) -> tuple[list[FitResult], pd.DataFrame, dict[str, Any]]:
    """Every ladder fit as FitResults, the IsoFLOP optima table and a summary (warnings,
    counts, leave-largest-out errors, exponents under both N conventions)."""
    n_col = n_column(runs, parameter_count)
    if n_col is None:
        raise ValueError(f"runs have no {parameter_count} parameter count column ({N_COLUMNS[parameter_count]})")
    kw = _fit_kw(fit)
    base = {**dict(group or {}), "N": parameter_count, "y": "val_loss (nats/token)"}
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
        conventions = [parameter_count] + [c for c in N_COLUMNS if c != parameter_count and n_column(runs, c)]
        summary["exponents_by_convention"] = {}
        for convention in conventions:
            n = runs[n_column(runs, convention)].to_numpy(float)
            label = MAIN_FIT if convention == parameter_count else f"{MAIN_FIT} [N {convention}]"
            main = _loss_law("chinchilla", np.column_stack([n, d]), y, kw, analysis="loss_vs_size_and_data",
                             group={**base, "N": convention, "fit": label})
            summary["exponents_by_convention"][convention] = {
                p: {"estimate": main[p].estimate, "ci_low": main[p].ci_low, "ci_high": main[p].ci_high,
                    "not_identified": main.diagnostics["not_identified"].get(p, ""),
                    "no_interval": main.diagnostics.get("no_interval", "")} for p in ("alpha", "beta")}
            results.append(main)
            if convention != parameter_count:
                continue
            no_boot = {**kw, "n_resamples": 0}
            alternatives = {"L = E + A/N^alpha": _loss_law("saturating_power", n, y, no_boot),
                            "L = E + B/D^beta": _loss_law("saturating_power", d, y, no_boot)}
            main.diagnostics["aicc_same_runs"] = {main.formula: main.aicc,
                                                  **{k: v.aicc for k, v in alternatives.items()}}
            main.diagnostics["leave_largest_out"] = _holdout("chinchilla", np.column_stack([n, d]), y, kw,
                                                             runs["run"].tolist())
            summary["leave_largest_out"] = main.diagnostics["leave_largest_out"]
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
        res = _loss_law("saturating_power", x, ys, kw, analysis=analysis,
                        group={**base, "fit": label, "x": x_col, "at": float(sub[sel_col].max())})
        res.diagnostics["leave_largest_out"] = _holdout("saturating_power", x, ys, kw, sub["run"].tolist())
        results.append(res)

    isoflop = pd.DataFrame(columns=["C", "N_opt", "note", "D_opt"])
    budgets = {k: v for k, v in (budgets or {}).items() if v is not None}
    if budgets:
        with_budget = runs.assign(C=runs["run"].map(budgets)).dropna(subset=["C"])
        try:
            iso_fits, isoflop = fit_isoflop(with_budget, n_col=n_col, c_col="C", loss_col="val_loss",
                                            n_bootstrap=kw["n_resamples"], confidence_level=kw["confidence_level"],
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


def _isoflop_optimum(log_n: np.ndarray, log_l: np.ndarray) -> tuple[float, str]:
    """log N at the minimum of the budget's parabola (law isoflop_parabola), or NaN and why."""
    if len(np.unique(log_n)) < 3:
        return math.nan, "fewer than 3 sizes"
    c0, c1, c2 = get_law("isoflop_parabola").estimate(np.exp(log_n), np.exp(log_l)).params
    if c2 <= 0:
        return math.nan, "parabola opens downward (no minimum)"
    return -c1 / (2 * c2), ""


def _frontier_line(log_c: np.ndarray, log_n_opt: np.ndarray) -> np.ndarray:
    """(a, k_N, b, k_D) of N_opt = k_N C^a (law power, OLS on logs) and D_opt = C / (6 N_opt)
    = k_D C^b; NaN when fewer than 2 budgets have a minimum."""
    ok = np.isfinite(log_n_opt)
    if ok.sum() < 2 or np.ptp(log_c[ok]) == 0:
        return np.full(4, np.nan)
    k_n, a = get_law("power").estimate(np.exp(log_c[ok]), np.exp(log_n_opt[ok])).params
    return np.array([a, k_n, 1 - a, 1 / (6 * k_n)])


def fit_isoflop(
    runs: pd.DataFrame,
    *,
    n_col: str = "N",
    c_col: str = "C",
    loss_col: str = "loss",
    n_bootstrap: int,
    confidence_level: float,
    seed: int,
    group: dict | None = None,
) -> tuple[list[FitResult], pd.DataFrame]:
    """Approach 2: per compute budget C a parabola of log L in log N gives N_opt(C); then
    N_opt = k_N C^a and D_opt = C / (6 N_opt) = k_D C^b by OLS in log-log. Intervals: the
    one bootstrap, resampling runs within each budget. Returns the two power-law fits and
    the per-budget optima table."""
    groups = [(math.log(c), np.log(sub[n_col].to_numpy(float)), np.log(sub[loss_col].to_numpy(float)))
              for c, sub in runs.groupby(c_col)]
    optima = [_isoflop_optimum(log_n, log_l) for _, log_n, log_l in groups]
    log_c = np.array([g[0] for g in groups])
    log_n_opt = np.array([o[0] for o in optima])
    table = pd.DataFrame({"C": np.exp(log_c), "N_opt": np.exp(log_n_opt), "note": [o[1] for o in optima]})
    table["D_opt"] = table["C"] / (6 * table["N_opt"])
    point = _frontier_line(log_c, log_n_opt)
    if not np.isfinite(point).all():
        raise ValueError(f"Approach 2 needs at least 2 compute budgets with a minimum; got {table.to_dict('records')}")

    def statistic(*idx: np.ndarray) -> np.ndarray:
        batch = idx[0].shape[:-1]
        out = np.empty((4, int(np.prod(batch))))
        flat = [i.reshape(-1, i.shape[-1]) for i in idx]
        for r in range(out.shape[1]):
            opt = np.array([_isoflop_optimum(log_n[f[r]], log_l[f[r]])[0] for (_, log_n, log_l), f in zip(groups, flat)])
            out[:, r] = _frontier_line(log_c, opt)
        return out.reshape((4,) + batch)

    boot = None
    if n_bootstrap > 0:
        boot = bootstrap(statistic, tuple(len(g[1]) for g in groups), unit="runs", n_resamples=n_bootstrap,
                         confidence_level=confidence_level, method="percentile", seed=seed)

    def param(j: int) -> Param:
        if boot is None or n_bootstrap - boot.n_failed < 10:
            return Param(point[j])
        return Param(point[j], float(boot.se[j]), "bootstrap", float(boot.low[j]), float(boot.high[j]), boot.method)

    n_budgets = int(np.isfinite(log_n_opt).sum())
    shared = dict(
        analysis="isoflop", law="power", estimator="parabola in log N per budget, then OLS in log-log",
        n=n_budgets, n_unit="points", confidence_level=confidence_level, k=2,
        n_resamples=n_bootstrap if boot else 0, n_failed_resamples=boot.n_failed if boot else 0,
        diagnostics={"budgets": table.to_dict("records"), "n_runs": int(len(runs))},
        warnings=[f"{n_budgets} compute budgets for a 2-parameter line"] if n_budgets < 4 else [],
    )
    n_fit = FitResult(formula="N_opt = k * C^a", params={"a": param(0), "k": param(1)},
                      group={**dict(group or {}), "quantity": "N_opt"}, **shared)
    d_fit = FitResult(formula="D_opt = C / (6 N_opt) = k * C^b", params={"b": param(2), "k": param(3)},
                      group={**dict(group or {}), "quantity": "D_opt"}, **shared)
    return [n_fit, d_fit], table
