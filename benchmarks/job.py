"""One measured job in a fresh process; prints one JSON line with its time and memory.

Usage (from benchmarks/run.py, not by hand):

    python benchmarks/job.py '<json spec>'

spec["mode"]:
- "scripts": run the pipeline's own rule scripts (workflow/scripts/*.py) one after the
  other, each with a stand-in ``snakemake`` object carrying input, output, params,
  wildcards, log and threads, exactly as Snakemake hands them to a ``script:`` job;
- "raw": the baseline of figure 1: the same tokenizer and segmenter called directly in
  a plain loop over texts already in memory;
- "fixed": what a tokenize or lengths job holds before it reads any document (its
  imports, the tokenizer or the segmenter's model), for figure 4's notes.

spec["preimport"]: import the heavy libraries before the clock starts (figure 1 compares
per-document work, not interpreter start-up); without it, imports count, as they do in
a real job (figure 4 measures a job's whole peak RSS).

The result: seconds (wall), cpu_seconds (user + system of this process), max_rss_mb
(ru_maxrss: the peak resident set of the whole process, imports included), rss_start_mb
(resident set when the clock started), text_mb (UTF-8 megabytes of text processed, raw mode).
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The workflow puts workflow/ on PYTHONPATH for its jobs (common.smk); do the same.
sys.path.insert(0, str(ROOT / "workflow"))


class Named(list):
    """A list whose items also have names, like Snakemake's Namedlist."""

    def __init__(self, named: dict | None = None, items: list | None = None):
        named = named or {}
        super().__init__(list(items or []) + list(named.values()))
        for key, value in named.items():
            setattr(self, key, value)


def _stub(step: dict):
    class Snakemake:
        pass

    sm = Snakemake()
    sm.input = Named(step.get("input"))
    sm.output = Named(step.get("output"))
    sm.params = Named(step.get("params"))
    sm.wildcards = Named(step.get("wildcards"))
    sm.log = Named(items=[step["log"]])
    sm.threads = step.get("threads", 1)
    sm.resources = Named({"mem_mb": 2000})
    sm.config = {}
    sm.rule = step.get("rule", "")
    return sm


def _preimport() -> None:
    import nupunkt  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    from transformers import GPT2TokenizerFast  # noqa: F401  (resolves the lazy module)

    from scalelaw import corpus, io, lengths, logs, tokenize  # noqa: F401


def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _run_scripts(spec: dict) -> dict:
    for step in spec["steps"]:
        Path(step["log"]).parent.mkdir(parents=True, exist_ok=True)
        for path in step.get("output", {}).values():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        runpy.run_path(step["script"], init_globals={"snakemake": _stub(step)}, run_name="__main__")
    return {}


def _run_raw(spec: dict, texts: list[str]) -> dict:
    import nupunkt

    from scalelaw.tokenize import load_tokenizer

    tokenizer = load_tokenizer("bundled:gpt2")
    encoded = tokenizer(texts, return_offsets_mapping=True)
    spans = [nupunkt.sent_spans(text) for text in texts]
    return {"tokens": sum(len(o) for o in encoded["offset_mapping"]), "sentences": sum(len(s) for s in spans)}


def _run_fixed(spec: dict) -> dict:
    from scalelaw import corpus, io, logs  # noqa: F401

    if spec["rule"] == "tokenize":
        from scalelaw import tokenize

        tokenize.tokenizer_fingerprint(tokenize.load_tokenizer("bundled:gpt2"))
    else:
        from scalelaw import lengths

        lengths.segment("A first sentence. A second one.")
    return {}


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("preimport"):
        _preimport()
    texts = None
    if spec["mode"] == "raw":
        import pandas as pd

        texts = pd.read_parquet(spec["documents"], columns=["text"])["text"].tolist()
    stdout = sys.stdout
    rss_start = _rss_mb()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if spec["mode"] == "scripts":
        extra = _run_scripts(spec)
    elif spec["mode"] == "raw":
        extra = _run_raw(spec, texts)
    elif spec["mode"] == "fixed":
        extra = _run_fixed(spec)
    else:
        raise SystemExit(f"unknown mode {spec['mode']!r}")
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "seconds": seconds,
        "cpu_seconds": (usage.ru_utime - usage0.ru_utime) + (usage.ru_stime - usage0.ru_stime),
        "max_rss_mb": usage.ru_maxrss / 1024,
        "rss_start_mb": rss_start,
        **extra,
    }
    if texts is not None:
        result["text_mb"] = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    stdout.write("BENCH-RESULT " + json.dumps(result) + "\n")
    stdout.flush()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
