"""The ladder's parts (scalelaw.ladder): split by document, BPE and packing, parameter
counts, designs, learning-rate schedule, and a training run that resumes after SIGKILL."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalelaw.ladder import analysis, data, design, model, train

ROOT = Path(__file__).resolve().parents[2]

LADDER = {
    "vocab_size": 512, "seq_len": 32, "design": "grid", "parameter_count": "total",
    "sizes": [{"name": "a", "d_model": 16, "n_layers": 1, "n_heads": 1},
              {"name": "b", "d_model": 32, "n_layers": 2, "n_heads": 2}],
    "tokens": [1000, 4000], "compute": [1e9, 4e9], "train": {"batch_size": 4},
}
SETTINGS = {"batch_size": 4, "lr": 0.01, "min_lr_ratio": 0.1, "warmup_fraction": 0.1, "weight_decay": 0.1,
            "beta1": 0.9, "beta2": 0.95, "grad_clip": 1.0, "seed": 0, "eval_tokens": 1024, "log_every": 5,
            "eval_every": 0, "checkpoint_every": 10}


def test_split_is_by_document_and_seeded():
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(20)], "text": [f"text {i} " * 50 for i in range(20)]})
    a = data.split_documents(docs, 0.2, seed=3)
    assert a.equals(data.split_documents(docs, 0.2, seed=3))
    assert (a["split"] == "val").sum() == 4
    assert not a.equals(data.split_documents(docs, 0.2, seed=4))
    with pytest.raises(ValueError, match="duplicate doc_id 'd1'"):
        data.split_documents(pd.concat([docs, docs.iloc[[1]]]), 0.2, 0)


def test_bpe_is_trained_on_training_documents_only_and_packs_whole_rows():
    train_texts = ["the cat sat on the mat. " * 40, "a dog ran in the park. " * 40]
    val_only = "zyxwvq " * 50
    docs = pd.DataFrame({"doc_id": ["t1", "t2", "v"], "text": [*train_texts, val_only]})
    split = data.split_documents(docs, 0.34, seed=0)
    held_out = split.loc[split["split"] == "val", "doc_id"].tolist()
    tok, tr, va, _, facts = data.prepare(docs, val_fraction=0.34, seed=0, vocab_size=300, seq_len=8)
    vocab = tok.get_vocab()
    held_text = docs.set_index("doc_id").loc[held_out[0], "text"]
    if held_text == val_only:
        assert "zyxwvq" not in "".join(vocab).replace("Ġ", "")  # never merged: it is not training text
    assert tr.shape[1] == va.shape[1] == 8
    assert facts["sequences"]["train"] * 8 + facts["dropped_tail_tokens"]["train"] == facts["tokens"]["train"]
    assert tok.token_to_id(data.EOS) == 0


@pytest.mark.parametrize("size", LADDER["sizes"] + [{"name": "c", "d_model": 48, "n_layers": 3, "n_heads": 4, "d_ff": 100}])
def test_parameter_count_formula_matches_the_built_model(size):
    from transformers import LlamaForCausalLM

    m = LlamaForCausalLM(model.llama_config(size, 512, 32))
    counts = model.parameter_counts(size, 512)
    assert counts["params_total"] == sum(p.numel() for p in m.parameters())
    assert counts["params_total"] - counts["params_non_embedding"] == 512 * size["d_model"]


def test_adding_a_budget_or_size_keeps_the_other_run_names():
    before = {r["run"]: r for r in design.plan_runs(LADDER)}
    more = {**LADDER, "tokens": [*LADDER["tokens"], 16000],
            "sizes": [*LADDER["sizes"], {"name": "c", "d_model": 48, "n_layers": 2, "n_heads": 2}]}
    after = {r["run"]: r for r in design.plan_runs(more)}
    assert set(before) < set(after) and len(after) == 9
    assert all(after[k] == v for k, v in before.items())


def test_isoflop_design_gives_d_equal_c_over_6n():
    runs = design.plan_runs({**LADDER, "design": "isoflop"})
    assert len(runs) == 4
    for r in runs:
        assert r["compute"] == pytest.approx(r["budget"], rel=1e-3)
    with pytest.raises(design.DesignError, match="ladder.compute: budget 1e\\+06"):
        design.plan_runs({**LADDER, "design": "isoflop", "compute": [1e6]})


def test_schedule_warms_up_then_decays_to_the_floor():
    lrs = [train.schedule(s, 100, 10, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(0.1, abs=1e-3)


def test_batches_cover_every_sequence_once_per_epoch():
    cache = {}
    seen = np.concatenate([train.batch_indices(s, 4, 10, 0, cache) for s in range(5)])
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:20]) == list(range(10))


DRIVER = r"""
import json, sys
import numpy as np
sys.path.insert(0, {workflow!r})
from scalelaw.ladder import train
rng = np.random.default_rng(0)
seqs = rng.integers(1, 512, (400, 32)).astype(np.uint16)
summary, curve = train.train_run(run="r", size={size!r}, tokens={tokens}, train_seqs=seqs[:360], val_seqs=seqs[360:],
                                 vocab_size=512, settings={settings!r}, checkpoint=sys.argv[1], threads=1)
json.dump({{"summary": summary, "curve": curve.to_dict("list")}}, open(sys.argv[2], "w"))
"""


def _driver(tmp_path):
    script = tmp_path / "driver.py"
    size = {"name": "b", "d_model": 32, "n_layers": 2, "n_heads": 2}
    script.write_text(DRIVER.format(workflow=str(ROOT / "workflow"), size=size, tokens=4 * 32 * 200,
                                    settings=SETTINGS))
    return script


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_final_loss(tmp_path):
    script = _driver(tmp_path)
    subprocess.run([sys.executable, str(script), str(tmp_path / "a.pt"), str(tmp_path / "a.json")], check=True, timeout=600)
    ckpt, out = tmp_path / "b.pt", tmp_path / "b.json"
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt), str(out)])
    deadline = time.time() + 300
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert ckpt.exists(), "no checkpoint appeared before the run ended"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not out.exists(), "the run finished before it was killed"
    subprocess.run([sys.executable, str(script), str(ckpt), str(out)], check=True, timeout=600)
    a, b = json.loads((tmp_path / "a.json").read_text()), json.loads(out.read_text())
    assert json.loads(b["summary"]["resumed_at_steps"]) and not json.loads(a["summary"]["resumed_at_steps"])
    assert b["summary"]["val_loss"] == pytest.approx(a["summary"]["val_loss"], rel=1e-6)
    np.testing.assert_allclose(b["curve"]["train_loss"], a["curve"]["train_loss"], rtol=1e-6)
    assert b["summary"]["steps"] == a["summary"]["steps"] == 200


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    rng = np.random.default_rng(0)
    seqs = rng.integers(1, 512, (60, 32)).astype(np.uint16)
    size = {"name": "a", "d_model": 16, "n_layers": 1, "n_heads": 1}
    kw = dict(run="r", size=size, train_seqs=seqs[:50], val_seqs=seqs[50:], vocab_size=512,
              checkpoint=tmp_path / "c.pt", threads=1)
    first, _ = train.train_run(tokens=4 * 32 * 25, settings={**SETTINGS, "checkpoint_every": 5}, **kw)
    assert (tmp_path / "c.pt").exists()  # left for a resume; the rule removes it after writing
    second, _ = train.train_run(tokens=4 * 32 * 30, settings={**SETTINGS, "checkpoint_every": 5}, **kw)
    assert json.loads(second["resumed_at_steps"]) == []
    assert second["epochs"] == pytest.approx(4 * 30 / 50)  # more tokens than the data: 2.4 epochs
    runs, curves = analysis.collect([analysis.run_frame(first, _), analysis.run_frame(second, _)])
    assert len(runs) == 1 and "val_loss" in runs and "train_loss" in curves


def test_fit_ladder_on_an_isoflop_design_of_a_known_law():
    """analysis.fit_ladder over runs of a known L(N, D) on IsoFLOP profiles: Approach 3
    recovers the exponents, Approach 2 is fitted, repeated data is flagged."""
    from scalelaw.fitting.laws import get_law

    truth = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    rows, budgets = [], {}
    for c in np.geomspace(1e18, 1e21, 4):
        for k, n in enumerate(np.geomspace(3e7, 3e9, 7)):
            d = c / (6 * n)
            run = f"s{k}_D{int(d)}"
            budgets[run] = c
            loss = get_law("chinchilla").predict(np.array([[n, d]]), truth)[0]
            rows.append({"run": run, "size": f"s{k}", "params_total": n, "tokens_seen": d, "tokens_budget": int(d),
                         "val_loss": loss, "epochs": 2.0 if k == 0 and c == 1e18 else 0.5})
    fit = {"huber_delta": 1e-3, "n_starts": 4, "n_bootstrap": 50, "confidence_level": 0.95, "seed": 0}
    results, isoflop, summary = analysis.fit_ladder(pd.DataFrame(rows), fit, "total", budgets)
    by_fit = {(r.group.get("fit"), r.group.get("quantity")): r for r in results}
    main = by_fit[("L(N,D)", None)]
    assert main["alpha"].estimate == pytest.approx(0.34, rel=0.02)
    assert main["beta"].estimate == pytest.approx(0.28, rel=0.02)
    assert by_fit[("IsoFLOP", "N_opt")]["a"].estimate == pytest.approx(0.28 / 0.62, abs=0.03)
    assert len(isoflop) == 4 and isoflop["N_opt"].notna().all()
    assert len(summary["repeated_data_runs"]) == 1
    assert any("repeat training data" in w for w in summary["warnings"])


def test_report_counts_a_seed_repeat_as_a_repeat_not_a_size():
    from scalelaw.ladder.report import design_phrase

    rows = [{"size": name, "d_model": d, "n_layers": 2, "n_heads": 2, "params_total": 1000 * d, "tokens_budget": t}
            for name, d in (("a", 32), ("b", 48), ("b_seed1", 48)) for t in (100, 200, 400)]
    assert design_phrase(pd.DataFrame(rows)) == "2 sizes × 3 token budgets, and one size trained again with another seed"
    assert design_phrase(pd.DataFrame([r for r in rows if r["size"] != "b_seed1"])) == "2 sizes × 3 token budgets"
