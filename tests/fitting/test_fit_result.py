import json
import math

import pytest

from scalelaw.fitting import FIT_COLUMNS, FitResult, Param, expand_group, results_frame


def _result(**kw):
    base = dict(
        analysis="sentence_length", law="power", estimator="ols_log",
        params={"a": Param(2.0, 0.1, "HC3", 1.8, 2.2, "BCa"), "b": Param(0.1)},
        n=40, n_unit="documents", group={"corpus": "c", "unit": "words"},
    )
    base.update(kw)
    return FitResult(**base)


def test_rows_share_one_schema_and_keep_labels():
    frame = results_frame([_result(), _result(group={"corpus": "d", "unit": "tokens"})])
    assert tuple(frame.columns) == FIT_COLUMNS
    assert len(frame) == 4
    wide = expand_group(frame)
    assert list(wide["corpus"]) == ["c", "c", "d", "d"]
    assert frame.loc[1, "se_type"] == "none" and math.isnan(frame.loc[1, "ci_low"])


def test_non_finite_diagnostics_become_json_null():
    frame = _result(diagnostics={"bp": float("nan")}, warnings=["few points"]).to_frame()
    assert json.loads(frame.loc[0, "diagnostics"]) == {"bp": None}
    assert json.loads(frame.loc[0, "warnings"]) == ["few points"]


def test_unknown_n_unit_is_refused():
    with pytest.raises(ValueError, match="n_unit"):
        _result(n_unit="things")


def test_empty_frame_has_the_columns():
    assert tuple(results_frame([]).columns) == FIT_COLUMNS
