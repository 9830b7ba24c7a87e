"""The training recipe of a ladder run (scalelaw.ladder.train): learning rate by size,
weight decay that spares embeddings and norms, a loss that is only read at log steps."""

import numpy as np
import pytest

from scalelaw.ladder import model, train

SIZE = {"name": "a", "d_model": 16, "n_layers": 2, "n_heads": 2}


def test_lr_follows_the_size_rule_unless_the_size_sets_its_own():
    settings = {"lr": 0.01, "lr_reference_params": 1e5, "lr_exponent": 1 / 3}
    assert train.size_lr(SIZE, settings, 100_000) == pytest.approx(0.01)
    assert train.size_lr(SIZE, settings, 800_000) == pytest.approx(0.005)  # 8x the size, half the lr
    assert train.size_lr({**SIZE, "lr": 0.002}, settings, 800_000) == 0.002
    assert train.size_lr(SIZE, {"lr": 0.01, "lr_reference_params": None}, 800_000) == 0.01


def test_weight_decay_spares_the_tied_embedding_norms_and_biases():
    from transformers import LlamaForCausalLM

    lm = LlamaForCausalLM(model.llama_config(SIZE, 64, 16))
    decay, no_decay = train.param_groups(lm, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    emb = lm.get_input_embeddings().weight
    assert emb is lm.get_output_embeddings().weight  # tied: one tensor, the output layer too
    assert any(p is emb for p in no_decay["params"]) and not any(p is emb for p in decay["params"])
    assert all(p.ndim == 2 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"] if p is not emb)
    assert sum(p.numel() for g in (decay, no_decay) for p in g["params"]) == sum(p.numel() for p in lm.parameters())


def test_a_tiny_run_learns_and_records_its_recipe(tmp_path):
    rng = np.random.default_rng(0)
    # a learnable stream: each token is the previous one plus one (mod 32), now and then random
    stream = np.cumsum(np.where(rng.random(40 * 33) < 0.9, 1, rng.integers(0, 32, 40 * 33))) % 32
    seqs = stream.reshape(40, 33)[:, :32].astype(np.uint16)
    settings = {"batch_size": 4, "lr": 0.01, "lr_reference_params": 10_000, "lr_exponent": 1 / 3,
                "min_lr_ratio": 0.1, "warmup_fraction": 0.05, "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.95,
                "grad_clip": 1.0, "seed": 0, "eval_tokens": 0, "log_every": 10, "eval_every": 0,
                "checkpoint_every": 1000}
    summary, curve = train.train_run(run="r", size=SIZE, tokens=4 * 32 * 60, train_seqs=seqs[:32],
                                     val_seqs=seqs[32:], vocab_size=32, settings=settings,
                                     checkpoint=tmp_path / "c.pt", threads=1)
    n = model.parameter_counts(SIZE, 32)["params_total"]
    assert summary["lr"] == pytest.approx(0.01 * (n / 10_000) ** (-1 / 3))
    assert summary["val_tokens"] == 8 * 31  # eval_tokens 0: the whole validation split
    assert summary["warmup_steps"] == 3 and summary["steps"] == 60
    assert len(curve) == 6 and curve["train_loss"].iloc[-1] < curve["train_loss"].iloc[0]
    assert summary["val_loss"] < summary["unigram_val_loss"]
    assert summary["output_layer_params"] == 32 * 16
