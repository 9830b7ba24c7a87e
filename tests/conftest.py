import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
# tests/support: helpers shared by tests in any folder below tests/
sys.path.insert(0, str(ROOT / "tests"))

import os

import pytest

_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


@pytest.fixture(autouse=True)
def _restore_hub_offline_mode():
    """scalelaw.hub.force_offline switches the process to offline mode; undo it per test."""
    saved_env = {name: os.environ.get(name) for name in _OFFLINE_VARS}
    import huggingface_hub.constants

    saved_constant = huggingface_hub.constants.HF_HUB_OFFLINE
    yield
    for name, value in saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    huggingface_hub.constants.HF_HUB_OFFLINE = saved_constant
    import sys

    if "datasets" in sys.modules:
        import datasets.config

        datasets.config.HF_HUB_OFFLINE = saved_constant
