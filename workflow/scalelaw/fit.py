"""Compatibility shim: the fitting layer lives in :mod:`scalelaw.fitting`.

Kept only so that ``scalelaw.sweep_fit.s_vs_l`` (owned by the generation work, which moves
to FitResult on its own branch) keeps working; remove once nothing imports it.
"""

from __future__ import annotations

from types import SimpleNamespace

from scalelaw.fitting.estimators import ESTIMATORS
from scalelaw.fitting.laws import LAWS  # noqa: F401


def ols_log(L, S, n_sentences=None):
    """The OLS-log fit as an object with a, b, se_b, se_type (the old record's fields)."""
    rec = ESTIMATORS["ols_log"].fit(L, S)
    return SimpleNamespace(a=rec["a"].estimate, b=rec["b"].estimate, se_a=rec["a"].se, se_b=rec["b"].se,
                           se_type=rec["b"].se_type)
