#!/usr/bin/env python
"""Ladder benchmarks, each measured side by side in one process:

1. training tokens/s of the largest default ladder model as a fraction of its matmul limit
   (6 N FLOPs per token against the float32 GFLOP/s of a 1024 x 1024 matmul measured in the
   same process just before and just after training): target at least 40 %;
2. the L(N, D) fit on the Chinchilla data (law chinchilla of scalelaw.fitting.laws)
   against the published Epoch AI recipe (L-BFGS-B with finite differences from a grid of
   4,500 starts): target at least 20x faster with the same parameters to 3 significant digits.

    .venv/bin/python benchmarks/ladder.py                 # full recipe: about 6-10 min on 2 idle cores
    .venv/bin/python benchmarks/ladder.py --recipe-starts 450   # a seeded tenth of the grid, time x 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from scalelaw.fitting import power_sums  # noqa: E402
from scalelaw.fitting.laws import get_law  # noqa: E402
from scalelaw.device import matmul_gflops  # noqa: E402
from scalelaw.ladder import model, tables, train  # noqa: E402


def training_throughput(steps: int, threads: int) -> dict:
    """The largest default model trained for ``steps`` steps on random tokens (throughput does
    not depend on the text) by the pipeline's own train_run."""
    ladder = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["ladder"]
    vocab, seq_len = int(ladder["vocab_size"]), int(ladder["seq_len"])
    size = max(ladder["sizes"], key=lambda s: model.parameter_counts(s, vocab)["params_total"])
    settings = dict(ladder["train"])
    settings["checkpoint_every"] = 10**9
    batch = int(settings["batch_size"])
    seqs = np.random.default_rng(0).integers(1, vocab, (steps * batch + 64, seq_len)).astype(np.uint16)
    import torch

    torch.set_num_threads(threads)
    before = matmul_gflops("cpu", "float32", min_seconds=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        summary, _ = train.train_run(run="bench", size=size, tokens=steps * batch * seq_len, train_seqs=seqs[:-64],
                                     val_seqs=seqs[-64:], vocab_size=vocab, settings=settings,
                                     checkpoint=os.path.join(tmp, "c.pt"), device="cpu", dtype="float32",
                                     threads=threads)
    after = matmul_gflops("cpu", "float32", min_seconds=1.0)
    limit = (before + after) / 2
    return {"size": size["name"], "params_total": summary["params_total"], "threads": threads,
            "tokens_per_s": summary["tokens_per_s"], "achieved_gflops": summary["achieved_gflops"],
            "matmul_gflops_before_after": [before, after], "fraction": summary["achieved_gflops"] / limit,
            "target": 0.40}


def fit_speed(recipe_starts: int | None) -> dict:
    spec = {"columns": {"N": "`Model Size`", "D": "`Training FLOP` / (6 * `Model Size`)"},
            "x": ["N", "D"], "y": "loss", "drop_highest": 5}
    points, _ = tables.prepare(*tables.read_table(ROOT / "data" / "chinchilla" / "svg_extracted_data.csv")[:1], spec)
    x, y = points[["N", "D"]].to_numpy(), points["loss"].to_numpy()
    t0 = time.perf_counter()
    fast = get_law("chinchilla").fit(x, y, loss="huber", f_scale=1e-3)
    fast_s = time.perf_counter() - t0
    grid = power_sums.published_start_grid()
    scale = 1.0
    if recipe_starts and recipe_starts < len(grid):
        grid = grid[np.random.default_rng(0).choice(len(grid), recipe_starts, replace=False)]
        scale = 4500 / recipe_starts
    t0 = time.perf_counter()
    slow, slow_obj = power_sums.published_recipe_fit(x, y, starts=grid)
    slow_s = (time.perf_counter() - t0) * scale
    names = ["E", "A", "B", "alpha", "beta"]
    same = all(float(f"{fast[n].estimate:.3g}") == float(f"{v:.3g}") for n, v in zip(names, slow))
    return {"fast_seconds": fast_s, "recipe_seconds": slow_s, "recipe_starts": len(grid),
            "recipe_time_extrapolated_x": scale, "speedup": slow_s / fast_s, "target_speedup": 20,
            "fast": {n: fast[n].estimate for n in names}, "recipe": dict(zip(names, map(float, slow))),
            "objective_fast": fast.diagnostics["objective"], "objective_recipe": slow_obj,
            "same_to_3_significant_digits": same}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40, help="training steps timed")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: ladder.threads of config/config.yaml)")
    ap.add_argument("--recipe-starts", type=int, default=None, help="a seeded subset of the 4,500 starts (time scaled up)")
    ap.add_argument("--only", choices=["training", "fit"], default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    out = {"loadavg": os.getloadavg(), "nproc": os.cpu_count()}
    if args.only in (None, "training"):
        threads = args.threads or int(yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["ladder"]["threads"])
        out["training"] = training_throughput(args.steps, threads)
        t = out["training"]
        print(f"training {t['size']} ({t['params_total']:,} params): {t['tokens_per_s']:,.0f} tokens/s = "
              f"{t['achieved_gflops']:.1f} GFLOP/s = {100 * t['fraction']:.0f}% of the matmul limit "
              f"({np.mean(t['matmul_gflops_before_after']):.0f} GFLOP/s); target 40%: "
              f"{'pass' if t['fraction'] >= 0.4 else 'MISS'}")
    if args.only in (None, "fit"):
        out["fit"] = f = fit_speed(args.recipe_starts)
        print(f"L(N, D) on Chinchilla: fast {f['fast_seconds']:.2f} s, published recipe {f['recipe_seconds']:.0f} s "
              f"({f['recipe_starts']} starts{', time scaled to 4,500' if f['recipe_time_extrapolated_x'] > 1 else ''}): "
              f"{f['speedup']:.0f}x; same to 3 significant digits: {f['same_to_3_significant_digits']}; target 20x: "
              f"{'pass' if f['speedup'] >= 20 and f['same_to_3_significant_digits'] else 'MISS'}")
        print("  fast  ", {k: f"{v:.4g}" for k, v in f["fast"].items()})
        print("  recipe", {k: f"{v:.4g}" for k, v in f["recipe"].items()})
    print(f"load average {out['loadavg']} on {out['nproc']} cores")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
