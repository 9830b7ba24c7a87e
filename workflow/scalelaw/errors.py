"""The one base class for bad input.

A ``DataError`` means a file, row, table or setting that cannot be used: the same input
fails the same way, so a job that meets one is not retried, and its message (one line
that names the culprit) reaches the console (``scalelaw.logs.job``). Every stage's own
error (corpus, tokenizer, segmenter, ladder design, model, sweep, law table) derives
from it, so nothing has to list them.
"""

from __future__ import annotations


class DataError(ValueError):
    """Bad input: a file, row, table or setting named in the message."""


class OutputError(OSError):
    """An output that cannot be written ("cannot write <path>: <reason>"): a read-only
    or full results folder, named as such and not blamed on the data; not retried."""
