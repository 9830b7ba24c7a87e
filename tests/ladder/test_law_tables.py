"""Law tables (scalelaw.ladder.tables): every problem named with its config key, file and
1-based line before any job; missing values dropped and counted; drop_highest drops the
highest real values."""

import numpy as np
import pandas as pd
import pytest
import yaml

from scalelaw.errors import DataError
from scalelaw.fitting.laws import LAWS, get_law
from scalelaw.ladder import tables

from support.workflow_helpers import ROOT

FIT = {"huber_delta": 1e-3, "n_starts": 4, "n_bootstrap": 0, "confidence_level": 0.95, "seed": 0}
TRUTH = {"E": 1.8, "A": 400.0, "B": 900.0, "alpha": 0.34, "beta": 0.3}


def spec(path, **kw):
    return {"path": str(path), "x": ["N", "D"], "y": "loss", "law": "chinchilla", "n_unit": "runs", "fit": FIT,
            "drop_highest": 0, "missing": "drop", "columns": {}, **kw}


def ladder_table(n_sizes=5, n_budgets=4, seed=0):
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid(np.geomspace(1e6, 1e8, n_sizes), np.geomspace(1e8, 1e10, n_budgets))
    x = np.column_stack([n.ravel(), d.ravel()])
    loss = get_law("chinchilla").predict(x, TRUTH) * np.exp(rng.normal(0, 2e-3, len(x)))
    return pd.DataFrame({"N": x[:, 0], "D": x[:, 1], "loss": loss})


def problems_of(tmp_path, text, **kw):
    path = tmp_path / "t.csv"
    path.write_text(text)
    return tables.check({"t": spec(path, **kw)})


def test_the_schema_names_only_laws_of_the_registry():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    laws = schema["properties"]["law_tables"]["additionalProperties"]["properties"]["law"]["enum"]
    assert set(laws) <= set(LAWS) and "chinchilla" in laws


def test_unterminated_quote_names_file_and_line(tmp_path):
    out = problems_of(tmp_path, 'N,D,loss\n1e6,1e8,3.0\n2e6,1e8,"2.9\n4e6,1e8,2.8\n')
    assert out == [f"law_tables.t: {tmp_path / 't.csv'}:3: unterminated quote (a field opened with \" is never closed)"]


def test_a_row_with_too_many_fields_names_its_line(tmp_path):
    out = problems_of(tmp_path, "N,D,loss\n1e6,1e8,3.0\n2e6,1e8,2.9,7\n")
    assert len(out) == 1 and out[0].endswith("t.csv:3: 4 fields, the header (line 1) has 3")


def test_expression_with_a_missing_column_names_it_as_written(tmp_path):
    out = problems_of(tmp_path, "Model Size,D,loss\n1e6,1e8,3.0\n",
                      columns={"N": "`Model Siz` * 2", "D": "D", "loss": "loss"})
    assert len(out) == 1 and out[0].startswith("law_tables.t.columns.N: `Model Siz` is not a column of")
    assert "(columns: Model Size, D, loss)" in out[0]


def test_text_value_is_named_as_text_and_every_bad_column_with_its_first_line(tmp_path):
    text = "N,D,loss\n1e6,1e8,3.0\n2e6,-5,n/a\n4e6,1e8,2.8\n8e6,0,2.7\n"
    out = problems_of(tmp_path, text)
    assert any("t.csv:3: column 'loss' has text 'n/a'" in line for line in out), out
    assert any("t.csv:3: D = -5" in line and "2 value(s) of D" in line for line in out), out
    assert not any("missing" in line for line in out)


def test_too_few_rows_and_wrong_arity(tmp_path):
    text = "N,D,loss\n1e6,1e8,3.0\n2e6,1e8,2.9\n4e6,1e8,2.8\n"
    out = problems_of(tmp_path, text)
    assert out == ["law_tables.t: 3 row(s) left to fit ({'rows': 3, 'fitted': 3}); law 'chinchilla' has 5 "
                   "parameters and needs at least 6"]
    out = problems_of(tmp_path, text, x=["N"])
    assert out[0] == "law_tables.t.x: law 'chinchilla' takes 2 x column(s) (N, D), got 1: ['N']"


def test_missing_values_are_dropped_and_counted_or_an_error(tmp_path):
    table = ladder_table()
    dirty = table.copy()
    dirty.loc[[2, 7, 11], "loss"] = np.nan
    path = tmp_path / "dirty.csv"
    dirty.to_csv(path, index=False)
    clean_path = tmp_path / "clean.csv"
    dirty.dropna().to_csv(clean_path, index=False)
    points, counts = tables.load(spec(path), "dirty")
    clean_points, clean_counts = tables.load(spec(clean_path), "clean")
    assert counts == {"rows": 20, "dropped_missing": 3, "fitted": 17} and clean_counts == {"rows": 17, "fitted": 17}
    pd.testing.assert_frame_equal(points, clean_points)
    fit, clean_fit = tables.fit(points, spec(path), "dirty"), tables.fit(clean_points, spec(clean_path), "clean")
    assert fit.estimates == clean_fit.estimates
    assert "3 with a missing value dropped" in tables.markdown("dirty", spec(path), fit, counts)
    with pytest.raises(DataError, match=r"dirty.csv:4: 3 row\(s\) with a missing value in D, N, loss"):
        tables.load(spec(path, missing="error"), "dirty")


def test_drop_highest_drops_the_highest_real_values(tmp_path):
    """3 missing losses and drop_highest 5: 5 real rows go, as on the same table cleaned."""
    table = ladder_table(6, 5)
    dirty = table.copy()
    dirty.loc[[0, 9, 21], "loss"] = np.nan
    path, clean_path = tmp_path / "d.csv", tmp_path / "c.csv"
    dirty.to_csv(path, index=False)
    dirty.dropna().to_csv(clean_path, index=False)
    points, counts = tables.load(spec(path, drop_highest=5), "d")
    clean_points, clean_counts = tables.load(spec(clean_path, drop_highest=5), "c")
    assert counts == {"rows": 30, "dropped_missing": 3, "dropped_highest_y": 5, "fitted": 22}
    assert clean_counts["dropped_highest_y"] == 5 and clean_counts["fitted"] == 22
    pd.testing.assert_frame_equal(points, clean_points)
    highest = np.sort(dirty["loss"].dropna())[-5:]
    assert points["loss"].max() < highest.min()


def test_a_parquet_table_names_rows(tmp_path):
    table = ladder_table()
    table.loc[4, "N"] = -1.0
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    out = tables.check({"p": spec(path)})
    assert out == [f"law_tables.p: {path}:row 5: N = -1 (1 value(s) of N not finite and > 0, as the law's log scale "
                   "needs)"]


def test_a_table_too_small_for_an_interval_says_so_in_its_report(tmp_path):
    path = tmp_path / "small.csv"
    ladder_table(n_sizes=3, n_budgets=3).to_csv(path, index=False)  # 9 rows, 5 parameters
    points, counts = tables.load(spec(path), "small")
    fit = tables.fit(points, spec(path), "small")
    text = tables.markdown("small", spec(path), fit, counts)
    assert "no resamples, too few rows for an interval" in text
    assert "no interval: 9 runs for 5 parameters leave 4 residual degrees of freedom" in text
    assert np.isnan(fit["alpha"].ci_low) and np.isfinite(fit["alpha"].estimate)
