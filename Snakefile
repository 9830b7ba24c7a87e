# scalelaw: scaling laws in text and in language models.
# Run: snakemake --cores 2   (see README.md and docs/running.md)
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
include: "workflow/rules/ladder.smk"
include: "workflow/rules/generate.smk"


give_every_rule_its_attempt()  # common.smk: a retry after a data error stops at once


rule all:
    default_target: True
    input:
        all_targets(),


# The HTML report opens on the run's answers: workflow/report/workflow.rst with the lead of
# every report of this config filled in (scalelaw.answers). `--report` is only known from
# the command line, where it also needs the finished run of the same config and directory.
REPORTING = any(arg == "--report" or arg.startswith("--report=") for arg in sys.argv)
if REPORTING:
    from scalelaw import answers as run_answers  # noqa: E402

    missing = [path for path in all_targets() if not os.path.exists(path)]
    if missing:
        print(
            f"scalelaw: --report needs the finished run of this config here: {len(missing)} of "
            f"{len(all_targets())} results are missing (first: {missing[0]}); give it the run's "
            "config and directory, e.g. snakemake --report report.html --configfile my.yaml "
            "--directory runs/mine, or make report CONFIG=my.yaml OUT=runs/mine",
            file=sys.stderr,
        )
        sys.exit(1)
    landing = os.path.abspath(os.path.join(".snakemake", "scalelaw", "report-landing.rst"))
    os.makedirs(os.path.dirname(landing), exist_ok=True)
    with open(landing, "w", encoding="utf-8") as handle:
        template = os.path.join(workflow.basedir, "workflow", "report", "workflow.rst")
        handle.write(run_answers.landing_rst(open(template, encoding="utf-8").read(), config))


report: landing if REPORTING else "workflow/report/workflow.rst"


onsuccess:
    # the answers and the report paths, last on the console (make run prints them itself,
    # also when there was nothing to do, and sets SCALELAW_ANSWERS=0 here)
    if os.environ.get("SCALELAW_ANSWERS", "1") != "0":
        from scalelaw import answers as run_answers

        hint = "snakemake --report report.html" + "".join(
            f" --configfile {f}" for f in workflow.config_settings.configfiles)
        if os.path.realpath(os.getcwd()) != os.path.realpath(workflow.basedir):
            hint += f" --directory {os.getcwd()}"
        print(run_answers.console_message(config, ".", hint), file=sys.stderr)
