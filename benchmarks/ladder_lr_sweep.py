#!/usr/bin/env python
"""The learning-rate sweep behind a ladder's lr rule: chosen sizes of a ladder config,
each trained at one token budget for several peak learning rates by the pipeline's own
train_run, on the ladder data of a finished run; prints the validation loss of each and
the best lr per size (the vertex of a parabola through the three points around the
lowest loss, in log lr), and the exponent of lr_best ∝ N^(-k) between the sizes.

    .venv/bin/python benchmarks/ladder_lr_sweep.py --config config/ladder-cpu.yaml \\
        --data results/sotu/ladder/data --sizes d48l2,d96l3 --tokens 900000 \\
        --lrs d48l2=0.0016,0.0027,0.0038,0.0054,0.0108 --lrs d96l3=0.001,0.002,0.0064

Each run uses one thread; --jobs 2 trains two at a time. docs/methods/ladder.md records
the sweep that set config/ladder-cpu.yaml's rule (about 6 minutes on 2 idle cores).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from scalelaw.ladder import train  # noqa: E402


def one_run(size: dict, lr: float, tokens: int, settings: dict, data: str) -> dict:
    train_seqs = np.load(f"{data}/train.npy", mmap_mode="r")
    val_seqs = np.load(f"{data}/val.npy", mmap_mode="r")
    vocab = int(json.loads(Path(f"{data}/data.json").read_text())["vocab_size"])
    with tempfile.TemporaryDirectory() as tmp:
        summary, _ = train.train_run(run=f"{size['name']}_lr{lr:g}", size={**size, "lr": lr}, tokens=tokens,
                                     train_seqs=train_seqs, val_seqs=val_seqs, vocab_size=vocab,
                                     settings=settings, checkpoint=f"{tmp}/ckpt.pt", device="cpu", threads=1)
    return {k: summary[k] for k in ("size", "params_total", "lr", "steps", "batch_size", "val_loss",
                                    "bigram_val_loss", "tokens_per_s")}


def best_lr(rows: list[dict]) -> float:
    """Vertex of the parabola through the lowest loss and its two neighbours in log lr; NaN
    when the lowest loss is at an end of the sweep (the optimum is outside it)."""
    rows = sorted(rows, key=lambda r: r["lr"])
    i = int(np.argmin([r["val_loss"] for r in rows]))
    if i in (0, len(rows) - 1):
        return math.nan
    x = np.log([rows[j]["lr"] for j in (i - 1, i, i + 1)])
    c2, c1, _ = np.polyfit(x, [rows[j]["val_loss"] for j in (i - 1, i, i + 1)], 2)
    return float(np.exp(-c1 / (2 * c2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config" / "ladder-cpu.yaml"))
    ap.add_argument("--data", required=True, help="a run's ladder data folder (train.npy, val.npy, data.json)")
    ap.add_argument("--sizes", required=True, help="comma-separated size names of the config")
    ap.add_argument("--tokens", type=int, required=True)
    ap.add_argument("--lrs", action="append", required=True, help="SIZE=lr1,lr2,... (repeat per size)")
    ap.add_argument("--batch-size", type=int, default=None, help="default: the config's train.batch_size")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    ladder = yaml.safe_load(Path(args.config).read_text())["ladder"]
    settings = {**ladder["train"], "checkpoint_every": 10**9}
    if args.batch_size:
        settings["batch_size"] = args.batch_size
    sizes = {s["name"]: s for s in ladder["sizes"]}
    lrs = {k: [float(v) for v in vals.split(",")] for k, vals in (a.split("=", 1) for a in args.lrs)}
    wanted = args.sizes.split(",")
    unknown = [s for s in wanted + list(lrs) if s not in sizes]
    if unknown:
        sys.exit(f"ladder_lr_sweep: size(s) {unknown} not in {args.config} (sizes: {', '.join(sizes)})")
    jobs = [(sizes[s], lr) for s in wanted for lr in lrs.get(s, [])]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(one_run, *zip(*[(sz, lr, args.tokens, settings, args.data) for sz, lr in jobs])))

    print("| size | N total | batch | steps | peak lr | val loss | KN bigram | tokens/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']} | {r['params_total']:,} | {r['batch_size']} | {r['steps']} | {r['lr']:.4g} | "
              f"{r['val_loss']:.3f} | {r['bigram_val_loss']:.3f} | {r['tokens_per_s']:,.0f} |")
    best = {s: best_lr([r for r in rows if r["size"] == s]) for s in wanted}
    n = {r["size"]: r["params_total"] for r in rows}
    for s, lr in best.items():
        print(f"best lr of {s} (N {n[s]:,}): " + (f"{lr:.4g}" if math.isfinite(lr) else "at an end of the sweep: widen it"))
    ok = [s for s in wanted if math.isfinite(best[s])]
    if len(ok) >= 2:
        k = -np.polyfit(np.log([n[s] for s in ok]), np.log([best[s] for s in ok]), 1)[0]
        print(f"lr_best ∝ N^(-{k:.2f}) over {', '.join(ok)}")


if __name__ == "__main__":
    main()
