"""A data error in a job: one line on the console, the traceback in the log, no retry."""

import subprocess
import sys
import textwrap

from support.workflow_helpers import ROOT

SCRIPT = textwrap.dedent('''
    import sys
    sys.path.insert(0, {workflow!r})
    from scalelaw import corpus, logs

    class Named(list):
        def __init__(self, **named):
            super().__init__(named.values())
            self.__dict__.update(named)
        def items(self):
            return self.__dict__.items()

    class Snakemake:
        rule = "corpus"
        wildcards = Named(corpus="mine")
        log = [{log!r}]
        resources = Named(attempt=int(sys.argv[1]))

    snakemake = Snakemake()
    with logs.job(snakemake) as log:
        print("working", file=sys.stdout, flush=True)
        raise corpus.CorpusError("corpora.mine: data/a.jsonl, line 3: not valid JSON")
''')


def run(tmp_path, attempt):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT.format(workflow=str(ROOT / "workflow"), log=str(tmp_path / "job.log")))
    return subprocess.run([sys.executable, str(script), str(attempt)], capture_output=True, text=True)


def test_data_error_one_console_line_traceback_in_log(tmp_path):
    first = run(tmp_path, 1)
    assert first.returncode == 1 and first.stdout == "working\n"
    assert first.stderr.strip().splitlines() == [
        f"scalelaw: data error in corpus (corpus=mine): corpora.mine: data/a.jsonl, line 3: not valid JSON "
        f"[log: {tmp_path / 'job.log'}]"
    ]
    log = (tmp_path / "job.log").read_text()
    assert "Traceback" in log and "CorpusError" in log

    # Snakemake's retry (for memory and time limits) stops at once: no "working"
    (tmp_path / "job.log").unlink()  # as Snakemake removes a failed job's log
    second = run(tmp_path, 2)
    assert second.returncode == 1 and second.stdout == ""
    assert "not retried" in second.stderr
    assert "Traceback" in (tmp_path / "job.log").read_text()  # attempt 1's log is restored

    # a new run (attempt 1) tries again
    assert run(tmp_path, 1).stdout == "working\n"
