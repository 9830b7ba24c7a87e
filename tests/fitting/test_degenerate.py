"""Degenerate data never crash a fit (issue 22, item 4): every estimator either fits, with
finite numbers, or says "not fitted" with the reason; fit_corpus names corpus and unit."""

import numpy as np
import pandas as pd
import pytest

from scalelaw.fitting import conclusion, results_frame
from scalelaw.fitting import sentence_length as SL
from scalelaw.fitting.summary import summary as fit_summary

ESTIMATORS = ["ols_log", "gamma_glm", "count_glm", "huber", "quantile_0.5"]
N = np.array([3, 7, 12, 5, 9, 20, 4, 15, 6, 11, 8, 30], dtype=float)


def _case(L, S, n, sd=None):
    return np.asarray(L, float), np.asarray(S, float), np.asarray(n, float), sd


DEGENERATE = {
    # every sentence of every document has 20 words (the issue's twelve documents)
    "one_sentence_length": _case(N * 20, np.full(12, 20.0), N, np.zeros(12)),
    "two_values_of_S": _case(N * np.where(np.arange(12) % 2, 20, 21), np.where(np.arange(12) % 2, 20.0, 21.0), N),
    "every_document_one_sentence": _case(np.arange(1, 13) * 5.0, np.arange(1, 13) * 5.0, np.ones(12)),
    "eleven_ties_and_one_other": _case(np.r_[np.full(11, 100.0), 1000.0], np.r_[np.full(11, 10.0), 12.0],
                                       np.r_[np.full(11, 10.0), 83.0]),
    "three_tied_groups": _case(np.repeat([100.0, 200.0, 300.0], 4), np.repeat([10.0, 12.0, 11.0], 4),
                               np.repeat([10.0, 17.0, 27.0], 4)),
}


def _random_degenerate(seed):
    """Small corpora with heavy ties: few distinct sentence lengths and counts."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(8, 25))
    n = rng.choice([1, 2, 3], size).astype(float)
    S = rng.choice([4.0, 5.0, 5.0, 6.0], size) if seed % 2 else np.full(size, 7.0) + (rng.random(size) < 0.1)
    return _case(n * S, S, n)


CASES = {**DEGENERATE, **{f"random_ties_{seed}": _random_degenerate(seed) for seed in range(8)}}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_estimator_fits_or_says_why_not(case, estimator):
    L, S, n, sd = CASES[case]
    # few resamples: the property is "fits or says why", not the width of an interval (and a
    # quantile fit refits every resample one by one)
    resamples = 20 if estimator.startswith("quantile") else 60
    rec, null = SL.fit_with_null(estimator, L, S, n, sd, n_resamples=resamples, null_reps=10, seed=0)
    trend, vs_null = null.diagnostics["trend"], null.diagnostics["vs_null"]
    assert trend in conclusion.TRENDS and vs_null in conclusion.VS_NULL
    b = rec["b"]
    if "not_fitted" in rec.diagnostics:
        reason = rec.diagnostics["not_fitted"]
        assert reason and trend == vs_null == "not_fitted" and not rec.converged
        assert f"not fitted: {reason}" in rec.warnings
        assert np.isnan(b.estimate)
    else:
        assert np.isfinite(b.estimate)
        assert trend != "not_fitted" or not np.isfinite(b.ci_low) or not np.isfinite(b.ci_high)
    # the table and its summary can be written whatever happened
    table = fit_summary(results_frame([rec, null]).assign(
        group=results_frame([rec, null])["group"].str.replace("{}", '{"corpus": "c", "unit": "words"}')))
    assert len(table) == (1 if estimator == "ols_log" else 0)


def test_the_issues_twelve_documents_say_why_they_are_not_fitted():
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(12)], "status": "ok", "n_sentences": N,
                         "L_words": N * 20, "S_words_mean": 20.0, "S_words_sd": 0.0,
                         "L_tokens": N * 26, "S_tokens_mean": 26.0, "S_tokens_sd": 0.0})
    for unit in ("words", "tokens"):
        with pytest.raises(SL.InsufficientData,
                           match=rf"corpus 'flat', unit '{unit}': S \(mean sentence length\) is \d+ in all 12"):
            SL.fit_corpus(docs, None, corpus="flat", units=(unit,), null_reps=10)


def test_a_singular_estimator_ends_in_not_fitted(monkeypatch):
    """An estimator that raises on data that passed the checks is not fitted, with its error."""
    rng = np.random.default_rng(0)
    L = np.exp(rng.uniform(3, 8, 50))
    S = 5 * L**0.1 * np.exp(0.2 * rng.standard_normal(50))
    from scalelaw.fitting.estimators import GammaGLM

    def broken(self, *args, **kwargs):
        raise ValueError("The first guess on the deviance function returned a nan.")

    monkeypatch.setattr(GammaGLM, "fit", broken)
    rec, null = SL.fit_with_null("gamma_glm", L, S, np.round(L / S), null_reps=10)
    assert rec.diagnostics["not_fitted"] == ("gamma_glm failed on these data: ValueError: "
                                             "The first guess on the deviance function returned a nan.")
    assert null.diagnostics["vs_null"] == "not_fitted"


@pytest.mark.slow
def test_the_issues_jsonl_corpus_runs_to_a_report_that_says_why(tmp_path):
    """Twelve JSONL documents whose sentences all have five words, in 20 shards: the run
    exits 0 and the summary says, per unit, why nothing was fitted."""
    import json

    from support.workflow_helpers import snakemake, write_config

    (tmp_path / "flat").mkdir()
    rows = [{"text": " ".join("The five word sentence here." for _ in range(3 + i))} for i in range(12)]
    (tmp_path / "flat" / "docs.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    corpora = {"flat": {"source": "files", "format": "jsonl", "paths": ["flat/docs.jsonl"], "shards": 20}}
    config = write_config(tmp_path / "c.yaml", use_corpora=["flat"], corpora=corpora,
                          **{"fit.min_docs": 3, "sensitivity.enabled": False})
    proc = snakemake(tmp_path, "--cores", "2", configfile=config, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = (tmp_path / "results" / "report" / "summary.md").read_text()
    for unit in ("words", "tokens"):
        assert f"not fitted: corpus 'flat', unit '{unit}': S (mean sentence length) is" in summary, summary
