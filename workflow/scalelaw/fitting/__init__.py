"""The fitting layer: one result record (``result``), laws, estimators, bootstrap, nulls."""

from .result import FIT_COLUMNS, FIT_SCHEMA, FitResult, Param, expand_group, results_frame

__all__ = ["FIT_COLUMNS", "FIT_SCHEMA", "FitResult", "Param", "expand_group", "results_frame"]
