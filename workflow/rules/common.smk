import os
import re
import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

WORKFLOW_DIR = Path(workflow.basedir) / "workflow"
CONFIG_SCHEMA = WORKFLOW_DIR / "schemas" / "config.schema.yaml"

# Rule scripts import the scalelaw package from here, also in cluster jobs and for
# people who did not `pip install -e .`.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in [str(WORKFLOW_DIR), os.environ.get("PYTHONPATH", "")] if p
)
sys.path.insert(0, str(WORKFLOW_DIR))
from scalelaw import config as config_checks  # noqa: E402
from scalelaw.config import canonical  # noqa: E402


def stop_on_config_errors(problems):
    """One line per mistake and no traceback; no job has run, nothing is written."""
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} problem(s) in the configuration; nothing was run.", file=sys.stderr)
        sys.exit(1)


stop_on_config_errors(
    config_checks.check(config, yaml.safe_load(CONFIG_SCHEMA.read_text()), workflow.configfiles)
)
validate(config, CONFIG_SCHEMA)  # fills in the schema's defaults
stop_on_config_errors([f"config: {line}" for line in config_checks.semantic_errors(config, os.getcwd())])

CORPORA = list(config["use_corpora"])


wildcard_constraints:
    corpus="|".join(map(re.escape, CORPORA)) if CORPORA else "a^",
    shard=r"\d+of\d+",


def corpus_spec(corpus):
    return config["corpora"][corpus]


def corpus_load_params(wildcards):
    """The corpus options that change which documents are read (not how they are sharded)."""
    return canonical({k: v for k, v in corpus_spec(wildcards.corpus).items() if k != "shards"})


def shard_names(corpus):
    n = corpus_spec(corpus)["shards"]
    return [f"{i:03d}of{n:03d}" for i in range(n)]


def shard_index(wildcards):
    """(index, number of shards) of a shard wildcard such as 001of004."""
    index, total = wildcards.shard.split("of")
    return [int(index), int(total)]


def lengths_shards(name):
    def inputs(wildcards):
        return expand(
            f"results/{{corpus}}/lengths/{{shard}}/{name}.parquet",
            corpus=wildcards.corpus,
            shard=shard_names(wildcards.corpus),
        )

    return inputs


def all_targets():
    targets = expand("results/{corpus}/fit/fits.parquet", corpus=CORPORA)
    targets += expand("results/{corpus}/figures/scatter.png", corpus=CORPORA)
    targets.append("results/report/summary.md")
    targets += generate_targets()  # defined in generate.smk (empty unless generate.enabled)
    targets += ladder_targets()  # defined in ladder.smk (empty unless ladder.enabled or law_tables)
    return targets
