"""Figures and the Markdown summary of the S = a·L^b fits."""

from __future__ import annotations

from typing import Any, Iterable

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels.api as sm  # noqa: E402

UNIT_LABEL = {"words": "words", "tokens": "tokens", "chars": "characters"}


def usable(docs: pd.DataFrame, unit: str) -> pd.DataFrame:
    ok = (docs["status"] == "ok") & (docs[f"L_{unit}"] > 0) & (docs[f"S_{unit}_mean"] > 0)
    return docs.loc[ok]


def _log_fit(docs: pd.DataFrame, unit: str):
    data = usable(docs, unit)
    x = np.log(data[f"L_{unit}"].to_numpy(float))
    y = np.log(data[f"S_{unit}_mean"].to_numpy(float))
    model = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC3")
    return data, x, y, model


MIN_DOCS_TO_DRAW = 3


def _too_few(ax, docs: pd.DataFrame, unit: str) -> bool:
    n = len(usable(docs, unit))
    if n >= MIN_DOCS_TO_DRAW:
        return False
    ax.text(0.5, 0.5, f"{n} usable documents: too few to fit", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return True


def _binned_medians(x: np.ndarray, y: np.ndarray, bins: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Medians in equal-count bins of log L: for the eye only, never fitted."""
    order = np.argsort(x)
    groups = [g for g in np.array_split(order, min(bins, max(len(x) // 5, 1))) if len(g)]
    return np.array([np.median(x[g]) for g in groups]), np.array([np.median(y[g]) for g in groups])


def scatter_figure(docs: pd.DataFrame, units: Iterable[str], corpus: str) -> plt.Figure:
    units = list(units)
    fig, axes = plt.subplots(1, len(units), figsize=(5.2 * len(units), 4.4), squeeze=False)
    for ax, unit in zip(axes[0], units):
        if _too_few(ax, docs, unit):
            continue
        data, x, y, model = _log_fit(docs, unit)
        ax.scatter(np.exp(x), np.exp(y), s=10, alpha=0.45, color="tab:blue", label=f"documents (n={len(x)})")
        bx, by = _binned_medians(x, y)
        ax.plot(np.exp(bx), np.exp(by), "o", color="black", ms=4, label="binned medians (display only)")
        grid = np.linspace(x.min(), x.max(), 100)
        pred = model.get_prediction(sm.add_constant(grid)).summary_frame(alpha=0.05)
        a, b = np.exp(model.params[0]), model.params[1]
        ax.plot(np.exp(grid), np.exp(pred["mean"]), color="tab:red", label=f"S = {a:.3g}·L^{b:.3f} (OLS, logs)")
        ax.fill_between(np.exp(grid), np.exp(pred["mean_ci_lower"]), np.exp(pred["mean_ci_upper"]),
                        color="tab:red", alpha=0.2, label="95% band (HC3)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"document length L ({UNIT_LABEL[unit]})")
        ax.set_ylabel(f"mean sentence length S ({UNIT_LABEL[unit]})")
        ax.set_title(f"{corpus}: S against L in {UNIT_LABEL[unit]}")
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def residual_figure(docs: pd.DataFrame, units: Iterable[str], corpus: str) -> plt.Figure:
    units = list(units)
    fig, axes = plt.subplots(1, len(units), figsize=(5.2 * len(units), 3.8), squeeze=False)
    for ax, unit in zip(axes[0], units):
        if _too_few(ax, docs, unit):
            continue
        _, x, _, model = _log_fit(docs, unit)
        ax.scatter(x / np.log(10), model.resid, s=10, alpha=0.5)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(f"log10 L ({UNIT_LABEL[unit]})")
        ax.set_ylabel("residual of log S (OLS)")
        ax.set_title(f"{corpus}: residuals, {UNIT_LABEL[unit]}")
    fig.tight_layout()
    return fig


def distribution_figure(docs: pd.DataFrame, units: Iterable[str], corpus: str) -> plt.Figure:
    units = list(units)
    fig, axes = plt.subplots(2, len(units), figsize=(5.2 * len(units), 6.4), squeeze=False)
    for col, unit in enumerate(units):
        data = usable(docs, unit)
        for row, (column, label) in enumerate(
            [(f"L_{unit}", "document length L"), (f"S_{unit}_mean", "mean sentence length S")]
        ):
            values = data[column].to_numpy(float)
            ax = axes[row][col]
            ax.hist(np.log10(values), bins=30, color="tab:gray")
            ax.set_xlabel(f"log10 {label} ({UNIT_LABEL[unit]})")
            ax.set_ylabel("documents")
    fig.suptitle(f"{corpus}: distributions of L and S")
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, path: str) -> None:
    from scalelaw.io import _replace_atomically

    _replace_atomically(lambda tmp: fig.savefig(tmp, dpi=110, format="png"), path)
    plt.close(fig)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_fmt(v) if not isinstance(v, str) else v for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def summary_markdown(summaries: pd.DataFrame, quality: list[dict[str, Any]], fits: pd.DataFrame) -> str:
    """The report: the answer first, then the estimators side by side, then data quality."""
    parts = ["# Sentence length against document length: S = a·L^b", ""]
    parts.append("## Do longer documents have longer sentences?")
    parts.append("")
    for row in summaries.itertuples(index=False):
        parts.append(f"- **{row.corpus}**, lengths in {row.unit}: {row.verdict}")
    parts.append("")
    parts.append("## Estimates of b by estimator")
    parts.append("")
    b_rows = fits[(fits["parameter"] == "b") & (fits["law"] == "power")]
    cols = [c for c in ["corpus", "unit", "estimator", "estimate", "se", "se_type", "ci_low", "ci_high",
                        "ci_method", "n", "decades_x", "pseudo_r2", "r2_scale"] if c in b_rows.columns]
    parts.append(markdown_table(b_rows[cols]))
    parts.append("")
    parts.append("## Summary: null model and alternative laws")
    parts.append("")
    parts.append(markdown_table(summaries))
    parts.append("")
    parts.append("## Data quality")
    parts.append("")
    parts.append(markdown_table(pd.DataFrame(quality)))
    parts.append("")
    return "\n".join(parts)


def quality_row(corpus_quality: dict[str, Any], doc_lengths: pd.DataFrame) -> dict[str, Any]:
    """Every document accounted for: read, dropped at loading and why, unusable for fits."""
    status = doc_lengths["status"].value_counts()
    long_docs = doc_lengths.loc[doc_lengths["status"] == "long_sentences", "doc_id"].astype(str).tolist()
    return {
        "corpus": corpus_quality["corpus"],
        **corpus_quality,
        "measured": int(len(doc_lengths)),
        "no_words": int(status.get("no_words", 0)),
        "empty_after_cleaning": int(status.get("empty", 0)),
        "excluded_long_sentences": len(long_docs),
        "usable": int(status.get("ok", 0)),
        "sentences": int(doc_lengths["n_sentences"].sum()),
        "long_sentences": int(doc_lengths["n_long_sentences"].sum()),
        "fragments_dropped": int(doc_lengths["n_fragments"].sum()),
        # the documents a reader would want to open; a long list is cut, its length is above
        "excluded_long_sentence_ids": " ".join(long_docs[:20]) + (" ..." if len(long_docs) > 20 else ""),
    }
