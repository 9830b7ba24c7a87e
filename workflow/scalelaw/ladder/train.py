"""One ladder run: a randomly initialised Llama trained for a token budget with AdamW,
linear warm-up and cosine decay, gradient clipping and a seed; checkpoints so a killed
job resumes where it stopped; evaluated on a stride through the held-out documents and
compared with n-gram baselines counted from the same training tokens.

As small-model ladders are trained in the field (OLMo's ladder, Porian et al. 2024): the
learning rate scales with size (lr ∝ N^(-1/3) from a reference size, unless a size sets
its own), weight decay spares embeddings, norms and biases, and each run's cosine
schedule spans its own budget. On a GPU the step loop never waits for the device except
at log steps (the loss is summed on the device), AdamW is fused and the model can be
compiled."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from scalelaw.device import matmul_gflops, resolve_device, resolve_dtype

from .baselines import run_baselines
from .model import llama_config, parameter_counts


log = logging.getLogger("scalelaw.ladder")


def schedule(step: int, n_steps: int, warmup: int, min_ratio: float) -> float:
    """Learning-rate multiplier: linear warm-up over ``warmup`` steps, then cosine to min_ratio."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, n_steps - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def size_lr(size: Mapping[str, Any], settings: Mapping[str, Any], params_total: int) -> float:
    """The run's peak learning rate: the size's own ``lr`` if set, else ``train.lr`` scaled
    as lr · (N / lr_reference_params)^(-lr_exponent) (OLMo's ladder: exponent 1/3), or
    ``train.lr`` itself when lr_reference_params is null."""
    if size.get("lr"):
        return float(size["lr"])
    ref = settings.get("lr_reference_params")
    if not ref:
        return float(settings["lr"])
    return float(settings["lr"]) * (params_total / float(ref)) ** (-float(settings.get("lr_exponent", 1 / 3)))


def param_groups(model, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: weight decay on the attention and MLP matrices only, not on the
    (tied) embedding, norms or biases (OLMo, nanoGPT)."""
    embedding = model.get_input_embeddings().weight
    decay = [p for p in model.parameters() if p.ndim >= 2 and p is not embedding]
    no_decay = [p for p in model.parameters() if p.ndim < 2 or p is embedding]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def eval_rows(n_val: int, seq_len: int, eval_tokens: int) -> np.ndarray:
    """Which validation sequences are scored: all of them when ``eval_tokens`` is 0 or
    covers the split, else evenly spaced ones through the whole split (never the first
    documents in corpus order only)."""
    want = n_val if not eval_tokens else max(1, min(n_val, int(eval_tokens) // seq_len))
    return np.unique(np.linspace(0, n_val - 1, want).round().astype(np.int64))


def run_train_tokens(n_steps: int, batch_size: int, n_sequences: int, seed: int) -> np.ndarray:
    """Row indices of every training sequence the run's steps consume, in order (repeats
    included when the run does more than one epoch)."""
    cache: dict = {}
    return np.concatenate([batch_indices(s, batch_size, n_sequences, seed, cache) for s in range(n_steps)])


def batch_indices(step: int, batch_size: int, n_sequences: int, seed: int, cache: dict) -> np.ndarray:
    """The training sequences of one step: a seeded permutation per epoch, consumed in
    order, so a resumed run sees exactly the batches an uninterrupted one would."""
    g = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs, pos = np.divmod(g, n_sequences)
    out = np.empty(batch_size, np.int64)
    for e in np.unique(epochs):
        if e not in cache:
            cache.clear()
            cache[e] = np.random.default_rng([seed, int(e)]).permutation(n_sequences)
        out[epochs == e] = cache[e][pos[epochs == e]]
    return out


def run_fingerprint(spec: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _atomic_save(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def evaluate(model, val: np.ndarray, batch_size: int, device: str, autocast) -> float:
    """Mean next-token loss (nats per token) over the validation sequences."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(val), batch_size):
            x = torch.as_tensor(val[i : i + batch_size].astype(np.int64), device=device)
            with autocast():
                logits = model(input_ids=x).logits[:, :-1].float()
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum"
            )
            total = total + loss
            count += x[:, 1:].numel()
    model.train()
    return float(total) / count


def train_run(
    *,
    run: str,
    size: Mapping[str, Any],
    tokens: int,
    train_seqs: np.ndarray,
    val_seqs: np.ndarray,
    vocab_size: int,
    settings: Mapping[str, Any],
    checkpoint: str | os.PathLike,
    device: str = "cpu",
    dtype: str = "auto",
    threads: int = 2,
    export: Any = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train one run; returns its summary (one row) and its loss curve (every log_every steps).

    ``settings``: batch_size, lr, min_lr_ratio, warmup_fraction, weight_decay, beta1, beta2,
    grad_clip, seed, eval_tokens, log_every, eval_every, checkpoint_every, and optionally
    lr_reference_params, lr_exponent, compile, baselines. A checkpoint whose fingerprint
    matches this run is resumed; any other is ignored and replaced. ``export(model,
    summary)``, if given, is called with the trained model (to save it) before returning.
    """
    import contextlib

    import torch
    from transformers import LlamaForCausalLM

    torch.set_num_threads(int(threads))
    device = resolve_device(device, key="ladder.device")
    dtype = resolve_dtype(dtype, device, training=True)
    seq_len = int(train_seqs.shape[1])
    batch = int(settings["batch_size"])
    n_steps = max(1, math.ceil(int(tokens) / (batch * seq_len)))
    warmup = max(1, round(float(settings["warmup_fraction"]) * n_steps))
    counts = parameter_counts(size, vocab_size)
    lr = size_lr(size, settings, counts["params_total"])
    seed = int(settings["seed"] if size.get("seed") is None else size["seed"])
    log_every, ckpt_every = int(settings["log_every"]), int(settings["checkpoint_every"])
    eval_every = int(settings.get("eval_every") or 0)
    val = np.asarray(val_seqs[eval_rows(len(val_seqs), seq_len, int(settings["eval_tokens"]))])
    spec = {"run": run, "size": dict(size), "tokens": int(tokens), "settings": dict(settings), "seq_len": seq_len,
            "vocab_size": vocab_size, "n_train": int(len(train_seqs)), "device": device, "dtype": dtype}
    fingerprint = run_fingerprint(spec)

    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama_config(size, vocab_size, seq_len)).to(device)
    assert counts["params_total"] == sum(p.numel() for p in model.parameters()), "parameter count formula"
    on_gpu = device.startswith("cuda")
    opt = torch.optim.AdamW(
        param_groups(model, float(settings["weight_decay"])),
        lr=lr, betas=(float(settings["beta1"]), float(settings["beta2"])),
        fused=on_gpu, foreach=False if on_gpu else None,
    )
    step_model = torch.compile(model) if settings.get("compile") else model
    use_autocast = dtype != "float32"
    autocast = (lambda: torch.autocast(device_type=device.split(":")[0], dtype=getattr(torch, dtype))) if use_autocast \
        else contextlib.nullcontext

    ckpt_path = Path(checkpoint)
    ckpt_path.parent.mkdir(parents=True, exist_ok=True)
    state = {"step": 0, "curve": [], "train_seconds": 0.0, "window": [0.0, 0], "resumed_from": []}
    spec["lr"] = lr
    if ckpt_path.exists():
        saved = torch.load(ckpt_path, map_location=device, weights_only=False)
        if saved.get("fingerprint") == fingerprint:
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            state = saved["state"]
            state["resumed_from"].append(state["step"])
            log.info("%s: resumed from the checkpoint at step %d of %d", run, state["step"], n_steps)
        else:
            log.info("%s: checkpoint %s belongs to other settings; starting over", run, ckpt_path)

    # a GPU's matmul rate needs a large product (a small one times launch latency)
    gflops = matmul_gflops(device, dtype if device != "cpu" else "float32", n=4096 if on_gpu else 1024)
    flops_per_token = 6 * counts["params_total"]
    cache: dict = {}
    model.train()
    step = state["step"]
    # the loss is summed on the device: no host sync per step
    window = torch.full((), float(state["window"][0]), device=device)
    t0 = time.perf_counter()
    while step < n_steps:
        mult = schedule(step, n_steps, warmup, float(settings["min_lr_ratio"]))
        for group in opt.param_groups:
            group["lr"] = lr * mult
        idx = batch_indices(step, batch, len(train_seqs), seed, cache)
        x = torch.as_tensor(train_seqs[idx].astype(np.int64)).to(device, non_blocking=True)
        with autocast():
            loss = step_model(input_ids=x, labels=x).loss
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float(settings["grad_clip"]))
        opt.step()
        opt.zero_grad(set_to_none=True)
        window += loss.detach()
        state["window"][1] += 1
        step += 1
        if step % log_every == 0 or step == n_steps:
            mean_loss = float(window) / state["window"][1]  # the one host sync, at log steps
            state["train_seconds"] += time.perf_counter() - t0
            point = {"step": step, "tokens_seen": step * batch * seq_len, "train_loss": mean_loss, "lr": lr * mult,
                     "grad_norm": float(grad_norm), "val_loss": math.nan}
            if eval_every and (step % eval_every == 0) and step != n_steps:
                point["val_loss"] = evaluate(model, val, batch, device, autocast)
            state["curve"].append(point)
            state["window"] = [0.0, 0]
            window.zero_()
            if not math.isfinite(mean_loss):
                raise FloatingPointError(f"{run}: training loss is {mean_loss} by step {step} (lr {lr * mult:g}); "
                                         "lower ladder.train.lr")
            t0 = time.perf_counter()
        state["step"] = step
        if step % ckpt_every == 0 and step < n_steps:
            state["window"][0] = float(window)
            _atomic_save({"fingerprint": fingerprint, "model": model.state_dict(), "optimizer": opt.state_dict(),
                          "state": state}, ckpt_path)
            t0 = time.perf_counter()

    val_loss = evaluate(model, val, batch, device, autocast)
    baselines = {"unigram_val_loss": math.nan, "bigram_val_loss": math.nan, "trigram_val_loss": math.nan}
    if settings.get("baselines", True):
        t_base = time.perf_counter()
        used = run_train_tokens(n_steps, batch, len(train_seqs), seed)
        blocks = lambda: (np.asarray(train_seqs[np.sort(used[i : i + 8192])]) for i in range(0, len(used), 8192))  # noqa: E731
        baselines = run_baselines(blocks, val, vocab_size)
        log.info("%s: n-gram baselines %s in %.1f s", run, baselines, time.perf_counter() - t_base)
    if state["curve"]:
        state["curve"][-1]["val_loss"] = val_loss
    d_seen = n_steps * batch * seq_len
    tokens_per_s = d_seen / state["train_seconds"] if state["train_seconds"] > 0 else math.nan
    summary = {
        "run": run,
        "size": size["name"],
        "d_model": int(size["d_model"]),
        "n_layers": int(size["n_layers"]),
        "n_heads": int(size["n_heads"]),
        **counts,
        "tokens_budget": int(tokens),
        "tokens_seen": d_seen,
        "steps": n_steps,
        "warmup_steps": warmup,
        "batch_size": batch,
        "seq_len": seq_len,
        "lr": lr,
        "epochs": d_seen / (len(train_seqs) * seq_len),
        "train_tokens_available": int(len(train_seqs) * seq_len),
        "val_tokens": int(val.size - len(val)),
        "val_loss": val_loss,
        **baselines,
        "final_train_loss": state["curve"][-1]["train_loss"] if state["curve"] else math.nan,
        # C = 6 N D with N counting the (tied) output layer, whose matmul is real work
        # whichever N convention the law uses
        "flops_6nd": float(flops_per_token * d_seen),
        "output_layer_params": int(vocab_size * int(size["d_model"])),
        "train_seconds": state["train_seconds"],
        "tokens_per_s": tokens_per_s,
        "achieved_gflops": flops_per_token * tokens_per_s / 1e9,
        "matmul_gflops": gflops,
        "matmul_fraction": flops_per_token * tokens_per_s / 1e9 / gflops,
        "device": device,
        "dtype": dtype,
        "threads": int(threads),
        "seed": seed,
        "compiled": bool(settings.get("compile")),
        "resumed_at_steps": json.dumps(state["resumed_from"]),
        "fingerprint": fingerprint,
    }
    if export is not None:
        export(model, summary)
    curve = pd.DataFrame(state["curve"], columns=["step", "tokens_seen", "train_loss", "lr", "grad_norm", "val_loss"])
    curve.insert(0, "run", run)
    return summary, curve


def finish(checkpoint: str | os.PathLike) -> None:
    """Remove a run's checkpoint once its results are written."""
    Path(checkpoint).unlink(missing_ok=True)
