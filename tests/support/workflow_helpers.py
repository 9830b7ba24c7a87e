"""Run the real workflow in a scratch directory, as a user would from the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TEST_CONFIG = ROOT / "tests" / "config" / "test.yaml"


def snakemake(workdir: Path, *args: str, configfile: Path = TEST_CONFIG, check: bool = True, timeout: int = 900):
    # --configfile takes several values: it goes last so that a target is not read as one
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), *args, "--configfile", str(configfile)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(workdir: Path, configfile: Path = TEST_CONFIG, *targets: str) -> dict[str, int]:
    """Rule name -> job count that a dry run would execute (empty when nothing to do)."""
    proc = snakemake(workdir, *targets, "-n", "--quiet", "rules", configfile=configfile)
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    counts = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Za-z_][\w]*)\s+(\d+)\s*$", line)
        if match and match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


def write_config(path: Path, base: Path = TEST_CONFIG, **changes) -> Path:
    config = yaml.safe_load(base.read_text())
    for dotted, value in changes.items():
        node = config
        keys = dotted.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    path.write_text(yaml.safe_dump(config))
    return path
