"""The ladder's figures and Markdown section, drawn from the fitted tables (never refitted)."""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..fitting.laws import get_law  # noqa: E402
from ..fitting.result import expand_group  # noqa: E402
from ..io import write_figure  # noqa: E402
from ..plotting import legend_below, log_axis, sequential_cmap  # noqa: E402
from .analysis import frontier  # noqa: E402

KAPLAN_ALPHA_N = 0.076  # Kaplan et al. 2020, non-embedding parameters
CHINCHILLA = {"alpha": 0.3478, "beta": 0.3658}  # Epoch AI refit of Hoffmann et al. 2022


def fit_estimates(fits: pd.DataFrame, fit_label: str) -> dict[str, float] | None:
    if fits.empty:
        return None
    table = expand_group(fits)
    sub = table[table.get("fit") == fit_label] if "fit" in table else table.iloc[0:0]
    return dict(zip(sub["parameter"], sub["estimate"])) if len(sub) else None


def _finish(fig, ax, path: str, xlabel: str, title: str, ylabel: str = "validation loss (nats/token)") -> None:
    """Log x axis with labels, titles, grid and legend; save and close the figure."""
    ax.set_xscale("log")
    log_axis(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    legend_below(ax)
    fig.tight_layout()
    write_figure(fig, path, dpi=120)


def figures(runs: pd.DataFrame, curves: pd.DataFrame, fits: pd.DataFrame, isoflop: pd.DataFrame,
            paths: Mapping[str, str], parameter_count: str) -> None:
    """loss against N (one line per budget) and against D (one per size) with the fitted
    L(N, D); the compute-optimal frontier; the training curves."""
    n_col = "params_" + parameter_count
    est = fit_estimates(fits, "L(N,D)")
    law = get_law("chinchilla")
    cmap = sequential_cmap()

    fig, ax = plt.subplots(figsize=(5.5, 4))
    budgets = sorted(runs["tokens_budget"].unique())
    for j, b in enumerate(budgets):
        sub = runs[runs["tokens_budget"] == b].sort_values(n_col)
        color = cmap(j / max(1, len(budgets) - 1))
        ax.plot(sub[n_col], sub["val_loss"], "o", color=color, label=f"D = {sub['tokens_seen'].iloc[0]:,.0f}")
        if "bigram_val_loss" in sub and sub["bigram_val_loss"].notna().any():
            ax.axhline(sub["bigram_val_loss"].mean(), color=color, ls="--", lw=0.8,
                       label="KN bigram from the same D" if j == len(budgets) - 1 else None)
        if est:
            grid = np.geomspace(runs[n_col].min() / 1.5, runs[n_col].max() * 1.5, 50)
            ax.plot(grid, law.predict(np.column_stack([grid, np.full_like(grid, sub["tokens_seen"].iloc[0])]), est),
                    "-", color=color, lw=1)
    _finish(fig, ax, paths["loss_vs_n"], f"N ({parameter_count.replace('_', '-')} parameters)",
            "Loss against model size; lines: fitted L(N, D)")

    fig, ax = plt.subplots(figsize=(5.5, 4))
    sizes = runs.drop_duplicates("size").sort_values(n_col)
    for j, (size, n_val) in enumerate(zip(sizes["size"], sizes[n_col])):
        sub = runs[runs["size"] == size].sort_values("tokens_seen")
        color = cmap(j / max(1, len(sizes) - 1))
        ax.plot(sub["tokens_seen"], sub["val_loss"], "o", color=color, label=f"{size} (N = {n_val:,.0f})")
        if est:
            grid = np.geomspace(runs["tokens_seen"].min() / 1.5, runs["tokens_seen"].max() * 1.5, 50)
            ax.plot(grid, law.predict(np.column_stack([np.full_like(grid, n_val), grid]), est), "-", color=color, lw=1)
    for name, style in (("unigram", ":"), ("bigram", "--"), ("trigram", "-.")):
        col = f"{name}_val_loss"
        if col in runs and runs[col].notna().any():
            base = runs.groupby("tokens_seen")[col].mean()
            ax.plot(base.index, base.to_numpy(), style, color="0.4", lw=1, label=f"{name} (Kneser–Ney) from the same D")
    _finish(fig, ax, paths["loss_vs_d"], "D (training tokens seen)",
            "Loss against data; lines: fitted L(N, D); grey: n-gram baselines")

    fig, ax = plt.subplots(figsize=(5.5, 4))
    c = 6 * runs[n_col] * runs["tokens_seen"]
    sc = ax.scatter(c, runs[n_col], c=runs["val_loss"], cmap=sequential_cmap("magma").reversed(), s=30, label="runs (colour: loss)")
    fig.colorbar(sc, ax=ax, label="validation loss")
    grid = np.geomspace(c.min() / 3, c.max() * 3, 50)
    if est:
        n_opt, _ = frontier(est, grid)
        ax.plot(grid, n_opt, "k-", label="N_opt(C) from L(N, D)")
    if len(isoflop) and isoflop["N_opt"].notna().any():
        ax.plot(isoflop["C"], isoflop["N_opt"], "s", color="tab:blue", label="IsoFLOP parabola minima")
    ax.set_yscale("log")
    log_axis(ax.yaxis)
    _finish(fig, ax, paths["frontier"], "compute C = 6 N D (FLOPs)", "Compute-optimal frontier", ylabel="N")

    fig, ax = plt.subplots(figsize=(5.5, 4))
    order = runs.sort_values([n_col, "tokens_seen"])
    for run, size in zip(order["run"], order["size"]):
        sub = curves[curves["run"] == run]
        k = list(sizes["size"]).index(size)
        ax.plot(sub["tokens_seen"], sub["train_loss"], "-", lw=0.8, color=cmap(k / max(1, len(sizes) - 1)),
                label=size if run == order[order["size"] == size]["run"].iloc[-1] else None)
    _finish(fig, ax, paths["curves"], "tokens seen", "Training curves (each run has its own cosine schedule)",
            ylabel="training loss (nats/token)")


def _fmt(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:.4g}"


def _interval_phrase(row: Mapping[str, Any], lead: str = "") -> str:
    """'0.46 to 0.79', or why there is no interval (the fit's ci_method)."""
    if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
        return f"{lead}{_fmt(row['ci_low'])} to {_fmt(row['ci_high'])}"
    return str(row.get("ci_method") or "no interval")


def param_table(fits: pd.DataFrame) -> str:
    table = expand_group(fits)
    lines = ["| fit | formula | parameter | estimate | SE | 95% interval | n | AICc |", "|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['fit']} | {r['formula']} | {r['parameter']} | {_fmt(r['estimate'])} | {_fmt(r['se'])} | "
                     f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] | {r['n']} {r['n_unit']} | {_fmt(r['aicc'])} |")
    return "\n".join(lines)


def comparison_sentence(fits: pd.DataFrame, n_sizes: int, n_min: float, n_max: float, d_min: float, d_max: float,
                        parameter_count: str, lrs: Sequence[float] = (), smoke: bool = False) -> str:
    lrs = sorted(set(float(v) for v in lrs))
    if len(lrs) > 1:
        lr_phrase = (f"the peak learning rate was set per size by a scaling rule ({lrs[0]:.3g} to {lrs[-1]:.3g}), "
                     "not tuned at each size")
    else:
        lr_phrase = "every size used one learning rate, not tuned per size"
    table = expand_group(fits)
    sub = table[table["fit"] == "L(N,D)"].set_index("parameter") if "fit" in table else pd.DataFrame()
    if sub.empty:
        return "No L(N, D) fit: too few runs."
    a, b = sub.loc["alpha"], sub.loc["beta"]
    if not np.isfinite(a["ci_low"]) and not np.isfinite(b["ci_low"]) and a["ci_method"] == b["ci_method"]:
        exponents = f"Here α = {a['estimate']:.3g} and β = {b['estimate']:.3g}, with no interval ({a['ci_method'].removeprefix('no interval: ')})"
    else:
        exponents = (f"Here α = {a['estimate']:.3g} ({_interval_phrase(a, '95% interval ')}) and β = "
                     f"{b['estimate']:.3g} ({_interval_phrase(b)})")
    return (
        f"{exponents}, against Chinchilla's α ≈ "
        f"{CHINCHILLA['alpha']}, β ≈ {CHINCHILLA['beta']} (Epoch AI refit) and Kaplan's α_N ≈ {KAPLAN_ALPHA_N} "
        f"(non-embedding N, with data not limiting). These {n_sizes} sizes span "
        f"{math.log10(n_max / n_min):.2g} decade(s) of N ({n_min:,.0f} to {n_max:,.0f} {parameter_count.replace('_', '-')} "
        f"parameters) and {math.log10(d_max / d_min):.2g} of D, far below the 10^7 to 10^10 parameters of those "
        f"studies, and {lr_phrase}: "
        + ("some runs lose to their own bigram, so the fit describes how far training got in these steps, "
           "not a scaling law; its exponents are not evidence for or against the published ones."
           if smoke else
           "the fit shows how loss falls with N and D on this corpus and how well a saturating power law "
           "describes it, but its exponents are not evidence for or against the published ones, and "
           "extrapolating it to large models (see the leave-largest-out error) is not warranted.")
    )


def baseline_verdict(runs: pd.DataFrame) -> str:
    """One plain statement of what the ladder measures, from its runs against their bigrams."""
    if "bigram_val_loss" not in runs or runs["bigram_val_loss"].isna().all():
        return ("The n-gram baselines were not computed (ladder.train.baselines: false): nothing here shows "
                "whether these runs learnt more than word-pair counts.")
    losing = runs[~(runs["val_loss"] < runs["bigram_val_loss"])]
    if len(losing):
        return (f"**This ladder is a smoke test of the machinery, not a measurement of a scaling law**: "
                f"{len(losing)} of {len(runs)} runs lose to a Kneser–Ney bigram counted from their own training "
                f"tokens ({', '.join(losing['run'])}). Their losses say how far the optimiser got in their steps, "
                "not how N and D set the loss; a law fitted through them describes the training recipe.")
    beat_tri = int((runs["val_loss"] < runs["trigram_val_loss"]).sum())
    trigram = {0: "none of them beats the trigram", 1: "one also beats the trigram",
               len(runs): "every one also beats the trigram"}.get(beat_tri, f"{beat_tri} also beat the trigram")
    return (f"Every one of the {len(runs)} runs beats the Kneser–Ney bigram counted from its own training tokens "
            f"({trigram}), so the losses below reflect what the models learnt beyond word-pair counts.")


def baseline_section(runs: pd.DataFrame, n_col: str) -> list[str]:
    """Each run against unigram, bigram and trigram models of the same training tokens."""
    out = ["## Against n-gram baselines", "", baseline_verdict(runs)]
    if "bigram_val_loss" not in runs:
        return out
    out += ["", "Baselines: interpolated Kneser–Ney (discount 0.75) counted from the very tokens each run "
            "trained on and scored on the same evaluation tokens (nats/token).", "",
            "| run | N | D | steps | lr | val loss | unigram | bigram | trigram | beats bigram |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in runs.iterrows():
        beats = "yes" if r["val_loss"] < r["bigram_val_loss"] else "**no** ⚠"
        out.append(f"| {r['run']} | {r[n_col]:,} | {r['tokens_seen']:,} | {r.get('steps', '–')} | {_fmt(r.get('lr'))} | "
                   f"{r['val_loss']:.4f} | {_fmt(r['unigram_val_loss'])} | {_fmt(r['bigram_val_loss'])} | "
                   f"{_fmt(r['trigram_val_loss'])} | {beats} |")
    return out


def design_phrase(runs: pd.DataFrame) -> str:
    """'5 sizes × 4 token budgets', naming sizes that differ only by seed as repeats, not sizes."""
    shape_cols = [c for c in ("d_model", "n_layers", "n_heads", "params_total") if c in runs]
    names = runs.drop_duplicates("size")
    n_shapes = len(names.drop_duplicates(shape_cols)) if shape_cols else len(names)
    text = f"{n_shapes} sizes × {runs['tokens_budget'].nunique()} token budgets"
    repeats = len(names) - n_shapes
    if repeats:
        text += f", and {repeats} of the sizes trained again with another seed" if repeats > 1 else \
            ", and one size trained again with another seed"
    return text


def markdown(runs: pd.DataFrame, fits: pd.DataFrame, isoflop: pd.DataFrame, summary: Mapping[str, Any],
             facts: Mapping[str, Any], figures: Sequence[str], parameter_count: str) -> str:
    n_col = "params_" + parameter_count
    out = ["# Model ladder", ""]
    out.append(
        f"{len(runs)} training runs of Llama-architecture models ({design_phrase(runs)}), trained from random "
        "initialisation on "
        f"{facts['documents']['train']} training documents ({facts['tokens']['train']:,} tokens of a "
        f"{facts['vocab_size']}-token BPE trained on them) and evaluated on {facts['documents']['val']} held-out "
        f"documents (split by doc_id). N is the {parameter_count.replace('_', '-')} parameter count; D the tokens seen."
    )
    smoke = "bigram_val_loss" in runs and bool((~(runs["val_loss"] < runs["bigram_val_loss"])).any())
    if "bigram_val_loss" not in runs:
        verdict = "the runs have no n-gram baselines to be judged against."
    elif smoke:
        n_lose = int((~(runs["val_loss"] < runs["bigram_val_loss"])).sum())
        verdict = (f"{n_lose} of {len(runs)} runs lose to a Kneser–Ney bigram counted from their own training "
                   "tokens: this ladder is a smoke test of the machinery, not a measurement of a scaling law.")
    else:
        verdict = f"all {len(runs)} runs beat a Kneser–Ney bigram counted from their own training tokens."
    conclusion = comparison_sentence(fits, runs[n_col].nunique(), runs[n_col].min(), runs[n_col].max(),
                                     runs["tokens_seen"].min(), runs["tokens_seen"].max(), parameter_count,
                                     runs["lr"] if "lr" in runs else (), smoke=smoke)
    out += ["", "## Does the loss follow L(N, D)?", "", f"- Baselines: {verdict}", f"- {conclusion}"]
    out += ["", *baseline_section(runs, n_col)]
    out += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    out += ["", "## Runs", "",
            "| run | N total | N non-emb. | D | epochs | val loss | train s | tokens/s | matmul fraction | device |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in runs.iterrows():
        flag = " ⚠ repeats data" if r["epochs"] > 1 else ""
        out.append(f"| {r['run']} | {r['params_total']:,} | {r['params_non_embedding']:,} | {r['tokens_seen']:,} | "
                   f"{r['epochs']:.3f}{flag} | {r['val_loss']:.4f} | {r['train_seconds']:.1f} | {r['tokens_per_s']:,.0f} | "
                   f"{r['matmul_fraction']:.2f} | {r['device']} ({r['dtype']}) |")
    out += ["", "## Fits", "", param_table(fits) if len(fits) else "No fits.", ""]
    llo = summary.get("leave_largest_out") or {}
    if "holdout_rel_error" in llo:
        out.append(f"Leave-largest-out: refitted without the {llo['holdout_n']} run(s) of the largest size, L(N, D) "
                   f"predicts their loss with a mean relative error of {100 * llo['holdout_rel_error']:+.2f}% "
                   f"(largest {100 * llo['holdout_max_abs_rel_error']:.2f}%).")
    main = expand_group(fits) if len(fits) else fits
    if len(main) and "fit" in main:
        diag = main[main["fit"] == "L(N,D)"]["diagnostics"]
        if len(diag):
            aicc = json.loads(diag.iloc[0]).get("aicc_same_runs", {})
            if aicc:
                out.append("AICc on the same runs (Gaussian on log L): " +
                           "; ".join(f"{k}: {_fmt(v)}" for k, v in aicc.items()) + ".")
    if isinstance(summary.get("isoflop"), str):
        out.append(f"Approach 2 (IsoFLOP parabolas): {summary['isoflop']}; the frontier drawn is Approach 3's.")
    elif len(isoflop):
        out += ["", "IsoFLOP optima (Approach 2):", "", isoflop.to_markdown(index=False)]
    if summary.get("warnings"):
        out += ["", "## Warnings", ""] + [f"- {w}" for w in summary["warnings"]]
    return "\n".join(out) + "\n"
