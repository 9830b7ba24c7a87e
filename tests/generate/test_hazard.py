"""The end-of-text hazard (scalelaw.generate.hazard, hazard_fit) and the ladder's models as
generation models (a `ladder:` source in generate.models).

Checked on models whose answer is known before it is trusted on real ones: a tiny Llama
with a uniform next-token distribution and k stop tokens has the hazard k / V at every
position, so the expected remaining length is analytic; and on a random model, the one
teacher-forced pass per document is compared with a brute-force pass per position.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scalelaw.generate import hazard as H
from scalelaw.generate import hazard_fit as HF
from scalelaw.generate import loading as LD
from scalelaw.generate import sources as SO
from scalelaw.generate import specs as SP
from scalelaw.generate.errors import ModelError
from scalelaw.generate.plan import plan_sweep
from support.generate_helpers import (TEXT, build_constant_hazard_model, build_ladder_folder,
                                      build_tiny_model, validated_generate_config)


@pytest.fixture(scope="module")
def documents():
    # documents of 1 to 5 sentences: some end inside the horizon (censored at their end)
    return pd.DataFrame({"doc_id": [f"d{i}" for i in range(6)],
                         "text": [" ".join(TEXT[i:i + 1 + i]) for i in range(6)]})


@pytest.fixture(scope="module")
def constant(tmp_path_factory):
    folder, h = build_constant_hazard_model(tmp_path_factory.mktemp("constant"), n_stop_ids=20)
    return LD.load_model(folder, threads=1), h


def test_constant_hazard_gives_the_analytic_expectation(constant, documents):
    lm, h = constant
    assert h == pytest.approx(0.05)
    out, skipped = H.eos_hazard(lm, documents, prompt_tokens=[4, 8, 16, 32], horizon=40, progress=False)
    assert list(out.columns) == H.HAZARD_COLUMNS
    assert np.allclose(out["eos_prob_first"], h) and np.allclose(out["eos_prob_mean"], h)
    analytic = [H.constant_hazard_expectation(h, k) for k in out["scored_tokens"]]
    assert np.allclose(out["expected_remaining_tokens"], analytic, rtol=1e-6)
    assert np.allclose(out["p_stop_within"], 1 - (1 - h) ** out["scored_tokens"], rtol=1e-6)
    # a document that ends inside the window: censored at its end, the sum stops there
    ended = out[out["censored_at"] == "document_end"]
    assert len(ended) and (ended["scored_tokens"] == ended["true_remaining_tokens"]).all()
    assert (out.loc[out["censored_at"] == "horizon", "scored_tokens"] == 40).all()
    assert (out["true_remaining_tokens"] == out["document_tokens"] - out["prompt_tokens"]).all()
    # a prompt as long as the document leaves nothing to read: skipped and counted
    assert skipped["too_short"] == 4 * len(documents) - len(out) > 0
    # far from the window's end the restricted mean is the unrestricted (1 - h) / h = 19
    assert H.constant_hazard_expectation(h, 10_000) == pytest.approx((1 - h) / h)
    assert H.expected_remaining(np.full(10_000, h))[0] == pytest.approx((1 - h) / h)
    # the implied length carries the window's hazard beyond it: exact for a constant hazard
    assert np.allclose(out["implied_remaining_tokens"], (1 - h) / h, rtol=1e-6)


def test_one_pass_equals_a_pass_per_position(tmp_path, documents):
    """Teacher forcing over the whole window gives the hazard a step-by-step pass gives."""
    import torch

    from scalelaw.generate.decoding import stop_token_ids

    lm = LD.load_model(build_tiny_model(tmp_path / "m"), threads=1)
    out, _ = H.eos_hazard(lm, documents.iloc[2:4], prompt_tokens=[3, 7], horizon=5, progress=False)
    tok, model = lm.tokenizer, lm.model
    stops = stop_token_ids(model, tok)
    assert (out["document_start_token"] == "<|endoftext|>").all()  # bos = eos: documents start after it
    text = dict(zip(documents["doc_id"], documents["text"]))
    for r in out.itertuples():
        ids = tok(text[r.doc_id], add_special_tokens=False)["input_ids"]
        hs = []
        for k in range(1, r.scored_tokens + 1):
            x = torch.tensor([[tok.bos_token_id] + ids[:r.prompt_tokens + k - 1]])
            with torch.no_grad():
                hs.append(float(torch.softmax(model(x).logits[0, -1].double(), -1)[stops].sum()))
        assert r.eos_prob_first == pytest.approx(hs[0], rel=1e-4)
        assert r.expected_remaining_tokens == pytest.approx(np.cumprod(1 - np.array(hs)).sum(), rel=1e-5)


def _synthetic(b: float, n_docs: int, seed: int, response: str = "implied_remaining_tokens") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = np.array([8, 16, 32, 64, 128])
    rows = []
    for d in range(n_docs):
        doc_effect = rng.normal(0, 0.3)  # shared by every prompt length of a document
        for pt in p:
            rows.append({"doc_id": f"d{d}", "prompt_tokens": pt, "horizon_tokens": 48,
                         "censored_at": "horizon",
                         response: 10 * pt ** b * np.exp(doc_effect + rng.normal(0, 0.2))})
    return pd.DataFrame(rows)


def test_hazard_elasticity_recovers_and_covers():
    fits = [HF.hazard_elasticity(_synthetic(0.2, 16, s), group={}) for s in range(60)]
    b = np.array([f.params["b"].estimate for f in fits])
    assert abs(b.mean() - 0.2) < 0.02
    covered = np.mean([f.params["b"].ci_low <= 0.2 <= f.params["b"].ci_high for f in fits])
    assert covered >= 0.85
    assert "t(15)" in fits[0].params["b"].ci_method  # t with G - 1 degrees of freedom
    pinned = _synthetic(0.0, 16, 0, "expected_remaining_tokens").assign(p_stop_within=0.01)
    restricted = HF.hazard_elasticity(pinned, group={}, response="expected_remaining_tokens")
    assert any("sits near the window" in w for w in restricted.warnings)
    one = HF.hazard_elasticity(_synthetic(0.2, 16, 0).query("prompt_tokens == 8"), group={})
    assert not np.isfinite(one.params["b"].estimate) and "not identified" in one.warnings[0]


def test_elasticity_against_size_needs_three_sizes():
    def fit(model, n, b):
        return HF.FitResult(analysis="eos_hazard_elasticity", law="power", estimator="ols_log",
                                  params={"b": HF.Param(b)}, n=10, n_unit="prompts",
                                  group={"model": model, "model_kind": "ladder", "n_params": n,
                                         "response": "implied_remaining_tokens"})
    two = HF.elasticity_against_size([fit("a", 1e5, 0.1), fit("b", 1e6, 0.2)])
    assert not np.isfinite(two.params["d"].estimate) and "not identified" in two.warnings[0]
    four = HF.elasticity_against_size([fit(m, n, 0.1 + 0.05 * np.log10(n / 1e5))
                                       for m, n in zip("abcd", (1e5, 3e5, 1e6, 3e6))])
    assert four.params["d"].estimate == pytest.approx(0.05) and four.n == 4
    assert "t(2)" in four.params["d"].ci_method and four.warnings  # 2 degrees of freedom: said


# ----------------------------------------------------------------------------- ladder models


LADDER = {"enabled": True, "corpus": "t", "sizes": [{"name": "s1"}, {"name": "s2"}, {"name": "s3"}]}


def test_ladder_entry_expands_to_one_model_per_size():
    config = validated_generate_config({"models": [{"name": "a", "path": "/a"},
                                                   {"name": "ladder", "ladder": "all"}]})
    config["ladder"] = LADDER
    plan = plan_sweep(config)
    assert list(plan.models) == ["a", "ladder-s1", "ladder-s2", "ladder-s3"]
    assert plan.sampled_models == ["a"] and plan.ladder_size("ladder-s2") == "s2"
    assert all("/cells/a/" in f for f in plan.cell_files())  # ladder models: hazard only
    assert plan.hazard_files()[1] == "results/t/generate/hazard/ladder-s1.parquet"
    assert plan.hazard_inputs()["split"] == "results/t/ladder/data/split.parquet"
    one = validated_generate_config({"models": [{"name": "a", "path": "/a"}, {"name": "mine", "ladder": "s3"}]})
    one["ladder"] = LADDER
    assert list(plan_sweep(one).models) == ["a", "mine"]
    other_corpus = {**LADDER, "corpus": "other"}
    config["ladder"] = other_corpus
    assert "split" not in plan_sweep(config).hazard_inputs()  # then a corpus sample, said in the table


@pytest.mark.parametrize("ladder,match", [
    ({"enabled": False, "sizes": [{"name": "s1"}]}, "ladder.enabled is false"),
    ({**LADDER, "sizes": [{"name": "s1"}]}, "'s9' is not in ladder.sizes"),
])
def test_ladder_entry_errors_name_the_key(ladder, match):
    config = validated_generate_config({"models": [{"name": "a", "path": "/a"}, {"name": "x", "ladder": "s9"
                                                    if "s9" in match else "all"}]})
    config["ladder"] = ladder
    with pytest.raises(ModelError, match=match) as err:
        plan_sweep(config)
    assert "\n" not in str(err.value) and "generate.models" in str(err.value)


def test_ladder_folder_prepares_loads_and_reads_its_hazard(tmp_path, documents):
    folder = build_ladder_folder(tmp_path / "ladder/models/s1_t1000", run="s1_t1000", size="s1", seq_len=64)
    spec = SP.parse_model_spec({"name": "ladder-s1", "ladder": "s1"})
    facts = SO.prepare_model(spec, ladder_dir=folder)
    card = json.loads((folder / "ladder_model.json").read_text())
    assert facts["kind"] == "ladder" and facts["ladder_run"] == "s1_t1000"
    assert facts["n_params_total"] == card["n_params_total"]  # tied embeddings counted once
    assert facts["max_position_embeddings"] == 64
    with pytest.raises(ModelError, match="ladder_model.json"):
        SO.prepare_model(spec, ladder_dir=tmp_path / "missing")
    lm = LD.load_model(facts, threads=1)
    out, skipped = H.eos_hazard(lm, documents, prompt_tokens=[4, 8, 16, 32], horizon=40, progress=False)
    # 1 start token + p + 40 - 1 > 64 for p = 32: skipped for this model, and counted
    assert skipped["prompt_tokens_beyond_context"] == [32] and set(out["prompt_tokens"]) == {4, 8, 16}
    assert (out["model_kind"] == "ladder").all() and (out["n_params"] == card["n_params_total"]).all()


def test_hazard_documents_are_the_ladders_validation_documents():
    docs = pd.DataFrame({"doc_id": [str(i) for i in range(30)], "text": ["x"] * 30})
    split = pd.DataFrame({"doc_id": [str(i) for i in range(30)],
                          "split": ["val" if i % 5 == 0 else "train" for i in range(30)]})
    chosen, label = H.hazard_documents(docs, n_documents=4, seed=0, split=split)
    assert label == "ladder_validation" and len(chosen) == 4
    assert set(chosen["doc_id"]) <= {str(i) for i in range(0, 30, 5)}
    again, _ = H.hazard_documents(docs, n_documents=4, seed=0, split=split)
    assert chosen.equals(again)
    sample, label = H.hazard_documents(docs, n_documents=4, seed=0)
    assert label == "corpus_sample" and len(sample) == 4
