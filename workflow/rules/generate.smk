# Generation sweeps with causal language models (config section `generate:`).
#
# One job and one Parquet file per grid cell: model x prompt_tokens x decoding x
# max_new_tokens x seed. Prompts depend only on (prompt_tokens, seed) and the per-prompt
# loss only on (model, prompt_tokens, seed), so adding a value to one axis runs only the
# cells (and prompt/loss files) that value adds, plus the cheap collect/fit/report jobs.
from scalelaw import generate as _gen
from scalelaw.models import ModelError as _ModelError

GEN = config.get("generate") or {}
GEN_ON = bool(GEN.get("enabled", False))
try:
    GEN_PLAN = _gen.sweep_plan(GEN) if GEN_ON else None
except (_gen.SweepError, _ModelError) as _err:
    stop_on_config_errors([f"config: {_err}"])
GEN_CORPUS = GEN.get("corpus", "")
GEN_DIR = f"results/{GEN_CORPUS or '_disabled'}/generate"
GEN_DEVICE = str(GEN.get("device", "auto"))
GEN_GPU = 1 if GEN_DEVICE.startswith("cuda") else 0


def _gen_names(key):
    return list(GEN_PLAN[key]) if GEN_PLAN else []


def _gen_alt(values):
    return "|".join(re.escape(str(v)) for v in values) if values else "a^"


def gen_cell_files(models=None):
    if not GEN_PLAN:
        return []
    return expand(
        f"{GEN_DIR}/cells/{{gen_model}}/p{{prompt_tokens}}/{{decoding}}/m{{max_new_tokens}}/s{{seed}}.parquet",
        gen_model=models or _gen_names("models"),
        prompt_tokens=GEN_PLAN["prompt_tokens"],
        decoding=_gen_names("decoding"),
        max_new_tokens=GEN_PLAN["max_new_tokens"],
        seed=GEN_PLAN["seeds"],
    )


def gen_prompt_files():
    if not GEN_PLAN:
        return []
    return expand(
        f"{GEN_DIR}/prompts/p{{prompt_tokens}}_s{{seed}}.parquet",
        prompt_tokens=GEN_PLAN["prompt_tokens"],
        seed=GEN_PLAN["seeds"],
    )


def gen_loss_files():
    if not GEN_PLAN:
        return []
    return expand(
        f"{GEN_DIR}/loss/{{gen_model}}/p{{prompt_tokens}}_s{{seed}}.parquet",
        gen_model=_gen_names("models"),
        prompt_tokens=GEN_PLAN["prompt_tokens"],
        seed=GEN_PLAN["seeds"],
    )


def gen_model_dirs():
    return expand("results/models/{gen_model}", gen_model=_gen_names("models"))


def gen_figures():
    figures = {
        "length": f"{GEN_DIR}/figures/generated_length_vs_prompt.png",
        "s_vs_l": f"{GEN_DIR}/figures/s_vs_l_generated_vs_human.png",
    }
    if len(_gen_names("models")) >= 2:
        figures["loss_size"] = f"{GEN_DIR}/figures/loss_vs_size.png"
    return figures


def generate_targets():
    """Final outputs of the generation sweep (empty when generate.enabled is false)."""
    if not GEN_ON:
        return []
    return [f"{GEN_DIR}/fit/summary.json", f"{GEN_DIR}/report.md", *gen_figures().values()]


def gen_model_mem(wildcards, attempt):
    return int(GEN.get("mem_mb", 6000)) * attempt


def gen_model_source(wildcards):
    """A GGUF file is an input of its conversion: replacing the file reruns it."""
    spec = GEN_PLAN["models"][wildcards.gen_model]
    if spec.kind == "gguf":
        from scalelaw.models import resolve_gguf_path

        return [str(resolve_gguf_path(spec.source))]
    return []


wildcard_constraints:
    gen_model=_gen_alt(_gen_names("models")),
    decoding=_gen_alt(_gen_names("decoding")),
    prompt_tokens=r"\d+",
    max_new_tokens=r"\d+",
    seed=r"\d+",


rule generate_prepare_model:
    """Resolve a model: convert a GGUF file once (sha256-checked), find a hub snapshot
    (offline-safe), or check a local folder; write its facts to model.json."""
    input:
        gen_model_source,
    output:
        directory("results/models/{gen_model}"),
    params:
        spec=lambda w: GEN_PLAN["models"][w.gen_model].to_dict(),
    log:
        "logs/generate/prepare_model/{gen_model}.log",
    threads: 2
    resources:
        mem_mb=gen_model_mem,
        runtime=60,
    retries: 1  # a second attempt gets twice the memory
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/generate_prepare_model.py"


rule generate_prompts:
    """Seeded prompts cut at sentence boundaries, with their human continuations."""
    input:
        documents=f"results/{GEN_CORPUS}/documents.parquet",
    output:
        f"{GEN_DIR}/prompts/p{{prompt_tokens}}_s{{seed}}.parquet",
    params:
        corpus=GEN_CORPUS,
        n_prompts=GEN.get("n_prompts", 16),
        start=GEN.get("prompt_start", "random"),
        min_fill=GEN.get("min_fill", 0.5),
        continuation_tokens=GEN.get("continuation_tokens", 256),
        tokenizer=GEN.get("prompt_tokenizer") or config.get("tokenizer", {}).get("name", "bundled:gpt2"),
        tokenizer_revision=None if GEN.get("prompt_tokenizer") else config.get("tokenizer", {}).get("revision"),
        lengths=canonical(config.get("lengths", {})),
    log:
        "logs/generate/prompts/p{prompt_tokens}_s{seed}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/extract.yaml"
    script:
        "../scripts/generate_prompts.py"


rule generate_cell:
    """One grid cell: every prompt of (prompt_tokens, seed) through one model with one
    decoding setting and max_new_tokens."""
    input:
        model="results/models/{gen_model}",
        prompts=f"{GEN_DIR}/prompts/p{{prompt_tokens}}_s{{seed}}.parquet",
    output:
        f"{GEN_DIR}/cells/{{gen_model}}/p{{prompt_tokens}}/{{decoding}}/m{{max_new_tokens}}/s{{seed}}.parquet",
    params:
        decoding=lambda w: GEN_PLAN["decoding"][w.decoding],
        batch_size=GEN.get("batch_size", 16),
        device=GEN_DEVICE,
        dtype=GEN.get("dtype", "auto"),
    log:
        "logs/generate/cells/{gen_model}/p{prompt_tokens}_{decoding}_m{max_new_tokens}_s{seed}.log",
    threads: int(GEN.get("threads", 2))
    resources:
        mem_mb=gen_model_mem,
        runtime=int(GEN.get("runtime", 120)),
        gpu=GEN_GPU,
    retries: 1  # a second attempt gets twice the memory
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/generate_cell.py"


rule generate_loss:
    """The model's mean per-token loss on each human continuation, given its prompt."""
    input:
        model="results/models/{gen_model}",
        prompts=f"{GEN_DIR}/prompts/p{{prompt_tokens}}_s{{seed}}.parquet",
    output:
        f"{GEN_DIR}/loss/{{gen_model}}/p{{prompt_tokens}}_s{{seed}}.parquet",
    params:
        batch_size=GEN.get("loss_batch_size", 8),
        device=GEN_DEVICE,
        dtype=GEN.get("dtype", "auto"),
    log:
        "logs/generate/loss/{gen_model}/p{prompt_tokens}_s{seed}.log",
    threads: int(GEN.get("threads", 2))
    resources:
        mem_mb=gen_model_mem,
        runtime=int(GEN.get("runtime", 120)),
        gpu=GEN_GPU,
    retries: 1  # a second attempt gets twice the memory
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/generate_loss.py"


rule generate_collect:
    """Merge the cells and measure generated texts and human continuations with the
    corpus's tokenizer and segmenter (scalelaw.lengths.measure_documents)."""
    input:
        cells=gen_cell_files(),
        prompts=gen_prompt_files(),
        losses=gen_loss_files(),
        models=gen_model_dirs(),
    output:
        generations=f"{GEN_DIR}/generations.parquet",
        generated_sentences=f"{GEN_DIR}/generated_sentences.parquet",
        human=f"{GEN_DIR}/human_lengths.parquet",
        human_sentences=f"{GEN_DIR}/human_sentences.parquet",
        losses=f"{GEN_DIR}/losses.parquet",
        models=f"{GEN_DIR}/models.parquet",
    params:
        corpus=GEN_CORPUS,
        tokenizer=config.get("tokenizer", {}).get("name", "bundled:gpt2"),
        tokenizer_revision=config.get("tokenizer", {}).get("revision"),
        lengths=canonical(config.get("lengths", {})),
    log:
        "logs/generate/collect.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/extract.yaml"
    script:
        "../scripts/generate_collect.py"


rule generate_fit:
    """Censored-length fits (Kaplan-Meier, lognormal AFT), S vs L of generated and human
    text, and loss against model size when there are two models or more."""
    input:
        generations=rules.generate_collect.output.generations,
        human=rules.generate_collect.output.human,
        losses=rules.generate_collect.output.losses,
        models=rules.generate_collect.output.models,
    output:
        censoring=f"{GEN_DIR}/fit/censoring.parquet",
        km=f"{GEN_DIR}/fit/km_medians.parquet",
        aft=f"{GEN_DIR}/fit/aft.parquet",
        s_vs_l=f"{GEN_DIR}/fit/s_vs_l.parquet",
        loss_size=f"{GEN_DIR}/fit/loss_vs_size.parquet",
        model_means=f"{GEN_DIR}/fit/model_means.parquet",
        summary=f"{GEN_DIR}/fit/summary.json",
    params:
        fit=GEN.get("fit", {}),
    log:
        "logs/generate/fit.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/generate_fit.py"


rule generate_figures:
    input:
        generations=rules.generate_collect.output.generations,
        human=rules.generate_collect.output.human,
        km=rules.generate_fit.output.km,
        model_means=rules.generate_fit.output.model_means,
        loss_size=rules.generate_fit.output.loss_size,
    output:
        **{
            key: report(path, category="Generation", caption="../report/generate.rst")
            for key, path in gen_figures().items()
        },
    log:
        "logs/generate/figures.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/generate_figures.py"


rule generate_report:
    """A Markdown section with the sweep's tables, for the report."""
    input:
        summary=rules.generate_fit.output.summary,
        generations=rules.generate_collect.output.generations,
        censoring=rules.generate_fit.output.censoring,
        km=rules.generate_fit.output.km,
        aft=rules.generate_fit.output.aft,
        s_vs_l=rules.generate_fit.output.s_vs_l,
        loss_size=rules.generate_fit.output.loss_size,
        models=rules.generate_collect.output.models,
        figures=list(gen_figures().values()),
    output:
        report(f"{GEN_DIR}/report.md", category="Generation", caption="../report/generate.rst"),
    log:
        "logs/generate/report.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/fit.yaml"
    script:
        "../scripts/generate_report.py"
