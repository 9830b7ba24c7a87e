"""Hugging Face Hub access that fails fast when the hub cannot be reached.

Left to themselves, `transformers` and `datasets` retry an unreachable hub for 25 to 50
seconds per file. We probe the endpoint once (a TCP connect with a short timeout); when it
is unreachable we switch the libraries to offline mode, so cached assets still load and
uncached ones fail at once with a message that says how to work offline.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Callable, TypeVar
from urllib.parse import urlparse

T = TypeVar("T")

OFFLINE_HELP = (
    "the Hugging Face Hub is unreachable and {what} is not in the local cache; "
    "work offline with a local folder or local files in the config (see docs/running.md "
    "'Offline use'), or download it once on a machine with network and set HF_HUB_OFFLINE=1"
)


class HubUnavailable(RuntimeError):
    pass


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def offline_requested() -> bool:
    return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("HF_DATASETS_OFFLINE"))


def hub_reachable(timeout: float = 3.0) -> bool:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def force_offline() -> None:
    """Switch huggingface_hub, transformers and datasets to offline mode in-process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        import datasets.config

        datasets.config.HF_HUB_OFFLINE = True
        datasets.config.HF_DATASETS_OFFLINE = True


def hub_call(load: Callable[[], T], what: str) -> T:
    """Run ``load`` (a hub-backed loader); fail within seconds when offline and uncached."""
    offline = offline_requested()
    if not offline and not hub_reachable():
        force_offline()
        offline = True
    try:
        return load()
    except Exception as err:
        if offline:
            raise HubUnavailable(OFFLINE_HELP.format(what=what) + f" ({type(err).__name__})") from err
        raise
