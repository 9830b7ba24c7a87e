"""Shared pieces of the benchmarks: the result record, the machine, subprocess jobs,
Snakemake runs in scratch directories, and the corpora they run on."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "workflow"
SCRIPTS = WORKFLOW / "scripts"
PYTHON = sys.executable
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
JOB = Path(__file__).resolve().with_name("job.py")

sys.path.insert(0, str(WORKFLOW))
from scalelaw.config import canonical  # noqa: E402  (the rules' params, exactly)


@dataclass
class Figure:
    """One row of the final table."""

    key: str
    name: str
    measured: str
    baseline: str
    ratio: float
    target: str
    passed: bool | None  # None: context only, no target
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "-" if self.passed is None else ("pass" if self.passed else "MISS")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> float:
    return os.getloadavg()[0]


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cores (nproc)": os.cpu_count()}
    try:
        info["cores (nproc)"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        pass
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    info["cpu"] = model.group(1).strip() if model else platform.processor() or "unknown"
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    info["memory"] = f"{int(total.group(1)) / 1024**2:.1f} GiB" if total else "unknown"
    info["os"] = f"{platform.system()} {platform.release()}"
    info["python"] = platform.python_version()
    versions = []
    for name in ("snakemake", "numpy", "scipy", "statsmodels", "pandas", "pyarrow", "tokenizers",
                 "transformers", "nupunkt"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    info["packages"] = ", ".join(versions)
    return info


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> float:
    """(max - min) / median: how disturbed repeated measurements were."""
    return (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else 0.0


# --------------------------------------------------------------------------------------
# Jobs in fresh processes
# --------------------------------------------------------------------------------------


# A folder put first on PATH for Snakemake runs when `scontrol` hangs (see slurm_stub).
STUB_PATH: list[str] = []


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of every measured process: offline, one tokenizer thread (the
    pipeline's tokenize and lengths jobs declare threads: 1), workflow/ importable."""
    env = dict(os.environ)
    if STUB_PATH:
        env["PATH"] = os.pathsep.join([*STUB_PATH, env.get("PATH", "")])
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        RAYON_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=os.pathsep.join(p for p in [str(WORKFLOW), env.get("PYTHONPATH", "")] if p),
    )
    env.update(extra)
    return env


def run_job(spec: dict[str, Any], env: dict[str, str] | None = None, timeout: int = 900) -> dict[str, Any]:
    proc = subprocess.run(
        [PYTHON, str(JOB), json.dumps(spec)], capture_output=True, text=True,
        env=env or bench_env(), timeout=timeout, cwd=spec.get("cwd"),
    )
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    logs = [Path(step["log"]) for step in spec.get("steps", [])]
    tails = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise RuntimeError(
        f"benchmark job failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}\n{tails}"
    )


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """config/config.yaml with schema defaults filled in, as the workflow sees it."""
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for key, value in (overrides or {}).items():
        config[key] = value
    chatter = io.StringIO()  # validate() notes the JSON Schema draft it falls back to
    with contextlib.redirect_stderr(chatter), contextlib.redirect_stdout(chatter):
        validate(config, str(WORKFLOW / "schemas" / "config.schema.yaml"))
    return config


def shard_names(n: int) -> list[str]:
    return [f"{i:03d}of{n:03d}" for i in range(n)]


def extraction_steps(documents: Path, out: Path, corpus: str, shard: str, config: dict) -> list[dict]:
    """The tokenize and lengths jobs of one shard, as Snakemake would hand them over."""
    tokens = out / "tokens" / f"{shard}.parquet"
    wildcards = {"corpus": corpus, "shard": shard}
    index_and_total = [int(x) for x in shard.split("of")]  # as common.smk's shard_index
    return [
        {
            "rule": "tokenize",
            "script": str(SCRIPTS / "tokenize.py"),
            "input": {"documents": str(documents)},
            "output": {"tokens": str(tokens)},
            "params": {"tokenizer": canonical(config["tokenizer"]), "shard": index_and_total},
            "wildcards": wildcards,
            "log": str(out / "logs" / f"tokenize-{shard}.log"),
        },
        {
            "rule": "lengths",
            "script": str(SCRIPTS / "lengths.py"),
            "input": {"documents": str(documents), "tokens": str(tokens)},
            "output": {
                "sentences": str(out / "lengths" / shard / "sentences.parquet"),
                "doc_lengths": str(out / "lengths" / shard / "doc_lengths.parquet"),
            },
            "params": {"lengths": canonical(config["lengths"]), "shard": index_and_total},
            "wildcards": wildcards,
            "log": str(out / "logs" / f"lengths-{shard}.log"),
        },
    ]


# --------------------------------------------------------------------------------------
# Corpora
# --------------------------------------------------------------------------------------


def default_documents(scratch: Path) -> Path:
    """documents.parquet of the default corpus, written by the pipeline's own corpus
    script (scripts/corpus.py) with the default config's sotu spec."""
    out = scratch / "sotu-default"
    documents = out / "documents.parquet"
    if documents.exists():
        return documents
    config = load_config()
    spec = canonical({k: v for k, v in config["corpora"]["sotu"].items() if k != "shards"})
    run_job(
        {
            "mode": "scripts",
            "steps": [{
                "rule": "corpus",
                "script": str(SCRIPTS / "corpus.py"),
                "output": {"documents": str(documents), "quality": str(out / "corpus_quality.json")},
                "params": {"spec": spec},
                "wildcards": {"corpus": "sotu"},
                "log": str(out / "logs" / "corpus.log"),
            }],
        },
        env=bench_env(HF_DATASETS_CACHE=str(scratch / "hf-datasets")),
    )
    return documents


def repeated_documents(documents: Path, copies: int, dest: Path, *, pipeline_file: bool) -> Path:
    """The corpus ``copies`` times over, each copy's doc_id suffixed (#1, #2, ...).

    ``pipeline_file``: write it as the corpus rule writes documents.parquet (provenance,
    row groups of 256 documents), for running extraction jobs on it directly; otherwise
    a plain Parquet file (doc_id, text) for a ``source: files, format: parquet`` corpus.
    """
    import pandas as pd

    from scalelaw import io

    docs = pd.read_parquet(documents)
    keep = ["doc_id", "text"] if not pipeline_file else list(docs.columns)
    frame = pd.concat(
        [docs[keep].assign(doc_id=docs["doc_id"] + ("" if i == 0 else f"#{i}")) for i in range(copies)],
        ignore_index=True,
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    if pipeline_file:
        record = io.provenance("corpus", corpus="sotu", source="benchmark", fingerprint=f"sotu x{copies}")
        io.write_parquet(frame, dest, record, row_group_size=256)
    else:
        frame.to_parquet(dest, index=False)
    return dest


# --------------------------------------------------------------------------------------
# Snakemake in scratch directories
# --------------------------------------------------------------------------------------


@dataclass
class SnakemakeRun:
    seconds: float
    cpu_seconds: float
    jobs: dict[str, int]
    load_before: float
    load_after: float


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def snakemake(workdir: Path, configfile: Path, cores: int, timeout: int = 1800, *extra: str) -> SnakemakeRun:
    """Run the workflow as a user would, in ``workdir``; wall time of the whole command.
    ``extra`` arguments are appended (``-n`` for a dry run)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--configfile", str(configfile),
           "--cores", str(cores), *extra]
    env = bench_env(HF_DATASETS_CACHE=str(workdir / ".hf-datasets"))
    env.pop("RAYON_NUM_THREADS")  # the rule scripts set it from their threads
    load_before = loadavg()
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    seconds = time.perf_counter() - t0
    after = os.times()
    text = proc.stdout + proc.stderr
    n_run = len(list(workdir.glob("snakemake-*.out")))
    (workdir / f"snakemake-{n_run}.out").write_text(text)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake --cores {cores} in {workdir} failed ({proc.returncode}):\n{text[-5000:]}")
    return SnakemakeRun(
        seconds=seconds,
        cpu_seconds=(after.children_user - before.children_user) + (after.children_system - before.children_system),
        jobs=_job_stats(text),
        load_before=load_before,
        load_after=loadavg(),
    )


def _job_stats(text: str) -> dict[str, int]:
    """Rule -> jobs, from the 'Job stats' table Snakemake prints before running."""
    jobs: dict[str, int] = {}
    block = text.split("Job stats:", 1)
    if len(block) < 2:
        return jobs
    for line in block[1].splitlines()[3:]:
        match = re.match(r"^\s*([A-Za-z_]\w*)\s+(\d+)\s*$", line)
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def job_times(workdir: Path) -> dict[str, list[tuple[float, float]]]:
    """Rule -> [(start, end)] of each job's latest run, from Snakemake's metadata
    records (one per output file; a job's outputs share its log file)."""
    jobs: dict[tuple[str, tuple[str, ...]], tuple[float, float]] = {}
    for record in (workdir / ".snakemake" / "metadata").glob("*"):
        try:
            base64.b64decode(record.name)
            data = json.loads(record.read_text())
        except (ValueError, OSError):
            continue
        if not (data.get("starttime") and data.get("endtime") and data.get("rule")):
            continue
        key = (data["rule"], tuple(data.get("log") or [record.name]))
        start, end = float(data["starttime"]), float(data["endtime"])
        if key in jobs:
            start, end = min(start, jobs[key][0]), max(end, jobs[key][1])
        jobs[key] = (start, end)
    spans: dict[str, list[tuple[float, float]]] = {}
    for (rule, _), span in jobs.items():
        spans.setdefault(rule, []).append(span)
    return {rule: sorted(times) for rule, times in spans.items()}


def phase_seconds(times: dict[str, list[tuple[float, float]]], rules: tuple[str, ...]) -> float:
    """Wall time from the first start to the last end of the given rules' jobs."""
    spans = [span for rule in rules for span in times.get(rule, [])]
    return max(e for _, e in spans) - min(s for s, _ in spans) if spans else float("nan")


def slurm_stub(scratch: Path, probe_seconds: float = 3.0) -> str | None:
    """Keep a hung `scontrol` out of the Snakemake timings.

    The SLURM executor plugin runs `scontrol show config` whenever `snakemake` starts
    (to word its --help), with a 10 s timeout. Where a SLURM client is installed but no
    controller answers (as on machines that start a test cluster only for the cluster
    tests), every snakemake command then waits those 10 s. If that is so here, a stub
    `scontrol` that fails at once is put first on PATH for the measured runs; returns a
    line saying so (None when scontrol answers or is absent).
    """
    if shutil.which("scontrol") is None:
        return None
    try:
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=probe_seconds)
        return None
    except subprocess.TimeoutExpired:
        pass
    stub = scratch / "stub-bin"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "scontrol").write_text("#!/bin/sh\nexit 1\n")
    (stub / "scontrol").chmod(0o755)
    STUB_PATH[:] = [str(stub)]
    return (f"`scontrol show config` gave no answer in {probe_seconds:g} s (a SLURM client without a "
            "running controller): each snakemake command would wait 10 s for it in the SLURM executor "
            "plugin's start-up; a stub scontrol keeps that out of figures 2-3 (--slurm-as-is to include it)")


def busy_calibration(seconds: float = 1.5) -> float:
    """How many cores this machine gives us right now: the work two processes get done
    in the time one does it (2.0 on two idle cores; less when others are busy)."""
    code = (
        "import time,sys\n"
        "t=time.perf_counter(); n=0\n"
        f"while time.perf_counter()-t<{seconds}:\n"
        "    for _ in range(10000): n+=1\n"
        "print(n)\n"
    )
    one = int(subprocess.run([PYTHON, "-c", code], capture_output=True, text=True).stdout)
    procs = [subprocess.Popen([PYTHON, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    two = sum(int(p.communicate()[0]) for p in procs)
    return two / one


def clean(path: Path, keep: bool) -> None:
    if not keep:
        shutil.rmtree(path, ignore_errors=True)
