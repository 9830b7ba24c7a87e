"""Logging for rule scripts, and the one line a user sees when a job meets bad data.

Everything a job prints (warnings and progress bars included) goes to the job's log.
A data error (a ``DataError`` subclass: a file, row or setting that cannot be used) and
an output that cannot be written (``scalelaw.errors.OutputError``) are logged with their
traceback and also printed as one line on the console, where Snakemake's own message
only says that a command failed. Both routes into a rule script do this:
``with logs.job(snakemake) as log:`` around its work, or ``log = logs.to_file(...)`` at
its top (which guards the rest of the script through ``sys.excepthook``).

Retries (``retries:`` in the rules) are for memory and time limits. A data error is
deterministic: its job leaves a marker beside its log, and the retry Snakemake then
starts stops at once, without redoing the work (the marker is removed by every first
attempt, so a later run tries again). Every rule gets the ``attempt`` resource that this
needs from ``common.smk`` (``give_every_rule_its_attempt``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

DATA_ERROR_SUFFIX = ".data-error"


def _open_log(path: str, mode: str = "w") -> logging.Logger:
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
    """Exceptions that mean bad input or an unwritable output, not a crash: the same job
    fails the same way again."""
    from scalelaw.errors import DataError, OutputError

    return (DataError, UnicodeError, OutputError)


def _attempt(snakemake) -> int:
    return int(getattr(snakemake.resources, "attempt", 1) or 1)


def console_line(snakemake, err: BaseException) -> str:
    """The line printed on the console: what went wrong, in which job, and its log."""
    from scalelaw.errors import OutputError

    message = " ".join(str(err).split()) or type(err).__name__
    wildcards = ", ".join(f"{k}={v}" for k, v in dict(snakemake.wildcards.items()).items())
    where = f"{snakemake.rule} ({wildcards})" if wildcards else snakemake.rule
    what = "output not written" if isinstance(err, OutputError) else "data error"
    return f"scalelaw: {what} in {where}: {message} [log: {snakemake.log[0]}]"


def _stop_a_retry(snakemake, console) -> None:
    """On a retry after a data error: restore the first attempt's log and stop."""
    marker = Path(str(snakemake.log[0]) + DATA_ERROR_SUFFIX)
    if _attempt(snakemake) > 1 and marker.exists():
        message, _, first_log = marker.read_text(encoding="utf-8").partition("\n")
        # Snakemake removed the failed attempt's log: put it back, traceback included
        Path(snakemake.log[0]).write_text(first_log, encoding="utf-8")
        log = _open_log(snakemake.log[0], mode="a")
        log.error("not retried: the attempt before met a data error, which a retry cannot fix: %s", message)
        print(f"scalelaw: not retried (a data error, not a memory or time limit): {snakemake.log[0]}",
              file=console, flush=True)
        sys.exit(1)
    marker.unlink(missing_ok=True)


def _report(snakemake, err: BaseException, tb: str, log: logging.Logger, console) -> None:
    """Log the traceback, leave the marker that stops a retry, print the one line."""
    line = console_line(snakemake, err)
    log.error("%s\n%s", line, tb)
    with contextlib.suppress(OSError):
        sys.stderr.flush()
        marker = Path(str(snakemake.log[0]) + DATA_ERROR_SUFFIX)
        marker.write_text(line + "\n" + Path(snakemake.log[0]).read_text(encoding="utf-8"), encoding="utf-8")
    print(line, file=console, flush=True)


@contextlib.contextmanager
def job(snakemake):
    """``with logs.job(snakemake) as log:`` around a rule script's work."""
    console = sys.__stderr__
    _stop_a_retry(snakemake, console)
    log = _open_log(snakemake.log[0])
    try:
        yield log
    except data_error_types() as err:
        _report(snakemake, err, traceback.format_exc(), log, console)
        sys.exit(1)
    except BaseException:
        log.error("failed:\n%s", traceback.format_exc())
        raise


def console(message: str) -> None:
    """One progress line on the console, where Snakemake prints its own (a job's stderr goes
    to its log): ``logs.console("ladder: d64l2_D70000 trained, validation loss 5.80")``."""
    print(f"scalelaw: {message}", file=sys.__stderr__, flush=True)


def _rule_script_snakemake() -> Any:
    """The ``snakemake`` object of the rule script running in this process, if any."""
    main = sys.modules.get("__main__")
    candidate = getattr(main, "snakemake", None)
    return candidate if hasattr(candidate, "log") and hasattr(candidate, "rule") else None


def to_file(path: str, mode: str = "w") -> logging.Logger:
    """Send the job's output to its log. In a rule script, also guard the rest of it as
    ``job`` does: a retry after a data error stops at once, and a data error that ends
    the script prints its one line on the console (``sys.excepthook``)."""
    snakemake = _rule_script_snakemake()
    if snakemake is None or str(snakemake.log[0]) != str(path) or mode != "w":
        return _open_log(path, mode)
    console = sys.__stderr__
    _stop_a_retry(snakemake, console)
    log = _open_log(path, mode)
    previous = sys.excepthook

    def hook(kind, err, tb):
        if isinstance(err, data_error_types()):
            _report(snakemake, err, "".join(traceback.format_exception(kind, err, tb)), log, console)
        else:
            previous(kind, err, tb)

    sys.excepthook = hook
    return log
