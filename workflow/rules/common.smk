import os
import re
import sys
from pathlib import Path


WORKFLOW_DIR = Path(workflow.basedir) / "workflow"
CONFIG_SCHEMA = WORKFLOW_DIR / "schemas" / "config.schema.yaml"

# Rule scripts import the scalelaw package from here, also in cluster jobs and for
# people who did not `pip install -e .`.
# (set here, not required from the user: so no `envvars:` directive)
os.environ.update(PYTHONPATH=os.pathsep.join(
    p for p in [str(WORKFLOW_DIR), os.environ.get("PYTHONPATH", "")] if p
))
sys.path.insert(0, str(WORKFLOW_DIR))
from scalelaw import config as config_checks  # noqa: E402
from scalelaw import manifest as corpus_manifests  # noqa: E402
from scalelaw.config import canonical  # noqa: E402
from scalelaw.errors import OutputError  # noqa: E402


def stop_on_config_errors(problems, where="in the configuration"):
    """One line per mistake and no traceback; no job has run, nothing is written."""
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} problem(s) {where}; nothing was run.", file=sys.stderr)
        sys.exit(1)


# resolved here, once, before the stages' .smk files read config: schema defaults, data
# paths of a run in its own folder (input_dir), the corpus of generate and ladder
_problems, _notes = config_checks.prepare(config, CONFIG_SCHEMA, workflow.configfiles, os.getcwd())
for _note in _notes:
    print(_note, file=sys.stderr)
stop_on_config_errors(_problems)
stop_on_config_errors(config_checks.results_dir_errors(os.getcwd()), where="with the results folder")

CORPORA = list(config["use_corpora"])


wildcard_constraints:
    corpus="|".join(map(re.escape, CORPORA)) if CORPORA else "a^",
    shard=r"\d+of\d+",
    variant=r"[A-Za-z0-9_]+-(breaks|no_breaks)",


def corpus_spec(corpus):
    return config["corpora"][corpus]


def corpus_load_params(wildcards):
    """The corpus options that change which documents are read (not how they are sharded)."""
    return canonical({k: v for k, v in corpus_spec(wildcards.corpus).items() if k != "shards"})


def corpus_manifest(wildcards):
    """The corpus's manifest (files and checksums), refreshed now: rewritten only when a
    file's content or the set of matched files changed, which then reruns the corpus."""
    spec = corpus_spec(wildcards.corpus)
    if spec["source"] == "hub":
        return []
    path = f"results/{wildcards.corpus}/inputs/manifest.json"
    try:
        corpus_manifests.refresh(spec, path, base_dir=".")
    except OutputError as err:  # the manifest cannot be written: the outputs, not the data
        stop_on_config_errors([config_checks.output_error_line(err)], where="with the results folder")
    except (OSError, ValueError) as err:
        stop_on_config_errors([f"corpora.{wildcards.corpus}: cannot list its files: {err}"])
    return path


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
    targets += expand("results/{corpus}/fit/summary.parquet", corpus=CORPORA)
    targets += expand("results/{corpus}/figures/scatter.png", corpus=CORPORA)
    targets.append("results/report/summary.md")
    targets.append("results/report/sensitivity.png")
    targets += generate_targets()  # defined in generate.smk (empty unless generate.enabled)
    targets += ladder_targets()  # defined in ladder.smk (empty unless ladder.enabled or law_tables)
    return targets


def _attempt(wildcards, attempt):
    return attempt


def give_every_rule_its_attempt():
    """Every rule gets the resource ``attempt`` (1, then 2 on a retry); a rule script has
    no other way to know it is a retry, which scalelaw.logs needs to stop the retry of a
    job that met a data error. Called once, after the rule files are included, so rules
    owned by any stage (and `--retries` given on the command line) are covered."""
    for each in workflow.rules:
        if "attempt" not in each.resources:
            each.resources["attempt"] = _attempt


def _stop_jobs_on_interrupt():
    """Ctrl-C in a terminal reaches every process of the group; a SIGINT sent to the
    snakemake process alone (kill -INT, a scheduler, an IDE) would leave the local jobs
    running while Snakemake waits for them. Terminate them first, then stop as usual."""
    import signal

    import psutil

    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        for child in psutil.Process().children(recursive=True):
            try:
                child.terminate()
            except psutil.Error:
                pass
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    if previous is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, handler)


onstart:
    if workflow.local_exec:
        _stop_jobs_on_interrupt()


def sensitivity_variants():
    """{name: {segmenter, paragraph_breaks}} of the variants measured besides the primary
    lengths settings (config `sensitivity`); empty when sensitivity is off."""
    from scalelaw.fitting.sensitivity import variant_name, variants

    spec = config["sensitivity"]
    if not spec["enabled"]:
        return {}
    primary = variant_name(config["lengths"]["segmenter"], config["lengths"]["paragraph_breaks"])
    return {k: v for k, v in variants(spec["segmenters"], spec["paragraph_breaks"]).items() if k != primary}


SENSITIVITY = sensitivity_variants()


def primary_variant():
    return {"segmenter": config["lengths"]["segmenter"], "paragraph_breaks": config["lengths"]["paragraph_breaks"]}


def variant_fits(wildcards):
    return expand("results/{corpus}/sensitivity/{variant}/fits.parquet", corpus=wildcards.corpus, variant=list(SENSITIVITY))


def token_shards(wildcards):
    return expand("results/{corpus}/tokens/{shard}.parquet", corpus=wildcards.corpus, shard=shard_names(wildcards.corpus))
