# scalelaw: scaling laws in text and in language models.
# Run: snakemake --cores 2   (see README.md)
import os
import sys

from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
from scalelaw.config import stop_on_yaml_syntax_errors  # noqa: E402

# Snakemake's own message for a YAML mistake names neither line nor column
stop_on_yaml_syntax_errors(os.path.join(workflow.basedir, "config", "config.yaml"))


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/tokenize.smk"
include: "workflow/rules/lengths.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/ladder.smk"


give_every_rule_its_attempt()  # common.smk: a retry after a data error stops at once


rule all:
    default_target: True
    input:
        all_targets(),
