"""envs/*.yaml (for `--sdm conda`) pin the same versions as requirements.lock."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins():
    pins = {}
    for path in ("requirements.lock", "requirements-data.lock"):
        for line in (ROOT / path).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                name, version = line.split("==")
                pins[normalise(name)] = version.split("+")[0]
    return pins


ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))


def test_every_rule_group_has_an_environment():
    assert {p.stem for p in ENV_FILES} >= {"corpus", "extract", "fit", "generate"}


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.stem)
def test_environment_pins_match_the_lock(env_file):
    env = yaml.safe_load(env_file.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = lock_pins()
    assert pip, env_file
    for requirement in pip:
        name, _, version = requirement.partition("==")
        assert version, f"{env_file.name}: {requirement!r} is not pinned"
        assert pins.get(normalise(name)) == version, f"{env_file.name}: {requirement} but the lock has {pins.get(normalise(name))}"


def test_every_rule_names_an_existing_environment():
    rules = (ROOT / "workflow" / "rules").glob("*.smk")
    text = "\n".join(p.read_text() for p in rules)
    named = re.findall(r'conda:\s*\n\s*"([^"]+)"', text)
    assert named, "rules declare no conda environment"
    for path in named:
        assert (ROOT / "workflow" / "rules" / path).resolve().is_file(), path
