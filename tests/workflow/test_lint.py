"""`snakemake --lint` finds nothing to say about the workflow (one test per file, so a
finding names the file it is in)."""

from __future__ import annotations

import re

import pytest

from support.workflow_helpers import ROOT, snakemake

SNAKEFILES = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


@pytest.fixture(scope="module")
def lints(tmp_path_factory) -> dict[str, list[str]]:
    """{file or rule heading: [lint titles]} from `snakemake --lint` on the default config."""
    proc = snakemake(tmp_path_factory.mktemp("lint"), "--lint", check=False, configfile=ROOT / "config" / "config.yaml")
    found: dict[str, list[str]] = {}
    heading = None
    for line in (proc.stdout + proc.stderr).splitlines():
        match = re.match(r"^Lints for (.+):$", line)
        if match:
            heading = match.group(1)
            found[heading] = []
        elif heading and re.match(r"^    \* ", line):
            found[heading].append(line.strip()[2:])
    assert proc.returncode == (1 if found else 0), proc.stderr[-2000:]
    return found


@pytest.mark.parametrize("snakefile", SNAKEFILES, ids=lambda p: p.name)
def test_no_lint_findings(lints, snakefile):
    mine = {heading: titles for heading, titles in lints.items() if str(snakefile) in heading}
    assert mine == {}, mine
