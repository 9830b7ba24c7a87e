"""Inference engines behind :func:`scalelaw.generate.generation.generate_texts` (``generate.backend``).

``transformers`` (the default)
    ``model.generate`` on left-padded batches (KV cache, ``torch.inference_mode``).
``ctranslate2``
    The same model converted once to a CTranslate2 folder (float32 weights;
    ``compute_type`` is the run's dtype: float32 on CPU, bfloat16 or float16 on a GPU)
    and run by ``ctranslate2.Generator.generate_batch``. The prompts are the same token
    ids (:func:`scalelaw.generate.decoding.encode_prompts`, chat templates included), the batches
    the same (sorted by length, ``batch_size`` rows), the stop ids the same, and each row
    is cut at its own budget exactly as with transformers. Greedy text equals
    transformers' up to float rounding (measured: benchmarks/README.md "Generation speed"); sampling
    draws from the same distribution (temperature, top_p, top_k = 0 for no cut) with
    CTranslate2's own random generator, seeded per batch (``seed`` and batch index, as
    ``torch.manual_seed`` is for transformers; see :meth:`CT2Model.reseed`), so a rerun
    gives the same text, but not the text torch would sample.

Each runner takes one batch (token ids and budgets) and returns the new token ids of
every row (at least up to its first EOS or its budget) and the wall time; the shared
bookkeeping (stop reasons, censoring, steps) is in ``generate_texts``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from scalelaw.device import sync
from scalelaw.generate.decoding import generation_config, left_padded
from scalelaw.generate.errors import ModelError
from scalelaw.io import folder_in_place

BACKENDS = ("transformers", "ctranslate2")
CT2_REQUIREMENT = "ctranslate2==4.8.5"
CT2_RECORD = "scalelaw-ct2.json"

#: runner(batch_index, token ids per row, budget per row) -> (new ids per row, seconds)
Runner = Callable[[int, list, Any], tuple[list[list[int]], float]]


def require_backend(backend: str, key: str = "generate.backend") -> str:
    """``backend`` if it is known and its package is installed; a one-line error naming
    the config key otherwise."""
    if backend not in BACKENDS:
        raise ModelError(f"{key}: unknown backend {backend!r} (one of {', '.join(BACKENDS)})")
    if backend == "ctranslate2" and importlib.util.find_spec("ctranslate2") is None:
        raise ModelError(f"{key}: ctranslate2 needs the Python package ctranslate2, which is "
                         f"not installed (pip install {CT2_REQUIREMENT})")
    return backend


# ----------------------------------------------------------------------------- CTranslate2


@dataclass
class CT2Model:
    """A CTranslate2 generator with what ``generate_texts`` asks of a model."""

    generator: Any
    generation_config: Any  # the source model's transformers GenerationConfig (EOS ids)
    config: Any  # the source model's transformers config (KV cache size for batch: auto)
    device: str
    compute_type: str
    path: str
    options: dict  # ctranslate2.Generator's arguments, to start it afresh

    def reseed(self, seed: int) -> None:
        """Seed the sampler. CTranslate2 seeds each worker thread's random generator once,
        from the seed current when the thread first samples, so ``set_random_seed`` alone
        does not reach a running generator: it is started afresh after the seed is set
        (0.4 s for SmolLM2-135M; the old one is released first)."""
        import ctranslate2

        self.generator = None
        ctranslate2.set_random_seed(int(seed))
        self.generator = ctranslate2.Generator(self.path, **self.options)


def _ct2_source_record(facts: Mapping[str, Any]) -> dict[str, Any]:
    import ctranslate2

    return {"source": str(facts["load_path"]), "source_sha256": facts.get("sha256"),
            "revision": facts.get("revision"), "ctranslate2": ctranslate2.__version__,
            "quantization": "float32"}


def convert_ct2(facts: Mapping[str, Any], out_dir: str | os.PathLike) -> Path:
    """Convert the prepared model (``facts['load_path']``) once into ``out_dir`` with
    ``ctranslate2.converters.TransformersConverter`` (float32 weights). A folder from the
    same source (sha256 or revision) and CTranslate2 version is reused; the copy is
    written beside ``out_dir`` and renamed into place."""
    require_backend("ctranslate2")
    from ctranslate2.converters import TransformersConverter

    out_dir = Path(out_dir)
    want = _ct2_source_record(facts)
    record_file = out_dir / CT2_RECORD
    if record_file.is_file():
        have = json.loads(record_file.read_text())
        if {k: have.get(k) for k in want} == want and (out_dir / "model.bin").is_file():
            return out_dir
    with folder_in_place(out_dir) as tmp:
        t0 = time.perf_counter()
        TransformersConverter(str(facts["load_path"]), low_cpu_mem_usage=True,
                              trust_remote_code=bool(facts.get("trust_remote_code", False))
                              ).convert(str(tmp), quantization="float32", force=True)
        record = {**want, "convert_seconds": round(time.perf_counter() - t0, 2)}
        (tmp / CT2_RECORD).write_text(json.dumps(record, indent=2))
    return out_dir


def load_ct2(facts: Mapping[str, Any], ct2_dir: str | os.PathLike, *, device: str,
             dtype: str, threads: int | None) -> CT2Model:
    """A CTranslate2 generator for a converted folder on ``device`` ("cpu", "cuda",
    "cuda:N") computing in ``dtype`` (float32, bfloat16, float16)."""
    require_backend("ctranslate2")
    import ctranslate2
    from transformers import AutoConfig, GenerationConfig

    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda"):
        raise ModelError(f"generate.backend ctranslate2 runs on cpu or cuda, not {device!r}")
    options = dict(device=kind, device_index=int(index or 0), compute_type=dtype,
                   intra_threads=int(threads or 0))
    generator = ctranslate2.Generator(str(ct2_dir), **options)
    src = str(facts["load_path"])
    try:
        gen_config = GenerationConfig.from_pretrained(src, local_files_only=True)
    except OSError:  # no generation_config.json: the model config's ids
        gen_config = GenerationConfig.from_model_config(
            AutoConfig.from_pretrained(src, local_files_only=True))
    config = AutoConfig.from_pretrained(src, local_files_only=True,
                                        trust_remote_code=bool(facts.get("trust_remote_code", False)))
    return CT2Model(generator=generator, generation_config=gen_config, config=config,
                    device=device, compute_type=dtype, path=str(ct2_dir), options=options)


def ct2_runner(model: CT2Model, tokenizer, decoding: Mapping[str, Any], eos: list[int],
               seed: int) -> Runner:
    sampling = {"sampling_topk": 1}  # greedy
    if decoding["do_sample"]:
        sampling = {"sampling_topk": int(decoding["top_k"] or 0),  # 0: the whole vocabulary
                    "sampling_topp": float(decoding["top_p"]),
                    "sampling_temperature": float(decoding["temperature"])}

    def run(b: int, seqs: list[list[int]], budgets) -> tuple[list[list[int]], float]:
        tokens = [tokenizer.convert_ids_to_tokens(list(s)) for s in seqs]
        if decoding["do_sample"]:  # greedy draws nothing: no restart
            model.reseed(int(seed) * 1_000_003 + b)
        t0 = time.perf_counter()
        results = model.generator.generate_batch(
            tokens, max_length=int(max(budgets)), min_length=0, beam_size=1,
            include_prompt_in_result=False, end_token=list(eos) or None, return_end_token=True,
            **sampling)
        dt = time.perf_counter() - t0
        return [list(r.sequences_ids[0]) for r in results], dt

    return run


# ----------------------------------------------------------------------------- transformers


def transformers_runner(model, tokenizer, decoding: Mapping[str, Any], eos: list[int],
                        seed: int) -> Runner:
    import torch

    device = str(next(model.parameters()).device)

    def run(b: int, seqs: list[list[int]], budgets) -> tuple[list[list[int]], float]:
        ids, mask = left_padded(seqs, tokenizer.pad_token_id, device)
        gen_config = generation_config(model, tokenizer, decoding, int(max(budgets)), eos)
        torch.manual_seed(int(seed) * 1_000_003 + b)
        sync(device)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen_config)
        sync(device)
        dt = time.perf_counter() - t0
        return out[:, ids.shape[1]:].tolist(), dt

    return run


def runner_for(model, tokenizer, decoding: Mapping[str, Any], eos: list[int], seed: int) -> Runner:
    """The batch runner of the engine that ``model`` belongs to."""
    if isinstance(model, CT2Model):
        return ct2_runner(model, tokenizer, decoding, eos, seed)
    return transformers_runner(model, tokenizer, decoding, eos, seed)
