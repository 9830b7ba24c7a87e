"""The generation sweep's Markdown section: the answer in words first, then the tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from scalelaw.fitting.censored import pct_per_doubling
from scalelaw.fitting.result import expand_group
from scalelaw.io import markdown_table


def _table(df: pd.DataFrame, cols: list[str]) -> str:
    cols = [c for c in cols if c in df.columns]
    if df.empty or not cols:
        return "(none)\n"
    return markdown_table(df[cols].reset_index(drop=True)) + "\n"


def _setting(g: Mapping[str, Any]) -> str:
    parts = [str(g.get("prompt_format") or "raw")]
    if g.get("do_sample"):
        top_k = int(g["top_k"]) if g.get("top_k") not in (None, -1) else 0
        parts.append(f"sampling T={g.get('temperature'):g}, top_p={g.get('top_p'):g}, "
                     f"top_k={top_k or 'off'}")
    else:
        parts.append("greedy")
    parts.append(f"prompt + generation <= {g['max_length']}" if g.get("max_length")
                 else f"max_new_tokens {g.get('max_new_tokens')}")
    return ", ".join(parts)


def _pct(v: float) -> str:
    return f"{v:+.0f} %" if np.isfinite(v) else "n/a"


def answer_sentences(fits: pd.DataFrame) -> list[str]:
    """The answer in words, one sentence per model and decoding, from the elasticity
    rows of the fit table (``analysis == generated_length_elasticity``)."""
    rows = fits[fits["analysis"] == "generated_length_elasticity"]
    out = []
    for r in rows.itertuples():
        g, diag = json.loads(r.group), json.loads(r.diagnostics)
        warns = json.loads(r.warnings)
        head = (f"**{g['model']}, {g['decoding']}** ({_setting(g)}): "
                f"{diag['n_events']} of {r.n} generations stopped by themselves"
                + (f" ({diag['n_no_room']} more had no room under the total cap)"
                   if diag.get("n_no_room") else ""))
        if not np.isfinite(r.estimate):
            out.append(f"{head}; the data cannot tell how the generated length depends on the "
                       f"prompt length ({'; '.join(warns)}).")
            continue
        ci = f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}]"
        verdict = diag["verdict"]
        if verdict == "grows":
            tail = "the generated text grows with the prompt"
        elif verdict == "shrinks":
            tail = "the generated text gets shorter as the prompt grows"
        else:
            tail = "the data cannot tell whether it grows or shrinks (the interval spans 0)"
        fragile = f" Caution: {'; '.join(warns)}." if warns else ""
        wordings = (f" {diag['n_wordings']} instruction wordings, one shift of log length each;"
                    if diag.get("n_wordings", 0) > 1 else "")
        out.append(f"{head}; the median generated length changes by {_pct(r.estimate)} per "
                   f"doubling of the prompt {ci} (lognormal AFT,{wordings} {r.confidence_level:.0%} CI, "
                   f"{r.ci_method}; lognormal against Weibull AFT by AIC: {diag.get('shape_preferred_by_aic', 'n/a')} preferred"
                   f"): {tail}.{fragile}")
    return out


def cap_artifact_sentences(fits: pd.DataFrame) -> list[str]:
    """What a total cap (the seed's max_length) does, in words, from the cap_artifact rows."""
    rows = fits[fits["analysis"] == "cap_artifact"].copy()
    if rows.empty:
        return []
    rows["g"] = [json.loads(g) for g in rows["group"]]
    rows["key"] = [(g["model"], g["decoding"], g["max_new_tokens"]) for g in rows["g"]]
    out = []
    for _, pair in rows.groupby("key", sort=True):
        by = {r.g["response"]: r for r in pair.itertuples()}
        ret, new = by.get("returned_tokens"), by.get("generated_tokens")
        any_row = ret if ret is not None else new
        g, diag = any_row.g, json.loads(any_row.diagnostics)
        n_room = diag["n_at_total_cap"] + diag["n_eos"] + diag["n_at_max_new_tokens"]
        if n_room == 0:
            out.append(f"**The seed's call reproduced ({g['model']}, {g['decoding']}: {_setting(g)}).** "
                       f"Every one of the {diag['n_no_room']} prompts fills the total cap of "
                       f"{g['max_length']} tokens: no row had room to generate, so nothing is fitted.")
            continue
        identity = ("each of them has exactly max_length - prompt length new tokens"
                    if diag["cap_identity_holds"] else "some of them do not match max_length - prompt length")

        def slope(r):
            if r is None or not np.isfinite(r.estimate):
                return "n/a"
            if not np.isfinite(r.ci_low):  # fixed by the cap: no interval to give
                return f"{_pct(pct_per_doubling(r.estimate))} per doubling (set by the cap, no interval)"
            return (f"{_pct(pct_per_doubling(r.estimate))} per doubling "
                    f"[{_pct(pct_per_doubling(r.ci_low))}, {_pct(pct_per_doubling(r.ci_high))}]")
        out.append(
            f"**The seed's call reproduced ({g['model']}, {g['decoding']}: {_setting(g)}).** "
            f"With a total cap, generated length = {g['max_length']} - prompt length unless the "
            f"model stops first. {diag['n_at_total_cap']} of {n_room} generations with room were "
            f"stopped by that cap ({identity}), {diag['n_eos']} stopped by themselves, and "
            f"{diag['n_no_room']} prompts were too long to leave any room (transformers refuses "
            f"such a call). The text the seed's pipeline prints (prompt included) changes by "
            f"{slope(ret)} of the prompt and the new text alone by {slope(new)} (OLS on logs, "
            f"ignoring censoring as the seed did; no interval where the cap sets most lengths). Under this cap the room for new text "
            f"shrinks as the prompt grows ({g['max_length']} - prompt length), and the printed "
            f"text contains the prompt, so both slopes measure the cap and the prompt more "
            f"than the model. The seed's observation that longer "
            f"input gives longer generated text is an artifact of its own cap; the "
            f"censoring-aware answer for the same call is in the list above."
        )
    return out


def hazard_sentences(fits: pd.DataFrame) -> list[str]:
    """The end-of-text hazard's answer in words: the elasticity per model (smallest first)
    and against model size, from the ``eos_hazard_*`` rows of the fit table."""
    rows = fits[(fits["analysis"] == "eos_hazard_elasticity") & (fits["parameter"] == "pct_per_doubling")]
    rows = rows.assign(g=[json.loads(g) for g in rows["group"]])
    rows = rows.assign(size=[g["n_params"] for g in rows["g"]], response=[g["response"] for g in rows["g"]])
    restricted = {r.g["model"]: r for r in rows[rows["response"] == "expected_remaining_tokens"].itertuples()}
    rows = rows[rows["response"] == "implied_remaining_tokens"].sort_values("size")
    out = []
    for r in rows.itertuples():
        g, diag, warns = r.g, json.loads(r.diagnostics), json.loads(r.warnings)
        docs = g.get("document_set", "").replace("_", " ")
        head = (f"**{g['model']}** (N = {g['n_params'] / 1e6:.3g} M, {g['model_kind']}; "
                f"{diag['n_documents']} {docs} documents, {diag['n_prompt_lengths']} prompt lengths)")
        if not np.isfinite(r.estimate):
            out.append(f"{head}: not identified ({'; '.join(warns)}).")
            continue
        verdict = {"grows": "the model expects more text to follow a longer prompt",
                   "shrinks": "the model expects less text to follow a longer prompt",
                   }.get(diag.get("verdict"), "the data cannot tell the direction (the interval spans 0)")
        caution = f" Caution: {'; '.join(warns)}." if warns else ""
        w = restricted.get(g["model"])
        own = [x for x in json.loads(w.warnings) if x not in warns] if w is not None else []
        within = (f" Within the {diag['horizon_tokens']}-token window alone (the restricted mean) it changes by "
                  f"{_pct(w.estimate)} [{_pct(w.ci_low)}, {_pct(w.ci_high)}]"
                  + (f" ({'; '.join(own)})" if own else "") + "."
                  if w is not None and np.isfinite(w.estimate) else "")
        n_docs = diag["n_documents"]
        out.append(f"{head}: the implied remaining length (the window's end-of-text hazard carried "
                   f"beyond it) changes by {_pct(r.estimate)} per doubling of the prompt "
                   f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}] (t({n_docs - 1}), standard errors clustered by "
                   f"document): {verdict}.{within}{caution}")
    size = fits[(fits["analysis"] == "eos_hazard_vs_size") & (fits["parameter"] == "d")]
    for r in size.itertuples():
        diag, warns = json.loads(r.diagnostics), json.loads(r.warnings)
        if not np.isfinite(r.estimate):
            out.append(f"Against model size: not identified ({'; '.join(warns)}).")
            continue
        out.append(f"Against model size ({r.n} ladder models, N from {min(diag['n_params']) / 1e6:.3g} M "
                   f"to {max(diag['n_params']) / 1e6:.3g} M): the elasticity b changes by {r.estimate:+.3f} "
                   f"per tenfold N [{r.ci_low:+.3f}, {r.ci_high:+.3f}] ({r.ci_method}, OLS over models). "
                   + (f"Caution: {'; '.join(warns)}." if warns else ""))
    return out


def _fit_table(fits: pd.DataFrame, analysis: str) -> pd.DataFrame:
    rows = fits[fits["analysis"] == analysis]
    if rows.empty:
        return rows
    out = expand_group(rows.drop(columns=[c for c in ("unit",) if c in rows]))
    diag = pd.DataFrame([json.loads(d) for d in out["diagnostics"]], index=out.index)
    keep = [c for c in diag.columns if c not in out.columns]
    out = pd.concat([out, diag[keep]], axis=1)
    out["warnings"] = [", ".join(json.loads(w)) for w in out["warnings"]]
    return out


def _loss_size_section(summary: Mapping[str, Any], loss_size: pd.DataFrame) -> str:
    fitted = loss_size[loss_size["law"].notna()] if "law" in loss_size else loss_size.iloc[0:0]
    if fitted.empty:  # one sampled model: say so instead of a table of empty cells
        warning = "; ".join(str(w) for w in loss_size.get("warning", pd.Series(dtype=str)).dropna())
        return f"Not fitted: {warning or 'no losses'}.\n"
    return (f"Metric: {summary.get('loss_metric')}; laws fitted to per-model mean losses on the "
            "log scale, intervals from a bootstrap over models (prompts resampled within each), "
            "AICc with n = the number of models.\n\n"
            + _table(fitted, ["law", "convention", "parameter", "estimate", "ci_low", "ci_high",
                              "aicc", "delta_aicc", "n_sizes", "warning"]))


def markdown(summary: Mapping[str, Any], tables: Mapping[str, pd.DataFrame],
             figures: list[str] | None = None) -> str:
    """The report section: the answer in words, the seed's cap, censoring, KM, AFT,
    S vs L, loss vs size, speed; ``figures`` are paths relative to the Markdown file."""
    fits = tables["fits"]
    models = pd.DataFrame(summary.get("models", []))
    if not models.empty:
        models["revision or sha256"] = [
            (r.get("revision") or r.get("sha256") or "")[:16] for r in summary["models"]]
    aft = _fit_table(fits, "generated_length")
    aft = aft[aft["parameter"] == "b1"] if len(aft) else aft
    s_l = _fit_table(fits, "s_vs_l")
    s_l = s_l[s_l["parameter"] == "b"] if len(s_l) else s_l
    hazard = hazard_sentences(fits)
    parts = [
        "## Generation sweep\n\n",
        "### Does generated length grow with prompt length?\n\n",
        "Sampled (the model's own generations, censored at their caps):\n\n",
        *(f"- {line}\n" for line in answer_sentences(fits)),
        "\n",
        *(["Without sampling (the end-of-text hazard: each model read along the true text of "
           "real documents; prompt = the document's first p tokens; docs/methods/generation.md):\n\n",
           *(f"- {line}\n" for line in hazard), "\n"] if hazard else []),
        *(f"{line}\n\n" for line in cap_artifact_sentences(fits)),
        f"{summary['n_generations']} generations: {summary['n_eos']} stopped by EOS, "
        f"{summary['n_capped']} hit their cap (right-censored), {summary['n_no_room']} had "
        "no room under a total cap.\n\n",
        _table(tables["censoring"], ["model", "decoding", "max_new_tokens", "n", "n_eos",
                                     "n_capped", "n_no_room", "frac_capped"]),
        "\n### Models\n\n",
        _table(models, ["model", "kind", "source", "note", "n_params_total",
                        "n_params_nonembedding", "revision or sha256", "stored_dtype"]),
        "\n### Generated length against prompt length (censoring-aware)\n\n",
        "Survival time: decoding steps until EOS, censored at the row's cap (max_new_tokens, "
        "or max_length - prompt length). Kaplan-Meier medians (empty when more than half "
        "hit the cap):\n\n",
        _table(tables["km"], ["model", "decoding", "max_new_tokens", "prompt_tokens", "n",
                              "n_censored", "n_no_room", "prompt_text_tokens_mean",
                              "km_median_steps", "km_median_ci_low", "km_median_ci_high",
                              "naive_mean_gen_tokens"]),
        "\nLognormal AFT, log T = b0 + b1 log(prompt length) + sigma e "
        "(b1: elasticity of the median length; 2^b1 - 1 per doubling):\n\n",
        _table(aft, ["model", "decoding", "max_new_tokens", "n", "n_events", "n_censored",
                     "estimate", "ci_low", "ci_high", "se_type", "warnings"]),
        "\n### S against L: generated text and the human continuations\n\n",
        "Capped generations end inside a sentence: their last sentence is dropped and they "
        "are kept as censored (`trimmed`) or left out (`eos_only`). The human baseline is the "
        "continuation of the same prompt cut to the generated text's length in whole "
        "sentences (`human_matched`); `human_all` is every full continuation. b of "
        "S = a L^b by OLS on logs (HC3):\n\n",
        _table(s_l, ["model", "decoding", "text_set", "n", "n_capped_kept",
                     "n_cut_sentences_dropped", "n_no_whole_sentence", "n_human_shorter",
                     "estimate", "ci_low", "ci_high", "warnings"]),
        "\n### Loss against model size\n\n",
        _loss_size_section(summary, tables["loss_size"]),
        *(["\n### End-of-text hazard, per model and prompt length\n\n",
           "Medians over documents of the implied and the true remaining length; means of the "
           "restricted mean and the true remaining length within the window (the true text goes "
           "on past it unless `n_document_end` says it ended first):\n\n",
           _table(tables["hazard_summary"], ["model", "n_params", "prompt_tokens", "n_documents",
                                             "implied_remaining_median", "true_remaining_median",
                                             "expected_remaining_mean", "true_remaining_within_horizon_mean",
                                             "p_stop_within_mean", "n_document_end"])]
          if len(tables.get("hazard_summary", pd.DataFrame())) else []),
        "\n### Speed\n\n",
        _table(pd.DataFrame(summary.get("tokens_per_s", [])),
               ["model", "tokens_per_s", "seconds", "device", "dtype", "threads"]),
    ]
    if figures:
        parts.append("\n### Figures\n\n")
        parts.extend(f"![{Path(f).stem.replace('_', ' ')}]({f})\n" for f in figures)
    if summary.get("warnings"):
        parts.append("\n### Warnings\n\n")
        parts.extend(f"- {w}\n" for w in summary["warnings"])
    return "".join(parts)
