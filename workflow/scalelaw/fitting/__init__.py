"""The fitting layer: one result record, laws as objects, estimators, one bootstrap, nulls.

* ``result``: :class:`FitResult` / :class:`Param` and the long table every fit writes;
* ``laws``: :class:`Law` (a form y = f(x; params), fitted on the log-y scale with
  ``law.fit(x, y)``) and the registry :data:`LAWS`;
* ``estimators``: S = a L^b estimators with one calling shape, registry :data:`ESTIMATORS`;
* ``bootstrap``: :func:`bootstrap`, resampling a named unit (documents, prompts,
  models, runs, clusters), intervals from ``scipy.stats.bootstrap``;
* ``nulls`` and ``conclusion``: what b must beat, and the verdict drawn from b - b_null;
* ``over_models``: laws whose points are models (loss against size);
* ``sentence_length``: every fit of one corpus, as FitResults.
"""

from .bootstrap import BootstrapResult, bootstrap
from .estimators import DEFAULT_ESTIMATORS, ESTIMATORS, Estimator, get_estimator
from .laws import LAWS, Law, get_law
from .result import FIT_COLUMNS, FIT_SCHEMA, FitResult, Param, expand_group, results_frame

__all__ = [
    "BootstrapResult", "DEFAULT_ESTIMATORS", "ESTIMATORS", "Estimator", "FIT_COLUMNS", "FIT_SCHEMA",
    "FitResult", "LAWS", "Law", "Param", "bootstrap", "expand_group", "get_estimator", "get_law",
    "results_frame",
]
