"""The ladder's plan (scalelaw.ladder.plan): built once from the validated config, its runs
and job settings, and every mistake in the ladder and law_tables sections, one line each,
before any job."""

import copy
import re

import pytest
import yaml
from snakemake.utils import validate

from scalelaw.errors import DataError
from scalelaw.ladder import plan as ladder_plan

from support.workflow_helpers import ROOT, snakemake, write_config

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def validated(**ladder_changes):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["ladder"].update(copy.deepcopy(ladder_changes))
    validate(config, str(SCHEMA))
    return config


def test_plan_of_the_default_config_holds_every_run_and_its_settings():
    config = validated()
    plan = ladder_plan.plan_ladder(config)
    ladder = config["ladder"]
    assert plan.enabled and len(plan.runs) == len(ladder["sizes"]) * len(ladder["tokens"])
    size, tokens = ladder["sizes"][0]["name"], ladder["tokens"][0]
    run = f"{size}_D{tokens}"
    params = plan.run_params(run)
    assert params["size"]["name"] == size and params["tokens"] == tokens
    assert params["train"] == ladder["train"] and params["device"] == ladder["device"]
    assert re.fullmatch(plan.wildcard_pattern("run"), run) and not re.fullmatch(plan.wildcard_pattern("run"), run + "x")
    assert plan.targets()[0] == f"results/{ladder['corpus']}/ladder/report.md"
    assert set(plan.budgets().values()) == {None}
    assert plan.run_files()[0] == f"results/{ladder['corpus']}/ladder/runs/{next(iter(plan.runs))}.parquet"


def test_defaults_come_from_the_schema():
    """A ladder section without train or fit gets the schema's values, and the plan adds none."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for key in ("train", "fit", "device", "dtype"):
        config["ladder"].pop(key, None)
    validate(config, str(SCHEMA))
    schema = yaml.safe_load(SCHEMA.read_text())
    fit_defaults = {k: v["default"] for k, v in schema["definitions"]["ladder_fit"]["properties"].items()}
    assert config["ladder"]["fit"] == fit_defaults
    plan = ladder_plan.plan_ladder(config)
    params = plan.run_params(next(iter(plan.runs)))
    assert params["train"]["batch_size"] == schema["properties"]["ladder"]["properties"]["train"]["properties"][
        "batch_size"]["default"]


def test_every_mistake_is_one_line_naming_its_key():
    config = validated(
        corpus="nope",
        sizes=[{"name": "a", "d_model": 30, "n_layers": 1, "n_heads": 4},
               {"name": "b", "d_model": 48, "n_layers": 1, "n_heads": 16},
               {"name": "c", "d_model": 64, "n_layers": 1, "n_heads": 2}],
        tokens=[50, 100000],
    )
    with pytest.raises(DataError) as err:
        ladder_plan.plan_ladder(config)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("ladder.corpus: 'nope' is not in use_corpora")
    assert lines[1] == "ladder.sizes[0] (a): d_model 30 is not a multiple of n_heads 4"
    assert lines[2].startswith("ladder.sizes[1] (b): head dimension d_model / n_heads = 3 is odd")
    batch = config["ladder"]["train"]["batch_size"]
    assert lines[3].startswith(f"ladder.tokens: budget 50 is less than one batch (train.batch_size {batch} x seq_len")
    assert len(lines) == 4


def test_a_design_that_no_law_can_fit_is_refused():
    config = validated(sizes=[{"name": "a", "d_model": 32, "n_layers": 1, "n_heads": 1}], tokens=[100000, 200000])
    problems, _ = ladder_plan.ladder_problems(config)
    assert problems == ["ladder.sizes / ladder.tokens: 1 size(s) x 2 token budget(s) = 2 run(s): no law can be "
                        "fitted (L(N, D) needs at least 2 sizes, 2 budgets and 6 runs; L(N) or L(D) 4 points "
                        "along one axis)"]
    four_budgets = validated(sizes=[{"name": "a", "d_model": 32, "n_layers": 1, "n_heads": 1}],
                             tokens=[100000, 200000, 400000, 800000])
    assert ladder_plan.ladder_problems(four_budgets)[0] == []  # L(D) can be fitted


def test_isoflop_budgets_below_one_batch_are_all_listed():
    config = validated(design="isoflop", compute=[1e6, 2e6, 1e13])
    problems, _ = ladder_plan.ladder_problems(config)
    assert len(problems) >= 2 and all(p.startswith("ladder.compute: budget") for p in problems)


def test_disabled_ladder_plans_nothing():
    config = validated(enabled=False)
    plan = ladder_plan.plan_ladder(config)
    assert not plan.enabled and plan.runs == {} and plan.targets() == [] and plan.wildcard_pattern("run") == "a^"


@pytest.mark.slow
def test_snakemake_stops_before_any_job_with_one_line_per_mistake(tmp_path):
    bad_table = tmp_path / "t.csv"
    bad_table.write_text('N,D,loss\n1e6,1e8,3.0\n2e6,1e8,"2.9\n')
    config = write_config(
        tmp_path / "c.yaml", base=ROOT / "tests" / "config" / "ladder_tiny.yaml",
        **{"ladder.sizes": [{"name": "a", "d_model": 30, "n_layers": 1, "n_heads": 4},
                            {"name": "b", "d_model": 32, "n_layers": 1, "n_heads": 1}],
           "law_tables": {"t": {"path": str(bad_table), "x": ["N", "D"], "y": "loss", "law": "chinchilla"}}})
    proc = snakemake(tmp_path, "-n", configfile=config, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert "config: ladder.sizes[0] (a): d_model 30 is not a multiple of n_heads 4" in lines
    assert f"config: law_tables.t: {bad_table}:3: unterminated quote (a field opened with \" is never closed)" in lines
    assert lines[-1] == "2 problem(s) in the configuration; nothing was run."
    assert not (tmp_path / "results").exists()


def test_job_params_and_model_folder_of_a_size():
    config = validated()
    plan = ladder_plan.plan_ladder(config)
    ladder = config["ladder"]
    size = ladder["sizes"][0]["name"]
    largest = max(ladder["tokens"])

    class Wildcards:
        run = f"{size}_D{largest}"

    assert plan.job_params(Wildcards) == plan.run_params(Wildcards.run)
    assert list(plan.job_params(Wildcards)) == sorted(plan.run_params(Wildcards.run))  # canonical: keys sorted
    assert plan.model_dir(size) == f"results/{ladder['corpus']}/ladder/models/{size}_D{largest}"
    with pytest.raises(DataError, match="no size named 'nope'"):
        plan.model_dir("nope")
