"""Figures and the Markdown summary of the S = a·L^b fits.

Everything here reads tables the fit jobs wrote (fits.parquet, summary.parquet,
sensitivity.parquet) and the measured lengths; nothing is refitted. Every log axis has
tick labels, and points are coloured by a document column (the year of a speech) when
the corpus has one, so a confound between eras is visible at a glance.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from scalelaw.fitting.result import expand_group  # noqa: E402
from scalelaw.io import markdown_table  # noqa: E402
from scalelaw.plotting import PALETTE, legend_below, log_axis, sequential_cmap  # noqa: E402
from scalelaw.fitting.summary import PRIMARY_ESTIMATOR, usable_documents  # noqa: E402

UNIT_LABEL = {"words": "words", "tokens": "tokens", "chars": "characters"}
MIN_DOCS_TO_DRAW = 3


def primary_line(fits: pd.DataFrame, unit: str) -> dict[str, Any] | None:
    """a, b and b's interval of the primary estimator in ``unit``, read from the fits table."""
    if fits.empty:
        return None
    wide = expand_group(fits)
    sel = wide[(wide["analysis"] == "sentence_length") & (wide["estimator"] == PRIMARY_ESTIMATOR)
               & (wide["unit"] == unit)].set_index("parameter")
    if not {"a", "b"} <= set(sel.index):
        return None
    return {"a": sel.loc["a", "estimate"], "b": sel.loc["b", "estimate"],
            "b_low": sel.loc["b", "ci_low"], "b_high": sel.loc["b", "ci_high"],
            "a_low": sel.loc["a", "ci_low"], "a_high": sel.loc["a", "ci_high"]}


def _too_few(ax, n: int) -> bool:
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


def _colour_values(data: pd.DataFrame, color_by: str | None):
    if not color_by or color_by not in data.columns:
        return None
    values = pd.to_numeric(data[color_by], errors="coerce")
    return values.to_numpy(float) if values.notna().any() else None


def _law_rows(fits: pd.DataFrame, unit: str) -> pd.DataFrame:
    wide = expand_group(fits)
    return wide[(wide["analysis"] == "law_comparison") & (wide["unit"] == unit)]


def null_line(fits: pd.DataFrame, unit: str) -> float | None:
    """b_null of the primary estimator in ``unit`` (the document null), from the fits table."""
    if fits.empty:
        return None
    wide = expand_group(fits)
    sel = wide[(wide["analysis"] == "null_document") & (wide["estimator"] == PRIMARY_ESTIMATOR)
               & (wide["unit"] == unit) & (wide["parameter"] == "b_null")]
    return None if sel.empty or not np.isfinite(sel["estimate"].iloc[0]) else float(sel["estimate"].iloc[0])


def best_law_curve(fits: pd.DataFrame, unit: str, grid: np.ndarray) -> tuple[str, np.ndarray] | None:
    """The best law by AICc evaluated on ``grid`` when it is not the power law, else None."""
    if fits.empty:
        return None
    laws = _law_rows(fits, unit).dropna(subset=["aicc"])
    if laws.empty:
        return None
    best = laws.loc[laws["aicc"].idxmin(), "law"]
    if best == "power":
        return None
    from scalelaw.fitting.laws import get_law  # scipy: only when a curve is drawn

    rows = laws[laws["law"] == best]
    return best, get_law(best).predict(grid, dict(zip(rows["parameter"], rows["estimate"])))


def scatter_figure(docs: pd.DataFrame, fits: pd.DataFrame, units: Iterable[str], corpus: str,
                   color_by: str | None = None) -> plt.Figure:
    """S against L per unit: documents (coloured by ``color_by``), binned medians, the
    fitted line, the null's line (slope b_null through the same centre) and the best
    law's curve when it is not the power law; all read from the fits table."""
    units = list(units)
    fig, axes = plt.subplots(1, len(units), figsize=(5.6 * len(units), 5.2), squeeze=False)
    for ax, unit in zip(axes[0], units):
        data, _ = usable_documents(docs, unit, corpus=corpus)
        if _too_few(ax, len(data)):
            continue
        L = data[f"L_{unit}"].to_numpy(float)
        S = data[f"S_{unit}_mean"].to_numpy(float)
        colours = _colour_values(data, color_by)
        if colours is not None:
            points = ax.scatter(L, S, s=12, alpha=0.8, c=colours, cmap=sequential_cmap(), label=f"documents (n={len(L)})")
            fig.colorbar(points, ax=ax, label=color_by)
        else:
            ax.scatter(L, S, s=10, alpha=0.5, color=PALETTE["points"], label=f"documents (n={len(L)})")
        bx, by = _binned_medians(np.log(L), np.log(S))
        ax.plot(np.exp(bx), np.exp(by), "o", color=PALETTE["medians"], ms=4, label="binned medians (display only)")
        grid = np.geomspace(L.min(), L.max(), 100)
        line = primary_line(fits, unit)
        if line is not None and np.isfinite(line["b"]):
            ax.plot(grid, line["a"] * grid ** line["b"], color=PALETTE["fit"], lw=2,
                    label=f"fit: b = {line['b']:.3f} [{line['b_low']:.3f}, {line['b_high']:.3f}] (OLS on logs)")
        b_null = null_line(fits, unit)
        if b_null is not None:
            # the null's line through the data's geometric centre: the slope S = L / n
            # gives when mean sentence length ignores the sentence count
            centre_L, centre_S = np.exp(np.log(L).mean()), np.exp(np.log(S).mean())
            ax.plot(grid, centre_S * (grid / centre_L) ** b_null, "--", color=PALETTE["null"], lw=1.5,
                    label=f"null: b_null = {b_null:.3f} (S ignores the sentence count)")
        curve = best_law_curve(fits, unit, grid)
        if curve is not None:
            ax.plot(grid, curve[1], "-.", color=PALETTE["law"], lw=1.8, label=f"best law by AICc: {curve[0]}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        log_axis(ax.xaxis)
        log_axis(ax.yaxis)
        ax.set_xlabel(f"document length L ({UNIT_LABEL[unit]})")
        ax.set_ylabel(f"mean sentence length S ({UNIT_LABEL[unit]})")
        ax.set_title(f"{corpus}: S against L in {UNIT_LABEL[unit]}")
        legend_below(ax, ncol=1)
    fig.tight_layout()
    return fig


def residual_figure(docs: pd.DataFrame, fits: pd.DataFrame, units: Iterable[str], corpus: str,
                    color_by: str | None = None) -> plt.Figure:
    """log S minus the fitted line (from the fits table) against L."""
    units = list(units)
    fig, axes = plt.subplots(1, len(units), figsize=(5.6 * len(units), 4.0), squeeze=False)
    for ax, unit in zip(axes[0], units):
        data, _ = usable_documents(docs, unit, corpus=corpus)
        line = primary_line(fits, unit)
        fitted = line is not None and np.isfinite(line["b"])
        if _too_few(ax, len(data) if fitted else 0):
            continue
        L = data[f"L_{unit}"].to_numpy(float)
        resid = np.log(data[f"S_{unit}_mean"].to_numpy(float)) - np.log(line["a"]) - line["b"] * np.log(L)
        colours = _colour_values(data, color_by)
        points = ax.scatter(L, resid, s=10, alpha=0.7, c=colours if colours is not None else PALETTE["points"],
                            cmap=sequential_cmap() if colours is not None else None)
        if colours is not None:
            fig.colorbar(points, ax=ax, label=color_by)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xscale("log")
        log_axis(ax.xaxis)
        ax.set_xlabel(f"document length L ({UNIT_LABEL[unit]})")
        ax.set_ylabel("residual of log S (OLS line)")
        ax.set_title(f"{corpus}: residuals, {UNIT_LABEL[unit]}")
    fig.tight_layout()
    return fig


def distribution_figure(docs: pd.DataFrame, units: Iterable[str], corpus: str) -> plt.Figure:
    units = list(units)
    fig, axes = plt.subplots(2, len(units), figsize=(5.2 * len(units), 6.4), squeeze=False)
    for col, unit in enumerate(units):
        data, _ = usable_documents(docs, unit, corpus=corpus)
        for row, (column, label) in enumerate(
            [(f"L_{unit}", "document length L"), (f"S_{unit}_mean", "mean sentence length S")]
        ):
            ax = axes[row][col]
            values = data[column].to_numpy(float)
            if len(values):
                ax.hist(values, bins=np.geomspace(values.min(), values.max() * 1.0001, 31), color="tab:gray")
            ax.set_xscale("log")
            log_axis(ax.xaxis)
            ax.set_xlabel(f"{label} ({UNIT_LABEL[unit]})")
            ax.set_ylabel("documents")
    fig.suptitle(f"{corpus}: distributions of L and S")
    fig.tight_layout()
    return fig


def sensitivity_figure(table: pd.DataFrame) -> plt.Figure:
    """b with its interval per sensitivity variant (and b_null), one panel per (corpus, unit)."""
    keys = list(table.groupby(["corpus", "unit"], sort=False).groups) if len(table) else []
    fig, axes = plt.subplots(1, max(len(keys), 1), figsize=(5.2 * max(len(keys), 1), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        sel = table[(table["corpus"] == key[0]) & (table["unit"] == key[1])].reset_index(drop=True)
        y = np.arange(len(sel))
        fitted = sel["b"].notna().to_numpy()
        err = np.vstack([sel["b"] - sel["ci_low"], sel["ci_high"] - sel["b"]])
        ax.errorbar(sel["b"][fitted], y[fitted], xerr=err[:, fitted], fmt="o", color=PALETTE["fit"], label="b (95% CI)")
        ax.plot(sel["b_null"][fitted], y[fitted], "x", color=PALETTE["null"], label="b_null (document null)")
        ax.axvline(0, color="black", lw=0.8)
        labels = [f"{r.segmenter}, {'breaks' if r.paragraph_breaks else 'no breaks'}{' *' if r.primary else ''}\n"
                  f"{r.trend} / {r.vs_null}" for r in sel.itertuples(index=False)]
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_ylim(-0.6, len(sel) - 0.4)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
        ax.set_xlabel("b")
        ax.set_title(f"{key[0]}, {UNIT_LABEL.get(key[1], key[1])} (* = primary)", fontsize=9)
    if keys:
        handles, names = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, names, loc="lower center", ncol=2, fontsize=8, frameon=False)
    if not keys:
        axes[0][0].text(0.5, 0.5, "no sensitivity variants", ha="center", va="center")
        axes[0][0].set_axis_off()
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


# The README's copy of the results table has exactly these columns (tests check it).
RESULTS_COLUMNS = ["corpus", "unit", "n", "b", "ci_low", "ci_high", "trend", "b_null", "b_minus_null",
                   "b_minus_null_low", "b_minus_null_high", "vs_null", "best_law", "delta_aicc_power", "robust"]


def results_table(summaries: pd.DataFrame) -> str:
    """The results table (the README's copy must equal it; tests/fitting/test_report.py checks)."""
    return markdown_table(summaries.reindex(columns=RESULTS_COLUMNS))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not np.isfinite(value))


def answer_lines(row: Any, n_estimators: int) -> list[str]:
    """The plain-words answer for one (corpus, unit) row of the summary."""
    head = f"- **{row.corpus}**, lengths in {row.unit}"
    if row.trend == "not_fitted" and row.vs_null == "not_fitted":
        return [f"{head}: not fitted: {getattr(row, 'reason', '') or 'see the fit log'}"]
    lines = [f"{head} ({int(row.n):,} documents; b describes {row.describes} at a given L):",
             f"  - *Does S grow with L?* **{row.trend}**: {row.trend_statement}.",
             f"  - *More than L = n·S?* **{row.vs_null}**: {row.vs_null_statement}."]
    if getattr(row, "law_statement", ""):
        lines.append(f"  - *Best law:* {row.law_statement}.")
    disagreement = getattr(row, "estimator_disagreement", "")
    lines.append(f"  - *Estimators:* the {n_estimators} estimators disagree: {disagreement}." if disagreement
                 else f"  - *Estimators:* all {n_estimators} give the same two answers.")
    robustness = getattr(row, "robustness", None)
    if not _is_missing(robustness):
        lines.append(f"  - *Robust:* {'yes' if row.robust else 'no'} ({robustness}).")
    return lines


def _unit_disagreements(summaries: pd.DataFrame) -> list[str]:
    lines = []
    for corpus, sel in summaries.groupby("corpus", sort=False):
        answers = {r.unit: (r.trend, r.vs_null) for r in sel.itertuples(index=False)}
        if len(set(answers.values())) > 1:
            said = "; ".join(f"{unit}: {t} / {v}" for unit, (t, v) in answers.items())
            lines.append(f"- **{corpus}**: the units disagree ({said}); each unit's answer holds for its own "
                         "way of counting length only.")
    return lines


def _estimator_table(fits: pd.DataFrame) -> pd.DataFrame:
    wide = expand_group(fits)
    b_rows = wide[(wide["analysis"] == "sentence_length") & (wide["parameter"] == "b")].copy()
    d_rows = wide[(wide["analysis"] == "null_document") & (wide["parameter"] == "b_minus_null")]
    answers = {(r.corpus, r.unit, r.estimator): json.loads(r.diagnostics) for r in d_rows.itertuples()}
    for question in ("trend", "vs_null"):
        b_rows[question] = [answers.get((r.corpus, r.unit, r.estimator), {}).get(question, "not_fitted")
                            for r in b_rows.itertuples()]
    b_rows["describes"] = [json.loads(d).get("describes", "") for d in b_rows["diagnostics"]]
    b_rows["b_minus_null"] = [d_rows[(d_rows["corpus"] == r.corpus) & (d_rows["unit"] == r.unit)
                                     & (d_rows["estimator"] == r.estimator)]["estimate"].iloc[0]
                              if r.estimator in set(d_rows["estimator"]) else np.nan for r in b_rows.itertuples()]
    cols = ["corpus", "unit", "estimator", "describes", "estimate", "ci_low", "ci_high", "ci_method", "b_minus_null",
            "trend", "vs_null", "n", "n_failed_resamples", "converged"]
    return b_rows[cols]


WHAT_B_DESCRIBES = (
    "b is the exponent of S = a·L^b for one quantity of S at a given document length L: the geometric "
    "mean of S for OLS on logs and Huber, the mean of S for the Gamma GLM, and L over the mean sentence "
    "count for the count GLM. b_null is b when a document's mean sentence length ignores its sentence "
    "count; because L = n·S, b_null > 0 whenever documents differ in their level of S. See "
    "docs/methods/text-law.md.")


def summary_markdown(summaries: pd.DataFrame, quality: list[dict[str, Any]], fits: pd.DataFrame,
                     sensitivity: pd.DataFrame, covariates: list[dict[str, Any]] | None = None) -> str:
    """The report: the two answers in plain words first (with the best law, any
    disagreement and the document-column check), then the tables behind them."""
    parts = ["# Sentence length against document length: S = a·L^b", "", "## The answers", ""]
    n_estimators = {key: int(len(sel)) for key, sel in fits[(fits["analysis"] == "sentence_length")
                                                             & (fits["parameter"] == "b")].groupby("group")} if len(fits) else {}
    per_unit = max(n_estimators.values()) if n_estimators else 1
    for row in summaries.itertuples(index=False):
        parts += answer_lines(row, per_unit)
    parts += _unit_disagreements(summaries)
    for check in covariates or []:
        parts.append(f"- **{check['corpus']}**, {check['unit']}: {check['statement']}.")
    parts += ["", WHAT_B_DESCRIBES, "", "## Results", "", results_table(summaries), ""]
    parts += ["## Sensitivity to segmentation", "",
              "b (OLS on logs) and its two answers for every segmenter and paragraph-break setting; "
              "see `results/report/sensitivity.png`.", ""]
    parts.append(markdown_table(sensitivity) if len(sensitivity)
                 else "Sensitivity variants are off (`sensitivity.enabled: false`).")
    parts += ["", "## Estimates of b by estimator", ""]
    parts.append(markdown_table(_estimator_table(fits)) if len(fits) else "No fits (see the answers above for why).")
    if covariates:
        parts += ["", "## Another document column", "", markdown_table(pd.DataFrame(covariates))]
    parts += ["", "## Data quality", "", markdown_table(pd.DataFrame(quality)), ""]
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


README_BEGIN = "<!-- results table: generated from results/report/summary.md by `make readme`; do not edit -->"
README_END = "<!-- end of results table -->"


def results_block(summary_md: str) -> str:
    """The "## Results" table of a summary.md (what the README shows)."""
    lines = summary_md.splitlines()
    try:
        start = lines.index("## Results") + 2
    except ValueError:
        raise ValueError("summary.md has no '## Results' section") from None
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end])


def replace_between(text: str, begin: str, end: str, block: str, what: str) -> str:
    """``text`` with the lines between the markers ``begin`` and ``end`` replaced by ``block``."""
    if begin not in text or end not in text:
        raise ValueError(f"README.md lacks the {what} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{block}\n{end}{tail}"


def update_readme(readme: str, summary_md: str) -> str:
    """The README with its results table replaced by the one in ``summary_md``."""
    return replace_between(readme, README_BEGIN, README_END, results_block(summary_md), "results-table")


if __name__ == "__main__":  # make readme: python -m scalelaw.report results/report/summary.md README.md
    import sys
    from pathlib import Path

    summary_path, readme_path = map(Path, sys.argv[1:3])
    readme_path.write_text(update_readme(readme_path.read_text(), summary_path.read_text()))
