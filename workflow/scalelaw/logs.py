"""Logging for rule scripts, and the one line a user sees when a job meets bad data.

Everything a job prints (warnings and progress bars included) goes to the job's log.
``job`` wraps a rule script: a data error (a ``DataError`` subclass: a file, row or
setting that cannot be used) is logged with its traceback and also printed as one line
on the console, where Snakemake's own message only says that a command failed.

Retries (``retries:`` in the rules) are for memory and time limits. A data error is
deterministic: its job leaves a marker beside its log, and the retry Snakemake then
starts stops at once, without redoing the work (the marker is removed by every first
attempt, so a later run tries again).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from pathlib import Path

DATA_ERROR_SUFFIX = ".data-error"


def to_file(path: str, mode: str = "w") -> logging.Logger:
    handle = open(path, mode, buffering=1, encoding="utf-8")
    sys.stderr = handle
    logging.basicConfig(
        stream=handle,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger("scalelaw")


def data_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input, not a crash: the same input fails the same way."""
    from scalelaw.errors import DataError

    return (DataError, UnicodeError)


def _attempt(snakemake) -> int:
    return int(getattr(snakemake.resources, "attempt", 1) or 1)


def console_line(snakemake, message: str) -> str:
    wildcards = ", ".join(f"{k}={v}" for k, v in dict(snakemake.wildcards.items()).items())
    where = f"{snakemake.rule} ({wildcards})" if wildcards else snakemake.rule
    return f"scalelaw: data error in {where}: {message} [log: {snakemake.log[0]}]"


@contextlib.contextmanager
def job(snakemake):
    """``with logs.job(snakemake) as log:`` around a rule script's work."""
    console = sys.__stderr__
    marker = Path(str(snakemake.log[0]) + DATA_ERROR_SUFFIX)
    if _attempt(snakemake) > 1 and marker.exists():
        message, _, first_log = marker.read_text(encoding="utf-8").partition("\n")
        # Snakemake removed the failed attempt's log: put it back, traceback included
        Path(snakemake.log[0]).write_text(first_log, encoding="utf-8")
        log = to_file(snakemake.log[0], mode="a")
        log.error("not retried: the attempt before met a data error, which a retry cannot fix: %s", message)
        print(f"scalelaw: not retried (a data error, not a memory or time limit): {snakemake.log[0]}",
              file=console, flush=True)
        sys.exit(1)
    marker.unlink(missing_ok=True)
    log = to_file(snakemake.log[0])
    try:
        yield log
    except data_error_types() as err:
        message = " ".join(str(err).split()) or type(err).__name__
        log.error("data error: %s\n%s", message, traceback.format_exc())
        line = console_line(snakemake, message)
        with contextlib.suppress(OSError):
            sys.stderr.flush()
            marker.write_text(message + "\n" + Path(snakemake.log[0]).read_text(encoding="utf-8"), encoding="utf-8")
        print(line, file=console, flush=True)
        sys.exit(1)
    except BaseException:
        log.error("failed:\n%s", traceback.format_exc())
        raise


def console(message: str) -> None:
    """One progress line on the console, where Snakemake prints its own (a job's stderr goes
    to its log): ``logs.console("ladder: d64l2_D70000 trained, validation loss 5.80")``."""
    print(f"scalelaw: {message}", file=sys.__stderr__, flush=True)
