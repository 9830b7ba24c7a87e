"""Fits over the generation sweep: generated length, S against L, loss against size.

Plain functions over DataFrames (the tables written by the generate rules). Every fit
comes back as a :class:`~scalelaw.fitting.result.FitResult`; :func:`fit_sweep` lays
them out in one long table with ``results_frame`` (``fit/fits.parquet``), which the
figures and the report read.

* Generated length against prompt length, with censoring:
  :mod:`scalelaw.fitting.censored` (Kaplan-Meier medians, lognormal AFT, the elasticity
  as percent per doubling of the prompt, the artifact of a total length cap).
* S against L of generated text (:func:`generated_text_lengths`,
  :func:`matched_human_lengths`, :func:`s_vs_l_fits`). A generation that hit its cap
  ends inside a sentence: its last sentence is cut, so it is dropped, and the text is
  kept as censored (its L is a lower bound of its natural length). Fits are reported
  on two sets, every text with the cut sentence dropped (``trimmed``) and the texts that
  stopped by EOS only (``eos_only``), with the counts of each. The human baseline is
  the human continuation of the same prompt cut, in whole sentences, to the length of
  the generated text it is compared with (``human_matched``), beside the full
  continuations (``human_all``).
* :func:`loss_vs_size`: L(N) as a pure power law and as E + A N^-alpha through
  ``scalelaw.fitting.over_models.law_over_models`` (per-model means on the log scale), on
  total and non-embedding parameter counts, with a bootstrap over models, AICc with n =
  the number of models, and a warning when the number of sizes cannot identify the law.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from scalelaw.fitting import censored
from scalelaw.fitting.censored import CELL_KEYS
from scalelaw.fitting.over_models import model_means_table
from scalelaw.fitting.result import FitResult, Param, results_frame
from scalelaw.generate.hazard_fit import hazard_fits, hazard_summary
from scalelaw.generate.prompts import prompt_key

UNIT_COLUMNS = {"words": "n_words", "tokens": "n_tokens", "chars": "n_chars"}
TEXT_KEYS = CELL_KEYS + ["prompt_format", "max_length"]


# ----------------------------------------------------------------------------- S vs L


def generated_text_lengths(gen: pd.DataFrame, sentences: pd.DataFrame) -> pd.DataFrame:
    """L and S of each generated text from its whole sentences.

    ``sentences`` is the sentence table of the generated texts (``doc_id`` =
    ``generation_id``). A capped generation loses its last sentence (cut by the cap).
    ``status``: ``ok``; ``no_room`` (nothing generated under a total cap);
    ``no_sentences`` (an empty text); ``no_whole_sentence`` (capped with a single,
    cut, sentence). L is the sum of the kept sentences' lengths and S their mean, in
    words, tokens and characters.
    """
    base = gen[["generation_id", *TEXT_KEYS, "censored", "n_steps", "prompt_tokens", "seed",
                "prompt_id"]].copy()
    base["prompt_key"] = prompt_key(base)
    sent = sentences.rename(columns={"doc_id": "generation_id"})
    sent = sent.merge(base[["generation_id", "censored"]], on="generation_id", how="inner")
    last = sent.groupby("generation_id")["sentence_index"].transform("max")
    cut = sent["censored"].astype(bool) & (sent["sentence_index"] == last)
    total = sent.groupby("generation_id").size().rename("n_sentences_generated")
    kept = sent[~cut].groupby("generation_id").agg(
        n_sentences=("sentence_index", "size"),
        **{f"L_{u}": (col, "sum") for u, col in UNIT_COLUMNS.items()})
    out = base.merge(total, on="generation_id", how="left").merge(kept, on="generation_id",
                                                                  how="left")
    out["n_sentences_generated"] = out["n_sentences_generated"].fillna(0).astype("int64")
    out["n_sentences"] = out["n_sentences"].fillna(0).astype("int64")
    out["cut_sentence_dropped"] = out["censored"].astype(bool) & (out["n_sentences_generated"] > 0)
    for u in UNIT_COLUMNS:
        out[f"L_{u}"] = out[f"L_{u}"].fillna(0).astype("int64")
        out[f"S_{u}_mean"] = np.where(out["n_sentences"] > 0,
                                      out[f"L_{u}"] / out["n_sentences"].clip(lower=1), np.nan)
    out["status"] = np.select(
        [out["n_steps"] <= 0, out["n_sentences_generated"] == 0, out["n_sentences"] == 0],
        ["no_room", "no_sentences", "no_whole_sentence"], "ok")
    out["source"] = "generated"
    return out


def matched_human_lengths(texts: pd.DataFrame, human_sentences: pd.DataFrame,
                          unit: str = "words") -> pd.DataFrame:
    """For each usable generated text, the human continuation of its prompt cut to
    whole sentences of at most the generated text's L (at least one sentence).

    ``human_sentences`` is the sentence table of the human continuations (``doc_id`` =
    the prompt key). ``human_shorter`` marks a continuation that ends before reaching
    the generated length (raise ``continuation_tokens``).
    """
    col = UNIT_COLUMNS[unit]
    ok = texts[texts["status"] == "ok"][["generation_id", "prompt_key", *TEXT_KEYS,
                                         "censored", f"L_{unit}"]]
    ok = ok.rename(columns={f"L_{unit}": "target"})
    hs = human_sentences.rename(columns={"doc_id": "prompt_key"}).sort_values(
        ["prompt_key", "sentence_index"])
    pairs = ok.merge(hs[["prompt_key", "sentence_index", *UNIT_COLUMNS.values()]],
                     on="prompt_key", how="inner")
    pairs["cum"] = pairs.groupby("generation_id")[col].cumsum()
    first = pairs.groupby("generation_id").cumcount() == 0
    full = pairs.groupby("generation_id")["cum"].transform("max")
    take = pairs[(pairs["cum"] <= pairs["target"]) | first]
    agg = take.groupby("generation_id").agg(
        n_sentences=("sentence_index", "size"),
        **{f"L_{u}": (c, "sum") for u, c in UNIT_COLUMNS.items()})
    out = ok.merge(agg, on="generation_id", how="inner")
    out = out.merge(pairs.assign(full=full).drop_duplicates("generation_id")[
        ["generation_id", "full"]], on="generation_id")
    out["human_shorter"] = out["full"] < out["target"]
    for u in UNIT_COLUMNS:
        out[f"S_{u}_mean"] = out[f"L_{u}"] / out["n_sentences"]
    out["status"] = "ok"
    out["source"] = "human"
    return out.drop(columns=["full"])


def human_text_lengths(human: pd.DataFrame) -> pd.DataFrame:
    """The full human continuations (doc_lengths of the continuations) as text rows."""
    out = human.rename(columns={"doc_id": "prompt_key"}).copy()
    out["source"] = "human"
    return out


def power_fit_log(L: Any, S: Any, *, group: Mapping[str, Any], n_unit: str,
                  min_texts: int = 5, confidence_level: float = 0.95,
                  diagnostics: Mapping[str, Any] | None = None) -> FitResult:
    """S = a L^b by OLS of log S on log L with HC3 errors, as a FitResult."""
    import statsmodels.api as sm

    L, S = np.asarray(L, dtype=float), np.asarray(S, dtype=float)
    ok = np.isfinite(L) & np.isfinite(S) & (L > 0) & (S > 0)
    problems, nan = [], math.nan
    params = {"a": Param(nan), "b": Param(nan)}
    loglik = nan
    if ok.sum() < min_texts or np.unique(L[ok]).size < 2:
        problems.append(f"{int(ok.sum())} usable texts (need {min_texts} with spread in L)")
    else:
        if np.allclose(S[ok], L[ok]):
            problems.append("every text is a single sentence (S = L): b = 1 by construction")
        res = sm.OLS(np.log(S[ok]), sm.add_constant(np.log(L[ok]))).fit(cov_type="HC3")
        z = stats.norm.ppf(0.5 + confidence_level / 2)
        (la, b), (se_la, se_b) = res.params, res.bse
        params = {
            "a": Param(math.exp(la), math.exp(la) * se_la, "HC3, delta method",
                       math.exp(la - z * se_la), math.exp(la + z * se_la), "Wald on log a, HC3"),
            "b": Param(b, se_b, "HC3", b - z * se_b, b + z * se_b, "Wald, HC3"),
        }
        loglik = float(res.llf)
    return FitResult(analysis="s_vs_l", law="power", formula="S = a L^b", estimator="ols_log",
                     params=params, n=int(ok.sum()), n_unit=n_unit,
                     confidence_level=confidence_level, group=dict(group), loglik=loglik,
                     aicc_scale="log S",
                     diagnostics={"n_excluded": int((~ok).sum()), **dict(diagnostics or {})},
                     warnings=problems)


def _labels(g: pd.DataFrame, keys: Sequence[str], key: Any) -> dict[str, Any]:
    key = key if isinstance(key, tuple) else (key,)
    labels = {k: (v.item() if hasattr(v, "item") else v) for k, v in zip(keys, key)}
    if labels.get("max_length") == -1:
        labels["max_length"] = None
    return labels


def s_vs_l_fits(texts: pd.DataFrame, matched: pd.DataFrame, human: pd.DataFrame,
                unit: str = "words", min_texts: int = 5) -> tuple[list[FitResult], pd.DataFrame]:
    """S against L of generated text (``trimmed`` and ``eos_only``), of the length-matched
    human continuations and of all human continuations; returns the fits and the text
    rows they rest on (for the figure)."""
    x, y = f"L_{unit}", f"S_{unit}_mean"
    fits: list[FitResult] = []
    frames = []
    for key, g in texts.groupby(TEXT_KEYS, sort=True, dropna=False):
        labels = _labels(g, TEXT_KEYS, key)
        capped = g["censored"].astype(bool)
        for text_set, sub in (("trimmed", g), ("eos_only", g[~capped])):
            # each set's own counts (eos_only: the texts that stopped by EOS, none capped)
            rows = sub[sub["status"] == "ok"]
            counts = {"n_generated": len(sub), "n_ok": len(rows),
                      **{f"n_{s}": int((sub["status"] == s).sum())
                         for s in ("no_room", "no_sentences", "no_whole_sentence")},
                      "n_capped_kept": int(rows["censored"].astype(bool).sum()),
                      "n_cut_sentences_dropped": int(sub["cut_sentence_dropped"].sum()),
                      "n_capped_left_out": int(len(g) - len(sub))}
            fit = power_fit_log(rows[x], rows[y], group={**labels, "source": "generated",
                                                         "text_set": text_set, "unit": unit},
                                n_unit="generations", min_texts=min_texts, diagnostics=counts)
            if text_set == "trimmed" and counts["n_capped_kept"]:
                fit.warnings.append(f"censoring ignored: {counts['n_capped_kept']} capped texts are fitted "
                                    "as if observed (their L is a lower bound of their natural length)")
            if text_set == "eos_only" and counts["n_capped_left_out"]:
                fit.warnings.append(f"selected on the outcome: {counts['n_capped_left_out']} capped texts "
                                    "left out (the long ones)")
            fits.append(fit)
            frames.append(rows.assign(text_set=text_set))
        m = matched
        for k, v in zip(TEXT_KEYS, key if isinstance(key, tuple) else (key,)):
            m = m[m[k] == v]
        fits.append(power_fit_log(m[x], m[y], group={**labels, "source": "human",
                                                     "text_set": "human_matched", "unit": unit},
                                  n_unit="prompts", min_texts=min_texts,
                                  diagnostics={"n_human_shorter": int(m["human_shorter"].sum())}))
        frames.append(m.assign(text_set="human_matched"))
    ok_h = human[human["status"] == "ok"]
    fits.append(power_fit_log(ok_h[x], ok_h[y], group={"source": "human", "text_set": "human_all",
                                                       "unit": unit},
                              n_unit="prompts", min_texts=min_texts,
                              diagnostics={"n_excluded_status": int(len(human) - len(ok_h))}))
    frames.append(ok_h.assign(text_set="human_all"))
    cols = ["source", "text_set", *TEXT_KEYS, "censored", x, y]
    rows = pd.concat([f.reindex(columns=cols) for f in frames], ignore_index=True)
    return fits, rows


# ----------------------------------------------------------------------------- loss vs N

SIZE_COLUMNS = ("n_params_total", "n_params_nonembedding")


def loss_vs_size(
    losses: pd.DataFrame,
    facts: pd.DataFrame,
    *,
    laws: Sequence[str] = ("power", "saturating_power"),
    conventions: Sequence[str] = SIZE_COLUMNS,
    metric: str = "loss_nats_per_token",
    n_boot: int = 1000,
    seed: int = 0,
    confidence_level: float = 0.95,
    table: tuple[pd.DataFrame, int] | None = None,
) -> pd.DataFrame:
    """Loss against parameter count for every (law, convention): the FitResult long table
    (``scalelaw.fitting.over_models.law_over_models``: per-model means, bootstrap over
    models with prompts within, AICc with n = models, leave-largest-out error on the
    fit's log scale) with its group labels and the columns the sweep report reads
    (convention, delta_aicc, identified, holdout_rel_error, warning)."""
    from scalelaw.fitting import results_frame
    from scalelaw.fitting.laws import compare
    from scalelaw.fitting.over_models import law_over_models, model_means_table

    table = table if table is not None else model_means_table(losses, metric)
    fits = []
    base_warn = []
    known = facts.drop_duplicates("model").set_index("model")
    if "vocab_size" in known and known["vocab_size"].nunique() > 1 and metric == "loss_nats_per_token":
        base_warn.append("models use different vocabularies: nats per token are not comparable across them "
                         "(consider loss_bits_per_byte)")
    for conv in conventions:
        per_conv = []
        for law in laws:
            f = law_over_models(losses, facts, law, size_column=conv, metric=metric, n_resamples=max(int(n_boot), 1),
                                confidence_level=confidence_level, seed=seed, group={"convention": conv},
                                table=table)
            f.warnings = base_warn + f.warnings
            per_conv.append(f)
        compare([f for f in per_conv if np.isfinite(f.aicc)])
        fits.extend(per_conv)
    out = results_frame(fits)
    diag = [json.loads(d) for d in out["diagnostics"]]
    out["convention"] = [json.loads(g)["convention"] for g in out["group"]]
    out["n_models"] = out["n"]
    for key in ("delta_aicc", "identified", "holdout_rel_error", "holdout_log_error", "n_sizes", "n_prompts"):
        out[key] = [d.get(key, np.nan) for d in diag]
    out["warning"] = ["; ".join(json.loads(w)) for w in out["warnings"]]
    out["alpha_N"] = np.where(out["law"] == "power", -out["estimate"].where(out["parameter"] == "b")
                              .groupby([out["law"], out["convention"]]).transform("max"), np.nan)
    return out


def model_means(table: tuple[pd.DataFrame, int], facts: pd.DataFrame,
                metric: str = "loss_nats_per_token") -> pd.DataFrame:
    """Mean loss per model (over the prompts all models scored), with sizes: the points the
    law over models is fitted to (and the figure draws). ``table`` is
    ``scalelaw.fitting.over_models.model_means_table`` of the losses."""
    wide, _ = table
    out = wide.agg(["mean", "sem"]).T.reset_index().rename(
        columns={"mean": f"{metric}_mean", "sem": f"{metric}_sem"})
    out["n_prompts"] = len(wide)
    cols = ["model"] + [c for c in ("n_params_total", "n_params_nonembedding", "vocab_size")
                        if c in facts.columns]
    return out.merge(facts[cols].drop_duplicates("model"), on="model", how="left")


# ----------------------------------------------------------------------------- all fits


def fit_sweep(gen: pd.DataFrame, human: pd.DataFrame, losses: pd.DataFrame,
              facts: pd.DataFrame, options: Mapping[str, Any],
              generated_sentences: pd.DataFrame | None = None,
              human_sentences: pd.DataFrame | None = None,
              hazard: pd.DataFrame | None = None) -> dict[str, Any]:
    """Every fit of the sweep; returns tables and a JSON-able summary.

    ``gen``: generations with measured lengths (generate_collect); ``human``: doc_lengths
    of the human continuations; ``losses``: per-prompt losses; ``facts``: one row per
    model; the sentence tables of generated and human texts for S against L. Options
    (the validated ``generate.fit`` section): ``n_bootstrap``, ``seed``,
    ``loss_metric``, ``unit``, ``min_texts``. ``fits`` is the long table of every
    FitResult (AFT, elasticity, cap artifact, S against L).
    """
    unit, metric = options["unit"], options["loss_metric"]
    aft = censored.aft_fits(gen)
    results: list[FitResult] = [*aft, *(censored.elasticity(f) for f in aft),
                                *censored.cap_artifact(gen)]
    out: dict[str, Any] = {"censoring": censored.censoring_summary(gen),
                           "km": censored.km_medians(gen)}
    texts = generated_text_lengths(gen, generated_sentences)
    matched = matched_human_lengths(texts, human_sentences, unit)
    s_fits, out["texts"] = s_vs_l_fits(texts, matched, human_text_lengths(human), unit,
                                       min_texts=int(options["min_texts"]))
    h_fits = hazard_fits(hazard) if hazard is not None and len(hazard) else []
    out["hazard_summary"] = hazard_summary(hazard) if h_fits else pd.DataFrame()
    out["fits"] = results_frame(results + s_fits + h_fits)
    n_models = int(gen["model"].nunique())  # the sampled models (the ladder's read the hazard only)
    # the models x prompts table of mean losses, built once for every law and the figure
    table = model_means_table(losses, metric) if len(losses) else None
    if n_models >= 2 and table is not None:
        out["loss_size"] = loss_vs_size(losses, facts, metric=metric,
                                        n_boot=int(options["n_bootstrap"]),
                                        seed=int(options["seed"]), table=table)
    else:
        out["loss_size"] = pd.DataFrame([{
            "law": None, "convention": None, "parameter": None, "n_models": n_models,
            "warning": f"{n_models} sampled model(s): loss against size needs two or more",
        }])
    out["model_means"] = model_means(table, facts, metric) if table is not None else pd.DataFrame()
    out["summary"] = _summary(out, gen, facts, metric)
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records")) if len(df) else []


def _speed(gen: pd.DataFrame) -> list[dict[str, Any]]:
    ran = gen[gen["batch_index"] >= 0].drop_duplicates(
        ["model", "decoding", "max_new_tokens", "seed", "prompt_tokens", "batch_index"])
    if ran.empty:
        return []
    return _records(ran.groupby("model").apply(lambda g: pd.Series({
        "tokens_per_s": float(g["tokens_per_s"].mul(g["seconds"]).sum() / g["seconds"].sum()),
        "seconds": float(g["seconds"].sum()),
        "device": g["device"].iloc[0], "dtype": g["dtype"].iloc[0],
        "threads": int(g["threads"].iloc[0])}), include_groups=False).reset_index())


def _summary(out, gen, facts, metric) -> dict[str, Any]:
    fit_warnings = {w for ws in out["fits"]["warnings"] for w in json.loads(ws)}
    loss_warnings = set(out["loss_size"]["warning"].dropna()) if "warning" in out["loss_size"] else set()
    elastic = out["fits"][out["fits"]["analysis"] == "generated_length_elasticity"]
    hazard = out["fits"][out["fits"]["analysis"].isin(["eos_hazard_elasticity", "eos_hazard_vs_size"])]
    return {
        "n_generations": int(len(gen)),
        "n_eos": int((~gen["censored"]).sum()),
        "n_capped": int((gen["censored"] & (gen["n_steps"] > 0)).sum()),
        "n_no_room": int((gen["n_steps"] <= 0).sum()),
        "frac_capped": float(gen["censored"].mean()) if len(gen) else None,
        "models": _records(facts),
        "censoring": _records(out["censoring"]),
        "elasticity": _records(elastic),
        "eos_hazard": _records(hazard),
        "loss_metric": metric,
        "loss_vs_size": _records(out["loss_size"]),
        "model_means": _records(out["model_means"]),
        "tokens_per_s": _speed(gen),
        "warnings": sorted(w for w in fit_warnings | loss_warnings if w),
    }
