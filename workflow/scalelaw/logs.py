"""Logging for rule scripts: everything, warnings and progress bars included, goes to the job's log."""

from __future__ import annotations

import logging
import sys


def to_file(path: str) -> logging.Logger:
    handle = open(path, "w", buffering=1, encoding="utf-8")
    sys.stderr = handle
    logging.basicConfig(
        stream=handle,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger("scalelaw")
