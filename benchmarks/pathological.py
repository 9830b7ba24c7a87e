"""Peak memory of the extraction jobs on pathological input, against their declared mem_mb.

Usage:

    .venv/bin/python benchmarks/pathological.py            # 50 MB document and corpus x10 (about 3 minutes)
    .venv/bin/python benchmarks/pathological.py --mb 10    # a smaller run-on document

Cases:
- "run-on": a files corpus of one document of ``--mb`` megabytes with no sentence
  terminator (one phrase repeated, as in the issue that found a 7.8 GB tokenize job)
  beside five normal documents;
- "x10": the default corpus ten times over, in the default 2 shards.

Every job (the pipeline's own rule scripts: corpus, tokenize, lengths) runs in a fresh
process through benchmarks/job.py; its peak resident set (ru_maxrss, imports included)
is compared with the mem_mb the rule declares for a first attempt (2,000). Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    SCRIPTS, canonical, default_documents, extraction_steps, load_config, log, machine, repeated_documents, run_job,
)

DECLARED_MEM_MB = 2000  # resources.mem_mb of corpus, tokenize and lengths on a first attempt
PHRASE = "and then it went on "


def run_on_corpus(scratch: Path, megabytes: int) -> Path:
    folder = scratch / "runon-files"
    folder.mkdir(parents=True, exist_ok=True)
    repeats = megabytes * 1_000_000 // len(PHRASE)
    (folder / "runon.txt").write_text(PHRASE * repeats)
    for i in range(5):
        (folder / f"normal{i}.txt").write_text("A normal document. It has a few sentences. " * (20 + i))
    return folder


def measure(scratch: Path, megabytes: int) -> list[dict]:
    config = load_config()
    rows = []
    # run-on document: corpus, tokenize, lengths
    folder = run_on_corpus(scratch, megabytes)
    out = scratch / "runon"
    spec = canonical({"source": "files", "format": "text", "paths": [str(folder / "*.txt")],
                      "min_words": 0, "seed": 0, "strip_pattern": None, "strip_timeout": 10})
    documents = out / "documents.parquet"
    corpus_step = {
        "rule": "corpus", "script": str(SCRIPTS / "corpus.py"),
        "output": {"documents": str(documents), "quality": str(out / "corpus_quality.json")},
        "params": {"spec": spec}, "wildcards": {"corpus": "runon"}, "log": str(out / "logs" / "corpus.log"),
    }
    steps = [corpus_step] + extraction_steps(documents, out, "runon", "000of001", config)
    for step in steps:
        result = run_job({"mode": "scripts", "steps": [step]}, timeout=1800)
        rows.append({"case": f"run-on {megabytes} MB", "job": step["rule"], **result})
        log(f"run-on {step['rule']}: {result['seconds']:.1f} s, peak {result['max_rss_mb']:.0f} MB")
    # corpus x10 in the default 2 shards
    x10 = repeated_documents(default_documents(scratch), 10, scratch / "x10" / "documents.parquet",
                             pipeline_file=True)
    for shard in ("000of002", "001of002"):
        for step in extraction_steps(x10, scratch / "x10", "sotu", shard, config):
            result = run_job({"mode": "scripts", "steps": [step]}, timeout=1800)
            rows.append({"case": "default corpus x10", "job": f"{step['rule']} {shard}", **result})
            log(f"x10 {step['rule']} {shard}: {result['seconds']:.1f} s, peak {result['max_rss_mb']:.0f} MB")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=50, help="size of the run-on document in megabytes")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scalelaw-patho-") as tmp:
        rows = measure(Path(tmp), args.mb)
        status = json.loads((Path(tmp) / "runon" / "corpus_quality.json").read_text())
    print(json.dumps(machine()))
    print("| case | job | seconds | peak RSS (MB) | declared mem_mb | within |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        within = "yes" if row["max_rss_mb"] <= DECLARED_MEM_MB else "NO"
        print(f"| {row['case']} | {row['job']} | {row['seconds']:.1f} | {row['max_rss_mb']:.0f} | "
              f"{DECLARED_MEM_MB} | {within} |")
    print(f"run-on corpus quality: {status}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(row["max_rss_mb"] <= DECLARED_MEM_MB for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
