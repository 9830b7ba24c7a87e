"""Cluster execution on a real SLURM cluster (`pytest -m cluster`).

Needs the one-node test cluster of `.ci/slurm-up.sh` (partition `debug`, account `root`,
accounting so that `sacct` works). Without a reachable cluster every test here is
skipped with the reason; set SCALELAW_REQUIRE_SLURM=1 (CI does, once slurm-up.sh has
succeeded) to make that a failure instead.

    .ci/slurm-up.sh && pytest -m cluster; .ci/slurm-down.sh

Each SLURM job costs 10 to 15 s (snakemake starts twice, status polling backs off), so
the workflows here are small: (a) and (b) run the project's test pipeline
(tests/config/test.yaml, 9 jobs); (c) and (d) run throw-away Snakefiles of two or three
jobs that test the executor's failure handling and cancellation.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "Snakefile"
TEST_CONFIG = ROOT / "tests" / "config" / "test.yaml"
SLURM_PROFILE = ROOT / "workflow" / "profiles" / "slurm"
GENERIC_PROFILE = ROOT / "workflow" / "profiles" / "cluster-generic"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

# Poll SLURM every 2 s rather than the profile's 20 s: the test cluster is ours alone.
FAST_SLURM = ["--slurm-init-seconds-before-status-checks", "2"]
FAST_GENERIC = ["--seconds-between-status-checks", "2"]
RUN_TIMEOUT = 900  # seconds, one whole pipeline run on the cluster

# Columns that legitimately differ between two runs of the same pipeline.
TIMING_COLUMN = re.compile(
    r"(^|_)(time|times|timestamp|elapsed|duration|seconds|secs|wall|walltime|runtime|"
    r"date|datetime|created|started|finished|host|hostname|pid)(_|$)"
    r"|_(s|sec|ms)$",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- helpers
def _sh(*cmd: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _profile_partition() -> str:
    conf = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    return str(conf["default-resources"]["slurm_partition"])


def _slurm_unreachable() -> str | None:
    """None when the test cluster answers, else why not."""
    for tool in ("sinfo", "squeue", "sbatch", "sacct", "scancel"):
        if shutil.which(tool) is None:
            return f"`{tool}` not found (SLURM client not installed)"
    partition = _profile_partition()
    try:
        states = _sh("sinfo", "-h", "-p", partition, "-o", "%T")
        if states.returncode != 0:
            return f"sinfo failed: {states.stderr.strip() or states.stdout.strip()}"
        usable = {"idle", "mixed", "allocated", "completing"}
        seen = {s.strip().rstrip("*~#$@") for s in states.stdout.split()}
        if not seen:
            return f"no node in partition {partition!r} (the profile's partition)"
        if not seen & usable:
            return f"no usable node in partition {partition!r}: {sorted(seen)}"
        acct = _sh("sacct", "-n", "-X", "-S", "now-1minutes")
        if acct.returncode != 0:
            return f"sacct does not work (no accounting): {acct.stderr.strip()}"
    except subprocess.TimeoutExpired as err:
        return f"SLURM does not answer: {' '.join(err.cmd)} timed out"
    return None


@pytest.fixture(scope="module")
def slurm() -> None:
    reason = _slurm_unreachable()
    if reason is None:
        return
    msg = f"SLURM cluster not reachable: {reason}. Start it with `.ci/slurm-up.sh`."
    if os.environ.get("SCALELAW_REQUIRE_SLURM") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def pipeline() -> None:
    missing = [str(p.relative_to(ROOT)) for p in (SNAKEFILE, TEST_CONFIG) if not p.exists()]
    if missing:
        pytest.fail(f"the pipeline is missing: {', '.join(missing)}")


def _env() -> dict[str, str]:
    # only the profiles given on the command line
    return {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}


def run_snakemake(workdir: Path, *args: str, snakefile: Path = SNAKEFILE,
                  timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Run snakemake from the repository root on `snakefile` in `workdir`."""
    cmd = [*SNAKEMAKE, "-s", str(snakefile), "-d", str(workdir), *args]
    return subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def _explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-8000:]}"


def run_pipeline(workdir: Path, *args: str) -> None:
    proc = run_snakemake(workdir, "--configfile", str(TEST_CONFIG), *args)
    assert proc.returncode == 0, _explain(proc)


def parquet_tables(workdir: Path) -> dict[str, Path]:
    """The Parquet files a run wrote, by path relative to its working directory."""
    skip = {".snakemake"}
    return {
        str(p.relative_to(workdir)): p
        for p in sorted(workdir.rglob("*.parquet"))
        if not skip & set(p.relative_to(workdir).parts) and not p.name.startswith(".")
    }


def _freeze(value):
    """list<...> cells come back as numpy arrays: compare them as (nested) tuples."""
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if hasattr(value, "__len__") and hasattr(value, "__iter__"):
        return tuple(_freeze(v) for v in value)
    return value


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    df = df.drop(columns=[c for c in df.columns if TIMING_COLUMN.search(str(c))])
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].map(_freeze)
    return df.reset_index(drop=True)


def assert_same_results(local: Path, cluster: Path) -> None:
    expected, got = parquet_tables(local), parquet_tables(cluster)
    assert expected, f"the local run wrote no Parquet table under {local}"
    assert sorted(got) == sorted(expected), "the runs wrote different tables"
    for name, path in expected.items():
        want = _comparable(pd.read_parquet(path))
        have = _comparable(pd.read_parquet(got[name]))
        try:
            pd.testing.assert_frame_equal(have, want, check_exact=False, rtol=1e-9,
                                          atol=1e-12)
        except AssertionError as err:
            raise AssertionError(f"{name} differs between local and cluster run: {err}")


def _slurm_jobids(text: str) -> list[str]:
    """Job ids of the slurm executor's submissions, from snakemake's log."""
    return re.findall(r"submitted with SLURM jobid (\d+)", text)


def _active(jobids: list[str]) -> dict[str, str]:
    """The ones of `jobids` that squeue still lists as pending/running, with state."""
    if not jobids:
        return {}
    out = _sh("squeue", "-h", "-o", "%i %T", "-j", ",".join(jobids)).stdout
    active = {}
    for line in out.splitlines():
        jid, state = line.split()
        if state in {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED"}:
            active[jid] = state
    return active


def _sacct_states(jobids: list[str]) -> dict[str, str]:
    out = _sh("sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(jobids)).stdout
    return {jid: state.split()[0] for jid, state in
            (line.split("|") for line in out.splitlines() if "|" in line)}


def _wait_for(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def local_run(slurm, pipeline, tmp_path_factory) -> Path:
    """The test pipeline run locally: the reference for the cluster runs."""
    workdir = tmp_path_factory.mktemp("local")
    run_pipeline(workdir, "--cores", "2")
    return workdir


# --------------------------------------------------------------------------- tests
def test_slurm_executor_matches_local_run(local_run, tmp_path):
    """(a) the test pipeline through --profile workflow/profiles/slurm (executor slurm)."""
    workdir = tmp_path / "slurm"
    run_pipeline(workdir, "--profile", str(SLURM_PROFILE.relative_to(ROOT)), *FAST_SLURM)
    logs = "\n".join(p.read_text() for p in (workdir / ".snakemake" / "log").glob("*.log"))
    jobids = _slurm_jobids(logs)
    assert jobids, "no job went through SLURM"
    states = _sacct_states(jobids)
    assert states and set(states.values()) == {"COMPLETED"}, states
    assert_same_results(local_run, workdir)


def test_generic_cluster_executor_matches_local_run(local_run, tmp_path):
    """(b) the test pipeline through the generic-cluster profile, i.e. `sbatch --parsable`."""
    workdir = tmp_path / "generic"
    run_pipeline(workdir, "--profile", str(GENERIC_PROFILE.relative_to(ROOT)), *FAST_GENERIC)
    logs = "\n".join(p.read_text() for p in (workdir / ".snakemake" / "log").glob("*.log"))
    jobids = re.findall(r"with external jobid '(\d+)'", logs)
    assert jobids, "no job went through sbatch"
    states = _sacct_states(jobids)
    assert states and set(states.values()) == {"COMPLETED"}, states
    assert_same_results(local_run, workdir)


FAILING_WORKFLOW = """
rule all:
    input: "ok_first.txt", "ok_second.txt", "after_bad.txt"

rule bad:
    output: "bad.txt"
    resources: mem_mb=200, runtime=2
    shell: "echo 'this rule fails on purpose' >&2; exit 3"

rule after_bad:
    input: "bad.txt"
    output: "after_bad.txt"
    resources: mem_mb=200, runtime=2
    shell: "touch {output}"

rule ok_first:
    output: "ok_first.txt"
    resources: mem_mb=200, runtime=2
    shell: "echo first > {output}"

rule ok_second:  # runs after ok_first, i.e. is submitted after `bad` has failed
    input: "ok_first.txt"
    output: "ok_second.txt"
    resources: mem_mb=200, runtime=2
    shell: "cat {input} > {output}; echo second >> {output}"
"""


def test_failing_rule_is_reported_and_keep_going_finishes_the_rest(slurm, tmp_path):
    """(c) one rule fails on SLURM: the failure is reported, --keep-going runs the rest."""
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(textwrap.dedent(FAILING_WORKFLOW))
    workdir = tmp_path / "work"
    proc = run_snakemake(workdir, "--profile", str(SLURM_PROFILE), *FAST_SLURM,
                         "--keep-going", snakefile=snakefile, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, "a failing rule must fail the run\n" + _explain(proc)
    assert re.search(r"Error in rule bad", out), _explain(proc)
    assert re.search(r"SLURM-job '\d+' failed", out), _explain(proc)
    # the independent jobs ran, the one that depends on the failed one did not
    assert (workdir / "ok_first.txt").read_text() == "first\n"
    assert (workdir / "ok_second.txt").read_text() == "first\nsecond\n"
    assert not (workdir / "bad.txt").exists()
    assert not (workdir / "after_bad.txt").exists()
    # the failed job's SLURM log is kept and says why
    bad_logs = list((workdir / ".snakemake" / "slurm_logs" / "rule_bad").glob("*.log"))
    assert bad_logs and "this rule fails on purpose" in bad_logs[0].read_text()
    states = _sacct_states(_slurm_jobids(out))
    assert sorted(states.values()) == ["COMPLETED", "COMPLETED", "FAILED"], states


SLOW_WORKFLOW = """
rule all:
    input: "slow_1.txt", "slow_2.txt"

rule slow:
    output: "slow_{i}.txt"
    resources: mem_mb=200, runtime=5
    shell: "echo $$ > started_{wildcards.i}.tmp; mv started_{wildcards.i}.tmp started_{wildcards.i}.pid; sleep 240; touch {output}"
"""


def _alive(pid: int) -> bool:
    """The process runs (a zombie nobody has reaped yet counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_sigint_cancels_the_slurm_jobs(slurm, tmp_path):
    """(d) Ctrl-C (SIGINT) on snakemake cancels its running SLURM jobs."""
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(textwrap.dedent(SLOW_WORKFLOW))
    workdir = tmp_path / "work"
    log = tmp_path / "snakemake.out"
    cmd = [*SNAKEMAKE, "-s", str(snakefile), "-d", str(workdir),
           "--profile", str(SLURM_PROFILE), *FAST_SLURM]
    jobids: list[str] = []
    with open(log, "w") as out:
        # Ctrl-C reaches a terminal's foreground process with SIGINT at its default. A test
        # run from a background shell inherits SIGINT ignored, and Python then never raises
        # KeyboardInterrupt: restore the default, as a terminal would have it.
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        def both_running():
            nonlocal jobids
            jobids = _slurm_jobids(log.read_text())
            if proc.poll() is not None:
                return True  # ended early: reported below
            # both SLURM jobs running, and in both the rule's shell command has started
            return (len(jobids) == 2 and set(_active(jobids).values()) == {"RUNNING"}
                    and len(list(workdir.glob("started_*.pid"))) == 2)

        started = _wait_for(both_running, timeout=120)
        assert proc.poll() is None, "snakemake ended early:\n" + log.read_text()[-6000:]
        assert started, f"jobs not running after 120 s: {_active(jobids)}\n" + log.read_text()[-6000:]

        # the job's shell runs on this machine (one-node cluster): we can watch it die
        shells = [int(p.read_text()) for p in workdir.glob("started_*.pid")]
        assert all(_alive(pid) for pid in shells)
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail("snakemake did not exit within 90 s of SIGINT:\n" + log.read_text()[-6000:])
        text = log.read_text()

        gone = _wait_for(lambda: not _active(jobids), timeout=30)
        assert gone, f"SLURM jobs still queued/running after SIGINT: {_active(jobids)}\n{text[-6000:]}"
        assert proc.returncode != 0, text[-6000:]
        cancelled = _wait_for(
            lambda: set(_sacct_states(jobids).values()) == {"CANCELLED"}, timeout=30)
        assert cancelled, f"jobs not cancelled in sacct: {_sacct_states(jobids)}"
        assert not list(workdir.glob("slow_*.txt"))
        assert _wait_for(lambda: not any(_alive(pid) for pid in shells), timeout=30), \
            "the jobs' shell commands still run after scancel"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if jobids:
            _sh("scancel", *jobids)
