"""The fitting layer: one result record, laws as objects, estimators, one bootstrap, nulls.

* ``result``: :class:`FitResult` / :class:`Param` and the long table every fit writes;
* ``laws``: :class:`Law` (a form y = f(x; params), fitted on the log-y scale with
  ``law.fit(x, y)`` / ``law.estimate(x, y)``) and the one registry :data:`LAWS`, text
  laws and laws of loss (saturating_power, chinchilla = L(N, D), isoflop_parabola) alike;
* ``power_sums``: the solver of the saturating laws (Huber on log L, L-BFGS-B);
* ``law_intervals``: resampled intervals for any law, "not identified", leave-largest-out;
* ``estimators``: S = a L^b estimators with one calling shape, registry :data:`ESTIMATORS`
  (their vectorized IRLS and jackknives in ``irls``);
* ``bootstrap``: :func:`bootstrap`, resampling a named unit (documents, prompts,
  models, runs, clusters), intervals from ``scipy.stats.bootstrap``;
* ``nulls`` (with ``noise``, the sampling noise of a mean of n sentences) and
  ``conclusion``: what b must beat, and the two answers, ``trend`` and ``vs_null``;
* ``over_models``: laws whose points are models (loss against size);
* ``sentence_length``: every fit of one corpus, as FitResults; ``summary``: its answers
  (``laws_text``: the best law in words; ``sensitivity``: robustness; ``covariate``: does
  another document column explain S better than L).

The names below load their module on first use, so a job that needs only the result
table or the summary (``scalelaw.fitting.result``, ``scalelaw.fitting.summary``) does
not import scipy.stats and statsmodels (about 2 s per job).
"""

from importlib import import_module

# Imported eagerly: the submodule `bootstrap` would otherwise shadow the function of that
# name once any module imports it (it needs only numpy and scipy.special at import).
from .bootstrap import BootstrapResult, bootstrap

_EXPORTS = {
    "DEFAULT_ESTIMATORS": "estimators", "ESTIMATORS": "estimators", "Estimator": "estimators",
    "get_estimator": "estimators",
    "GENERIC_LAWS": "laws", "LAWS": "laws", "Law": "laws", "get_law": "laws",
    "FIT_COLUMNS": "result", "FIT_SCHEMA": "result", "FitResult": "result", "Param": "result",
    "expand_group": "result", "results_frame": "result",
}

__all__ = sorted([*_EXPORTS, "BootstrapResult", "bootstrap"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
