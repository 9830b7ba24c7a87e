#!/usr/bin/env python
"""What a ladder run costs on a GPU: each size of a ladder config trained for a few hundred
steps by the pipeline's own ``train_run`` (random tokens: throughput does not depend on the
text), as tokens/s and as a fraction of the GPU's matmul limit in the run's dtype, measured in
the same process; then the time each (size, budget) run of the config would take.

    python benchmarks/ladder_gpu.py --config config/ladder-large.yaml --steps 200

Needs torch with CUDA and transformers; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from scalelaw.device import matmul_gflops, resolve_device, resolve_dtype  # noqa: E402
from scalelaw.ladder import model, train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config" / "ladder-large.yaml"))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch

    ladder = yaml.safe_load(Path(args.config).read_text())["ladder"]
    device = resolve_device(args.device)
    dtype = resolve_dtype(ladder.get("dtype", "auto"), device, training=True)
    vocab, seq_len = int(ladder["vocab_size"]), int(ladder["seq_len"])
    settings = dict(ladder["train"], checkpoint_every=10**9, eval_every=10**9, eval_tokens=seq_len * 64)
    batch = int(settings["batch_size"])
    limit = matmul_gflops(device, dtype, n=8192 if device.startswith("cuda") else 1024, min_seconds=1.0)
    print(f"device {device} ({torch.cuda.get_device_name() if device.startswith('cuda') else 'cpu'}), "
          f"dtype {dtype}, matmul limit {limit / 1e3:.0f} TFLOP/s", flush=True)
    seqs = np.random.default_rng(0).integers(1, vocab, (args.steps * batch + 64, seq_len)).astype(np.uint16)
    rows = []
    for size in ladder["sizes"]:
        with tempfile.TemporaryDirectory() as tmp:
            summary, _ = train.train_run(
                run="bench", size=size, tokens=args.steps * batch * seq_len, train_seqs=seqs[:-64],
                val_seqs=seqs[-64:], vocab_size=vocab, settings=settings, checkpoint=os.path.join(tmp, "c.pt"),
                device=device, dtype=dtype, threads=int(ladder.get("threads", 4)),
            )
        n_total = model.parameter_counts(size, vocab)["params_total"]
        row = {
            "size": size["name"], "params_total": n_total, "tokens_per_s": round(summary["tokens_per_s"]),
            "achieved_tflops": summary["achieved_gflops"] / 1e3,
            "fraction_of_matmul_limit": summary["achieved_gflops"] / limit,
            "minutes_per_budget": {int(t): round(int(t) / summary["tokens_per_s"] / 60, 2) for t in ladder["tokens"]}
            if "tokens" in ladder else None,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "dtype": dtype, "matmul_limit_gflops": limit,
                                               "steps": args.steps, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
