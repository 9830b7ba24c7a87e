"""Figures and a Markdown section for the generation sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd


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
        for (dec, cap), d in g.groupby(["decoding", "max_new_tokens"]):
            x = d["prompt_len_tokens"].to_numpy(float) * np.exp(rng.normal(0, 0.02, len(d)))
            ev = ~d["censored"].to_numpy(bool)
            ax.scatter(x[ev], d["n_steps"][ev], s=12, color=colors[dec], alpha=0.5)
            ax.scatter(x[~ev], d["n_steps"][~ev], s=18, facecolors="none",
                       edgecolors=colors[dec], alpha=0.6, marker="^")
            k = km[(km["model"] == model) & (km["decoding"] == dec) & (km["max_new_tokens"] == cap)]
            k = k.sort_values("prompt_len_tokens_mean")
            ok = k["median_reached"].astype(bool)
            err = np.vstack([(k["km_median_steps"] - k["km_median_ci_low"]).clip(lower=0),
                             (k["km_median_ci_high"] - k["km_median_steps"]).clip(lower=0)])
            err = np.where(np.isfinite(err), err, 0)
            ax.errorbar(k["prompt_len_tokens_mean"][ok], k["km_median_steps"][ok],
                        yerr=err[:, ok.to_numpy()], color=colors[dec], lw=1.5, capsize=3,
                        marker="s", elinewidth=0.8,
                        label=f"{dec}, cap {cap}: KM median ({int(d['censored'].sum())}/{len(d)} capped)")
            ax.axhline(cap, color=colors[dec], ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("prompt length (model tokens)")
        ax.set_ylabel("decoding steps until EOS (triangles: hit the cap)")
        ax.set_title(model)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_s_vs_l(gen: pd.DataFrame, human: pd.DataFrame, path: str, unit: str = "words") -> None:
    """Mean sentence length against text length: generated (per decoding) beside the
    human continuations of the same prompts."""
    plt = _plt()
    models = sorted(gen["model"].unique())
    fig, axes = plt.subplots(1, max(1, len(models)), figsize=(5.5 * max(1, len(models)), 4.2),
                             squeeze=False)
    colors = _colors(sorted(gen["decoding"].unique()))
    hx, hy = human[f"L_{unit}"], human[f"S_{unit}_mean"]
    hok = (human["status"] == "ok") & (hx > 0)
    for ax, model in zip(axes[0], models):
        ax.scatter(hx[hok], hy[hok], s=14, color="black", alpha=0.6, label="human continuation")
        g = gen[(gen["model"] == model) & (gen["measure_status"] == "ok") & (gen["gen_words"] > 0)]
        for dec, d in g.groupby("decoding"):
            ax.scatter(d[f"gen_{unit}"] if unit == "words" else d[f"gen_{unit}_measure"],
                       d[f"S_{unit}_mean"], s=12, color=colors[dec], alpha=0.5,
                       label=f"generated, {dec}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"L: text length ({unit})")
        ax.set_ylabel(f"S: mean sentence length ({unit})")
        ax.set_title(model)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_loss_vs_size(means: pd.DataFrame, loss_size: pd.DataFrame, path: str,
                      metric: str = "loss_nats_per_token") -> None:
    """Mean loss per model against parameter count (total and non-embedding), with the
    fitted power law and E + A N^-alpha."""
    from scalelaw import fit

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
                               for p in fit.LAWS[law].params], dtype=float)
            warn = " (not identified)" if not bool(sel["identified"].iloc[0]) else ""
            ax.plot(grid, fit.LAWS[law].predict(grid, params), style,
                    label=f"{fit.LAWS[law].formula}{warn}")
        ax.set_ylim(y.min() / 1.25, y.max() * 1.25)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(conv.replace("n_params_", "parameters, "))
        ax.set_ylabel(metric.replace("_", " "))
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _table(df: pd.DataFrame, cols: list[str], floatfmt: str = ".3g") -> str:
    cols = [c for c in cols if c in df.columns]
    if df.empty or not cols:
        return "(none)\n"
    d = df[cols].copy()
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in d.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, (float, np.floating)):
                cells.append("" if not np.isfinite(v) else format(float(v), floatfmt))
            else:
                cells.append(str(v).replace("|", "/").replace("\n", " "))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown(summary: Mapping[str, Any], tables: Mapping[str, pd.DataFrame],
             figures: list[str] | None = None) -> str:
    """The report section: models, censoring, KM, AFT, S vs L, loss vs size, speed;
    ``figures`` are paths relative to the Markdown file, linked at the end."""
    models = pd.DataFrame(summary.get("models", []))
    if not models.empty:
        models["revision or sha256"] = [
            (r.get("revision") or r.get("sha256") or "")[:16] for r in summary["models"]]
    parts = [
        "## Generation sweep\n",
        f"{summary['n_generations']} generations; {summary['n_capped']} "
        f"({100 * (summary.get('frac_capped') or 0):.0f}%) hit the max_new_tokens cap "
        "and are right-censored.\n",
        "### Models\n",
        _table(models, ["model", "kind", "source", "note", "n_params_total",
                        "n_params_nonembedding", "revision or sha256", "stored_dtype"],
               floatfmt=".4g"),
        "\n### Generated length against prompt length (censoring-aware)\n",
        "Survival time: decoding steps until EOS, censored at max_new_tokens. "
        "Kaplan-Meier medians (empty when more than half hit the cap):\n\n",
        _table(tables["km"], ["model", "decoding", "max_new_tokens", "prompt_tokens", "n",
                              "n_censored", "prompt_len_tokens_mean", "km_median_steps",
                              "km_median_ci_low", "km_median_ci_high",
                              "naive_mean_gen_tokens"]),
        "\nLognormal AFT, log T = b0 + b1 log(prompt length) + sigma e "
        "(b1: elasticity of the median length):\n\n",
        _table(tables["aft"], ["model", "decoding", "max_new_tokens", "n", "n_censored", "b1",
                               "b1_ci_low", "b1_ci_high", "sigma", "se_type", "warning"]),
        "\n### S against L: generated text and the human continuations\n",
        _table(tables["s_vs_l"], ["source", "model", "decoding", "max_new_tokens", "unit", "n",
                                  "b", "b_ci_low", "b_ci_high", "S_mean", "L_mean", "warning"]),
        "\n### Loss against model size\n",
        f"Metric: {summary.get('loss_metric')}; Huber loss on log L, percentile bootstrap "
        "over prompts.\n\n",
        _table(tables["loss_size"], ["law", "convention", "parameter", "estimate", "ci_low",
                                     "ci_high", "aicc", "delta_aicc", "n_sizes", "warning"]),
        "\n### Speed\n",
        _table(pd.DataFrame(summary.get("tokens_per_s", [])),
               ["model", "tokens_per_s", "device", "dtype", "threads"]),
    ]
    if figures:
        parts.append("\n### Figures\n")
        parts.extend(f"![{Path(f).stem.replace('_', ' ')}]({f})\n" for f in figures)
    if summary.get("warnings"):
        parts.append("\n### Warnings\n")
        parts.extend(f"- {w}\n" for w in summary["warnings"])
    return "".join(parts)
