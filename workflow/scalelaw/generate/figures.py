"""Figures of the generation sweep (saved atomically by ``scalelaw.io.write_figure``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalelaw.io import write_figure
from scalelaw.plotting import legend_below, log_axis


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colors(keys):
    plt = _plt()
    cmap = plt.get_cmap("tab10")
    return {k: cmap(i % 10) for i, k in enumerate(keys)}


def plot_length_vs_prompt(gen: pd.DataFrame, km: pd.DataFrame, path: str) -> None:
    """Decoding steps against prompt length per model; censored points hollow at the cap;
    Kaplan-Meier medians with 95% CIs as lines."""
    plt = _plt()
    models = sorted(gen["model"].unique())
    fig, axes = plt.subplots(1, max(1, len(models)), figsize=(5.5 * max(1, len(models)), 4.2),
                             squeeze=False)
    colors = _colors(sorted(gen["decoding"].unique()))
    rng = np.random.default_rng(0)
    for ax, model in zip(axes[0], models):
        g = gen[gen["model"] == model]
        for (dec, cap), d_all in g.groupby(["decoding", "max_new_tokens"]):
            d = d_all[d_all["n_steps"] > 0]  # rows with no room under a total cap: counted in the tables
            x = d["prompt_text_tokens"].to_numpy(float) * np.exp(rng.normal(0, 0.02, len(d)))
            ev = ~d["censored"].to_numpy(bool)
            n_capped = f"{int(d['censored'].sum())}/{len(d)} capped"
            ax.scatter(x[ev], d["n_steps"][ev], s=12, color=colors[dec], alpha=0.5,
                       label=f"{dec}, cap {cap}: stopped by EOS ({n_capped})")
            ax.scatter(x[~ev], d["n_steps"][~ev], s=18, facecolors="none",
                       edgecolors=colors[dec], alpha=0.6, marker="^")
            k = km[(km["model"] == model) & (km["decoding"] == dec) & (km["max_new_tokens"] == cap)]
            k = k.sort_values("prompt_text_tokens_mean")
            ok = k["median_reached"].astype(bool)
            err = np.vstack([(k["km_median_steps"] - k["km_median_ci_low"]).clip(lower=0),
                             (k["km_median_ci_high"] - k["km_median_steps"]).clip(lower=0)])
            err = np.where(np.isfinite(err), err, 0)
            if ok.any():  # a legend entry only for a median that is drawn
                ax.errorbar(k["prompt_text_tokens_mean"][ok], k["km_median_steps"][ok],
                            yerr=err[:, ok.to_numpy()], color=colors[dec], lw=1.5, capsize=3,
                            marker="s", elinewidth=0.8, label=f"{dec}, cap {cap}: Kaplan-Meier median")
            total = int(d_all["max_length"].iloc[0]) if "max_length" in d_all else -1
            if total > 0:  # a total cap: room left = max_length - prompt length
                px = np.geomspace(max(d_all["prompt_text_tokens"].min(), 1), total - 1, 50)
                ax.plot(px, total - px, color=colors[dec], ls="--", lw=0.8,
                        label=f"{dec}: max_length {total} - prompt length")
            else:
                ax.axhline(cap, color=colors[dec], ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        log_axis(ax.xaxis)
        log_axis(ax.yaxis)
        ax.set_xlabel("prompt length (model tokens of the prompt text)")
        ax.set_ylabel("decoding steps until EOS (triangles: hit the cap)")
        ax.set_title(model)
        legend_below(ax)
    fig.tight_layout()
    write_figure(fig, path, dpi=120)


def plot_s_vs_l(texts: pd.DataFrame, path: str, unit: str = "words") -> None:
    """Mean sentence length against text length: generated texts (capped ones without
    their cut last sentence, hollow) beside the human continuations of the same prompts
    cut to the same lengths; one panel per model (the rows of ``fit/s_vs_l_texts``)."""
    plt = _plt()
    gen = texts[texts["text_set"] == "trimmed"]
    human = texts[texts["text_set"] == "human_matched"]
    models = sorted(gen["model"].dropna().unique())
    fig, axes = plt.subplots(1, max(1, len(models)), figsize=(5.5 * max(1, len(models)), 4.2),
                             squeeze=False)
    colors = _colors(sorted(gen["decoding"].dropna().unique()))
    x, y = f"L_{unit}", f"S_{unit}_mean"
    for ax, model in zip(axes[0], models):
        h = human[human["model"] == model].drop_duplicates([x, y])
        ax.scatter(h[x], h[y], s=14, color="black", alpha=0.5,
                   label="human continuation, cut to the generated length")
        for dec, d in gen[gen["model"] == model].groupby("decoding"):
            capped = d["censored"].astype(bool)
            ax.scatter(d.loc[~capped, x], d.loc[~capped, y], s=12, color=colors[dec], alpha=0.6,
                       label=f"generated, {dec}")
            ax.scatter(d.loc[capped, x], d.loc[capped, y], s=16, facecolors="none",
                       edgecolors=colors[dec], alpha=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        log_axis(ax.xaxis)
        log_axis(ax.yaxis)
        ax.set_xlabel(f"L: text length ({unit}; hollow: hit the cap, cut sentence dropped)")
        ax.set_ylabel(f"S: mean sentence length ({unit})")
        ax.set_title(model)
        legend_below(ax)
    fig.tight_layout()
    write_figure(fig, path, dpi=120)


def plot_loss_vs_size(means: pd.DataFrame, loss_size: pd.DataFrame, path: str,
                      metric: str = "loss_nats_per_token") -> None:
    """Mean loss per model against parameter count (total and non-embedding), with the
    fitted power law and E + A N^-alpha."""
    from scalelaw.fitting.laws import LAWS

    plt = _plt()
    convs = ("n_params_total", "n_params_nonembedding")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), squeeze=False)
    for ax, conv in zip(axes[0], convs):
        if conv not in means or means.empty:
            continue
        x = means[conv].to_numpy(float)
        y = means[f"{metric}_mean"].to_numpy(float)
        ax.errorbar(x, y, yerr=2 * means[f"{metric}_sem"].fillna(0), fmt="o", color="black",
                    capsize=3, label="models (mean ± 2 s.e. over prompts)")
        for name, row in zip(means["model"], zip(x, y)):
            ax.annotate(name, row, fontsize=7, xytext=(3, 3), textcoords="offset points")
        grid = np.geomspace(x.min() / 1.5, x.max() * 1.5, 100)
        for law, style in (("power", "-"), ("saturating_power", "--")):
            sel = loss_size[(loss_size["law"] == law) & (loss_size["convention"] == conv)
                            & loss_size["parameter"].notna()]
            if sel.empty:
                continue
            params = np.array([sel.set_index("parameter").loc[p, "estimate"]
                               for p in LAWS[law].params], dtype=float)
            warn = " (not identified)" if not bool(sel["identified"].iloc[0]) else ""
            ax.plot(grid, LAWS[law].predict(grid, params), style,
                    label=f"{LAWS[law].formula}{warn}")
        ax.set_ylim(y.min() / 1.25, y.max() * 1.25)
        ax.set_xscale("log")
        ax.set_yscale("log")
        log_axis(ax.xaxis)
        log_axis(ax.yaxis)
        ax.set_xlabel(conv.replace("n_params_", "parameters, "))
        ax.set_ylabel(metric.replace("_", " "))
        legend_below(ax)
    fig.tight_layout()
    write_figure(fig, path, dpi=120)


def plot_eos_hazard(hazard: pd.DataFrame, path: str) -> None:
    """The implied remaining length (the model's end-of-text hazard read along the true
    text, carried beyond the window) against prompt length per model: median over
    documents with the interquartile range, beside the documents' true remaining length
    (dashed, median); models ordered by size."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.4))
    order = hazard.drop_duplicates("model").sort_values("n_params")["model"].tolist()
    colors = _colors(order)
    for model in order:
        g = hazard[hazard["model"] == model].groupby("prompt_tokens")
        q = g["implied_remaining_tokens"].quantile([0.25, 0.5, 0.75]).unstack()
        n_params = int(hazard.loc[hazard["model"] == model, "n_params"].iloc[0])
        ax.errorbar(q.index, q[0.5], yerr=[q[0.5] - q[0.25], q[0.75] - q[0.5]], marker="o", capsize=3,
                    color=colors[model], label=f"{model} ({n_params / 1e6:.3g} M)")
        ax.plot(q.index, g["true_remaining_tokens"].median(), ls="--", lw=0.8, color=colors[model])
    ax.set_xscale("log")
    ax.set_yscale("log")
    log_axis(ax.xaxis)
    log_axis(ax.yaxis)
    ax.set_xlabel("prompt length p (the document's first p tokens, model tokens)")
    ax.set_ylabel("implied remaining tokens (median, IQR)")
    ax.set_title("End-of-text hazard along the true text (dashed: true remaining, median)", fontsize=9)
    legend_below(ax)
    fig.tight_layout()
    write_figure(fig, path, dpi=120)
