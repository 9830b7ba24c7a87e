#!/usr/bin/env python
"""What a ladder run costs on a GPU, and whether the GPU path trains correctly; the parts
of benchmarks/gpu_check.sh (which runs them all under one time limit):

    matmul     bf16 (and float32) matmul TFLOP/s of an n x n product (n >= 4096 on a GPU)
    sizes      every size of a ladder config trained for --steps steps by the pipeline's own
               train_run on random tokens (throughput does not depend on the text): tokens/s,
               MFU against the card's published bf16 peak and against the measured matmul,
               peak memory, minutes per (size, budget) run of the config
    compile    one size, eager against torch.compile
    resume     a training run in a child process SIGKILLed after its first checkpoint, then
               resumed: same final loss as an uninterrupted run
    dtype      --steps steps in bfloat16 autocast against float32 (and float32 with another
               seed, the noise): same loss within noise
    generate   the resumed run's exported Hugging Face folder generating on the device

    python benchmarks/ladder_gpu.py all --device cuda --config config/ladder-large.yaml --out gpu_check/
    python benchmarks/ladder_gpu.py all --device cpu --small --out /tmp/x   # dry check on a CPU

Needs torch and transformers; not part of the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from scalelaw.device import matmul_gflops, resolve_device, resolve_dtype, sync  # noqa: E402
from scalelaw.ladder import data, export, model, train  # noqa: E402

# Published dense bf16 tensor-core peaks (TFLOP/s, no sparsity), by a name fragment of
# torch.cuda.get_device_name(); the first fragment that matches wins.
BF16_PEAK_TFLOPS = [("H200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("GH200", 989.0), ("A100", 312.0),
                    ("L40S", 362.0), ("L40", 181.0), ("L4", 121.0), ("A10G", 70.0), ("A10", 125.0),
                    ("RTX 4090", 165.0), ("RTX 3090", 71.0)]

SMALL = {"vocab_size": 512, "seq_len": 64, "tokens": [100_000, 400_000],
         "sizes": [{"name": "d32l2", "d_model": 32, "n_layers": 2, "n_heads": 2},
                   {"name": "d64l2", "d_model": 64, "n_layers": 2, "n_heads": 2}],
         "train": {"batch_size": 8, "lr": 0.01, "min_lr_ratio": 0.1, "warmup_fraction": 0.05, "weight_decay": 0.1,
                   "beta1": 0.9, "beta2": 0.95, "grad_clip": 1.0, "seed": 0, "eval_tokens": 4096, "log_every": 10,
                   "eval_every": 0, "checkpoint_every": 10}}


def card_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu"


def bf16_peak(device: str) -> float | None:
    name = card_name(device)
    return next((peak * 1e3 for frag, peak in BF16_PEAK_TFLOPS if frag in name), None) if device != "cpu" else None


def peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this process, since it started


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(device)


def flops_per_token(size: dict, vocab: int, seq_len: int) -> float:
    """6 N (N with the output layer) plus attention's score and value products, 12 L T d
    (nanoGPT's MFU estimate)."""
    n = model.parameter_counts(size, vocab)["params_total"]
    return 6 * n + 12 * int(size["n_layers"]) * seq_len * int(size["d_model"])


def random_seqs(n: int, vocab: int, seq_len: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, vocab, (n, seq_len)).astype(np.uint16)


def text_seqs(n: int, vocab: int, seq_len: int, work: Path | None = None):
    """Rows of a learnable synthetic text (each word follows from the one before, with
    noise) under a BPE trained on it, so that a loss comparison means something; returns
    (rows, tokenizer)."""
    rng = np.random.default_rng(0)
    words = [f"w{k}" for k in range(300)]
    texts = []
    for i in range(200):
        k, out = int(rng.integers(300)), []
        for _ in range(150):
            k = (k * 7 + 3) % 300 if rng.random() < 0.8 else int(rng.integers(300))
            out.append(words[k])
        texts.append(f"document {i}: " + " ".join(out))
    tok = data.train_bpe(texts, vocab)
    if work is not None:
        tok.save(str(work / "tokenizer.json"))
    stream = data.encode_stream(tok, texts)
    stream = np.tile(stream, -(-n * seq_len // len(stream)))
    return data.pack(stream[: n * seq_len], seq_len), tok


def one_run(ladder: dict, size: dict, steps: int, device: str, dtype: str, text: bool = False, **overrides) -> dict:
    vocab, seq_len = int(ladder["vocab_size"]), int(ladder["seq_len"])
    settings = {**ladder["train"], "checkpoint_every": 10**9, "eval_every": 0, "eval_tokens": seq_len * 32,
                "baselines": False, **overrides}
    batch = int(settings["batch_size"])
    if text:
        seqs, tok = text_seqs(steps * batch + 32, vocab, seq_len)
        vocab = tok.get_vocab_size()
    else:
        seqs = random_seqs(steps * batch + 32, vocab, seq_len)
    reset_peak(device)
    with tempfile.TemporaryDirectory() as tmp:
        summary, curve = train.train_run(run="bench", size=size, tokens=steps * batch * seq_len, train_seqs=seqs[:-32],
                                         val_seqs=seqs[-32:], vocab_size=vocab, settings=settings,
                                         checkpoint=os.path.join(tmp, "c.pt"), device=device, dtype=dtype,
                                         threads=int(ladder.get("threads", 4)))
    summary["peak_memory_mb"] = peak_memory_mb(device)
    summary["curve"] = curve
    return summary


def check_matmul(device: str, small: bool) -> dict:
    n = 1024 if small or device == "cpu" else 8192
    out = {"n": n, "device": card_name(device)}
    for dt in ("bfloat16", "float32"):
        out[f"{dt}_tflops"] = matmul_gflops(device, dt, n=n, min_seconds=1.0 if not small else 0.2) / 1e3
    return out


def check_sizes(ladder: dict, steps: int, device: str, dtype: str, matmul: dict) -> list[dict]:
    rows = []
    peak = bf16_peak(device)
    for size in ladder["sizes"]:
        s = one_run(ladder, size, steps, device, dtype)
        achieved = flops_per_token(size, int(ladder["vocab_size"]), int(ladder["seq_len"])) * s["tokens_per_s"]
        rows.append({
            "size": size["name"], "params_total": s["params_total"], "tokens_per_s": round(s["tokens_per_s"]),
            "achieved_tflops": achieved / 1e12,
            "mfu_bf16_peak": achieved / (peak * 1e9) if peak else None,
            "fraction_of_matmul": achieved / (matmul[f"{dtype}_tflops"] * 1e12) if dtype in ("bfloat16", "float32") else None,
            "peak_memory_mb": round(s["peak_memory_mb"]),
            "minutes_per_budget": {int(t): round(int(t) / s["tokens_per_s"] / 60, 2) for t in ladder.get("tokens", [])},
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


def check_compile(ladder: dict, steps: int, device: str, dtype: str) -> dict:
    """Eager against torch.compile on one size. A compiled run's time includes compiling,
    so the compiled rate is taken from the difference of a run of 2 x steps and one of
    steps (the compilation cancels)."""
    if device == "cpu":
        return {"skipped": "on a CPU torch.compile (inductor) takes minutes to compile: not part of the dry check"}
    size = ladder["sizes"][min(1, len(ladder["sizes"]) - 1)]
    eager = one_run(ladder, size, steps, device, dtype, compile=False)
    short = one_run(ladder, size, steps, device, dtype, compile=True)
    long = one_run(ladder, size, 2 * steps, device, dtype, compile=True)
    rate = (long["tokens_seen"] - short["tokens_seen"]) / (long["train_seconds"] - short["train_seconds"])
    return {"size": size["name"], "eager_tokens_per_s": eager["tokens_per_s"], "compiled_tokens_per_s": rate,
            "compile_seconds": short["train_seconds"] - short["tokens_seen"] / rate,
            "speedup": rate / eager["tokens_per_s"]}


def check_dtype(ladder: dict, steps: int, device: str) -> dict:
    """bf16 autocast against float32, with float32 at another seed as the noise scale."""
    size = ladder["sizes"][0]
    seqs_tokens = {}
    for label, dt, seed in (("bfloat16", "bfloat16", 0), ("float32", "float32", 0), ("float32_seed1", "float32", 1)):
        s = one_run(ladder, size, steps, device, dt, text=True, seed=seed)
        seqs_tokens[label] = float(s["curve"]["train_loss"].tail(3).mean())
    noise = abs(seqs_tokens["float32"] - seqs_tokens["float32_seed1"])
    diff = abs(seqs_tokens["bfloat16"] - seqs_tokens["float32"])
    return {"size": size["name"], "steps": steps, "final_train_loss": seqs_tokens, "bf16_minus_fp32": diff,
            "seed_noise": noise, "within_noise": bool(diff <= max(3 * noise, 0.02))}


_DRIVER = """
import json, sys
import numpy as np
sys.path.insert(0, {workflow!r})
from scalelaw.ladder import export, train
a = json.load(open({args!r}))
seqs = np.load(a["seqs"])
save = (lambda m, s: export.save_model(m, s, tokenizer_file=a["tokenizer"], out_dir=a["model_dir"], corpus="random"))
s, _ = train.train_run(run="resume", size=a["size"], tokens=a["tokens"], train_seqs=seqs[:-32], val_seqs=seqs[-32:],
                       vocab_size=a["vocab"], settings=a["settings"], checkpoint=a["checkpoint"], device=a["device"],
                       dtype=a["dtype"], threads=2, export=save if a["export"] else None)
json.dump({{"val_loss": s["val_loss"], "resumed": s["resumed_at_steps"]}}, open(a["result"], "w"))
"""


def check_resume(ladder: dict, steps: int, device: str, dtype: str, work: Path) -> dict:
    """SIGKILL a training run after its first checkpoint, resume it, and compare with an
    uninterrupted run of the same settings; the resumed run exports its model."""
    vocab, seq_len = int(ladder["vocab_size"]), int(ladder["seq_len"])
    size = ladder["sizes"][0]
    settings = {**ladder["train"], "checkpoint_every": max(1, steps // 4), "log_every": max(1, steps // 8),
                "eval_every": 0, "eval_tokens": seq_len * 32, "baselines": False, "compile": False}
    seqs, tok = text_seqs(steps * int(settings["batch_size"]) + 32, vocab, seq_len, work)
    np.save(work / "seqs.npy", seqs)
    results = {}
    for label, kill in (("uninterrupted", False), ("killed_and_resumed", True)):
        args = {"seqs": str(work / "seqs.npy"), "tokenizer": str(work / "tokenizer.json"), "size": size,
                "tokens": steps * int(settings["batch_size"]) * seq_len, "vocab": tok.get_vocab_size(),
                "settings": settings, "checkpoint": str(work / f"{label}.pt"), "device": device, "dtype": dtype,
                "model_dir": str(work / "model"), "export": kill, "result": str(work / f"{label}.json")}
        (work / f"{label}.args.json").write_text(json.dumps(args))
        script = _DRIVER.format(workflow=str(ROOT / "workflow"), args=str(work / f"{label}.args.json"))
        proc = subprocess.Popen([sys.executable, "-c", script])
        if kill:
            while proc.poll() is None and not Path(args["checkpoint"]).exists():
                time.sleep(0.05)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc = subprocess.Popen([sys.executable, "-c", script])
        if proc.wait() != 0:
            raise RuntimeError(f"resume check: the {label} run failed")
        results[label] = json.loads(Path(args["result"]).read_text())
    a, b = results["uninterrupted"]["val_loss"], results["killed_and_resumed"]["val_loss"]
    return {"size": size["name"], **results, "same_loss": bool(abs(a - b) <= 1e-3 * abs(a) + 1e-4),
            "model_dir": str(work / "model")}


def check_generate(model_dir: str, device: str) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lm = AutoModelForCausalLM.from_pretrained(model_dir).to(device)
    ids = tokenizer("document 3: w10 w73", return_tensors="pt")["input_ids"].to(device)
    sync(device)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = lm.generate(ids, max_new_tokens=32, do_sample=False, eos_token_id=tokenizer.eos_token_id,
                          pad_token_id=tokenizer.eos_token_id)
    sync(device)
    return {"device": str(lm.device), "new_tokens": int(out.shape[1] - ids.shape[1]),
            "seconds": time.perf_counter() - t0, "text": tokenizer.decode(out[0, ids.shape[1]:])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("check", choices=["all", "matmul", "sizes", "compile", "resume", "dtype", "generate"])
    ap.add_argument("--config", default=str(ROOT / "config" / "ladder-large.yaml"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--small", action="store_true", help="tiny sizes and few steps: a dry check of the script")
    ap.add_argument("--out", default="gpu_check")
    args = ap.parse_args()

    device = resolve_device(args.device, key="--device")
    ladder = SMALL if args.small else yaml.safe_load(Path(args.config).read_text())["ladder"]
    dtype = resolve_dtype(ladder.get("dtype", "auto") if not args.small else "auto", device, training=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"device": card_name(device), "dtype": dtype, "steps": args.steps, "bf16_peak_tflops":
              (bf16_peak(device) or 0) / 1e3 or None, "config": "small" if args.small else args.config}
    todo = ["matmul", "sizes", "compile", "resume", "dtype", "generate"] if args.check == "all" else [args.check]
    for check in todo:
        t0 = time.perf_counter()
        if check == "matmul":
            report["matmul"] = check_matmul(device, args.small)
        elif check == "sizes":
            report["sizes"] = check_sizes(ladder, args.steps, device, dtype,
                                          report.get("matmul") or check_matmul(device, args.small))
        elif check == "compile":
            report["compile"] = check_compile(ladder, args.steps, device, dtype)
        elif check == "resume":
            report["resume"] = check_resume(ladder, max(8, args.steps // 2), device, dtype,
                                            Path(tempfile.mkdtemp(dir=out)))
        elif check == "dtype":
            report["dtype_check"] = check_dtype(ladder, args.steps, device)
        elif check == "generate":
            model_dir = (report.get("resume") or {}).get("model_dir")
            if model_dir is None:
                report["resume"] = check_resume(ladder, max(8, args.steps // 2), device, dtype,
                                                Path(tempfile.mkdtemp(dir=out)))
                model_dir = report["resume"]["model_dir"]
            report["generate"] = check_generate(model_dir, device)
        report.setdefault("seconds", {})[check] = round(time.perf_counter() - t0, 1)
        print(f"{check}: {json.dumps(report.get(check if check != 'dtype' else 'dtype_check'), default=str)}",
              flush=True)
        (out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
