"""Bad configurations stop the run before any job, one line per mistake, key named."""

import pandas as pd
import pytest
import yaml

from workflow_helpers import ROOT, TEST_CONFIG, snakemake

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
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_one_line_and_nothing_written(case, tmp_path):
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


def test_the_default_and_test_configs_are_valid(tmp_path):
    for config in (ROOT / "config" / "config.yaml", TEST_CONFIG):
        proc = snakemake(tmp_path, "-n", configfile=config, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]


def test_schema_lists_come_from_the_registries():
    """The estimators, laws and segmenters the schema accepts are exactly those the code has."""
    from scalelaw.fitting import ESTIMATORS, LAWS
    from scalelaw.lengths import SEGMENTERS

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    fit = schema["properties"]["fit"]["properties"]
    assert fit["estimators"]["items"]["enum"] == list(ESTIMATORS)
    assert fit["laws"]["items"]["enum"] == list(LAWS)
    assert set(fit["estimators"]["default"]) <= set(ESTIMATORS) and set(fit["laws"]["default"]) <= set(LAWS)
    sensitivity = schema["properties"]["sensitivity"]["properties"]
    assert sensitivity["segmenters"]["items"]["enum"] == list(SEGMENTERS)
    assert schema["properties"]["lengths"]["properties"]["segmenter"]["enum"] == list(SEGMENTERS)
