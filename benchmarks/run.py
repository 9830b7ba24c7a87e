#!/usr/bin/env python
"""Benchmarks of the scalelaw pipeline: one command, a table of figures.

    .venv/bin/python benchmarks/run.py                  # all five (5 to 6 minutes on 2 idle cores)
    .venv/bin/python benchmarks/run.py --quick          # smaller inputs (under 3 minutes)
    .venv/bin/python benchmarks/run.py --only fitting   # one (or several: --only memory,rerun)

Every figure is a ratio against a baseline measured side by side in the same run, so
that a busy or slow machine moves both. Snakemake runs happen in scratch directories
under the system temp folder (removed afterwards unless --keep). Not part of the test
suite. See benchmarks/README.md for what each figure measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Figure, clean, loadavg, log, machine, slurm_stub  # noqa: E402
from figures import BENCHMARKS, Context  # noqa: E402

# parallel before rerun: figure 3b reruns figure 2's finished --cores 2 run
ORDER = ["throughput", "parallel", "rerun", "memory", "fitting"]


def table(figures: list[Figure], markdown: bool) -> str:
    header = ["#", "figure", "measured", "baseline", "ratio", "target", "result"]
    rows = [[f.key, f.name, f.measured, f.baseline, f"{f.ratio:.2f}", f.target, f.verdict] for f in figures]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller inputs and fewer repeats (under 3 minutes)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(ORDER)}")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", type=Path, help="also write every figure with its raw data to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--scratch", type=Path, help="scratch directory (default: a new one under the temp folder)")
    parser.add_argument("--slurm-as-is", action="store_true",
                        help="do not shadow a hanging `scontrol` during Snakemake runs (see common.slurm_stub)")
    args = parser.parse_args(argv)

    only = [name.strip() for name in args.only.split(",") if name.strip()] or ORDER
    unknown = sorted(set(only) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="scalelaw-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    ctx = Context(scratch=scratch, quick=args.quick, keep=args.keep)

    info = machine()
    info["load average at start"] = f"{loadavg():.2f}"
    log(f"scratch: {scratch}")
    if not args.slurm_as_is and {"parallel", "rerun"} & set(only):
        stub = slurm_stub(scratch)
        if stub:
            info["slurm"] = stub
            log(stub)
    figures: list[Figure] = []
    failed: list[str] = []
    started = time.perf_counter()
    for name in [n for n in ORDER if n in only]:
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            figures.extend(BENCHMARKS[name](ctx))
        except Exception as err:  # report the others even when one fails
            failed.append(f"{name}: {type(err).__name__}: {err}")
            log(f"{name} FAILED: {err}")
        log(f"{name} done in {time.perf_counter() - t0:.0f} s")
    info["load average at end"] = f"{loadavg():.2f}"
    info["benchmark wall time"] = f"{time.perf_counter() - started:.0f} s" + (" (--quick)" if args.quick else "")

    print()
    for key, value in info.items():
        print(f"{key}: {value}")
    print()
    print(table(figures, args.markdown))
    print()
    for f in figures:
        for note in f.notes:
            print(f"[{f.key}] {note}")
    for failure in failed:
        print(f"FAILED {failure}")
    if args.json:
        args.json.write_text(json.dumps(
            {"machine": info, "quick": args.quick, "failed": failed,
             "figures": [{**vars(f), "verdict": f.verdict} for f in figures]},
            indent=2, default=str,
        ))
    clean(scratch, args.keep or args.scratch is not None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
