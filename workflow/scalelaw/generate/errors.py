"""The generation sweep's data errors (both are :class:`scalelaw.errors.DataError`: a job
that meets one fails once, with its one-line message on the console)."""

from __future__ import annotations

from scalelaw.errors import DataError


class SweepError(DataError):
    """A sweep setting or table that cannot be used (decoding, prompts, plan)."""


class ModelError(DataError):
    """A model spec that cannot be resolved or loaded, or a model file that is not the one
    the config pins (sha256 mismatch)."""
