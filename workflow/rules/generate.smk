# Generation sweeps with causal language models (config section `generate:`).
#
# The plan (which cells, prompts and losses the grid makes, and each job's settings)
# comes from scalelaw.generate.plan; defaults come from the schema through validate().
from scalelaw.generate.plan import CELL_PATH, CT2_DIR, HAZARD_PATH, LOSS_PATH, MODEL_DIR, PROMPT_PATH
from scalelaw.generate.plan import plan_sweep as _plan_sweep
from scalelaw.errors import DataError as _DataError

try:
    GEN = _plan_sweep(config)
except _DataError as _err:
    stop_on_config_errors([f"config: {_err}"])


# names the rules and common.smk use (bound methods: no functions beside rules, for --lint);
# ladder.smk is included before this file, so a ladder model's folder comes from its plan
generate_targets = GEN.targets  # final outputs of the sweep (none unless generate.enabled)
gen_model_mem = GEN.job_mem_mb
gen_model_inputs = GEN.model_inputs(LADDER_PLAN.model_dir)


wildcard_constraints:
    gen_model=GEN.wildcard_pattern("models"),
    decoding=GEN.wildcard_pattern("decoding"),
    prompt_tokens=r"\d+",
    max_new_tokens=r"\d+",
    seed=r"\d+",


rule generate_prepare_model:
    """Resolve a model: convert a GGUF file once (sha256-checked), find a hub snapshot
    (offline-safe), or check a local folder; write its facts to model.json."""
    input:
        unpack(gen_model_inputs),
    output:
        directory(MODEL_DIR),
    params:
        spec=lambda w: GEN.model_spec(w.gen_model),
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


rule generate_convert_ct2:
    """generate.backend ctranslate2: convert the prepared model once to CTranslate2
    (float32 weights; the cells pick the compute type)."""
    input:
        MODEL_DIR,
    output:
        directory(CT2_DIR),
    log:
        "logs/generate/convert_ct2/{gen_model}.log",
    threads: 2
    resources:
        mem_mb=gen_model_mem,
        runtime=60,
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/generate_convert_ct2.py"


rule generate_prompts:
    """Seeded prompts cut at sentence boundaries, with their human continuations."""
    input:
        documents=f"results/{GEN.corpus}/documents.parquet",
    output:
        GEN.path(PROMPT_PATH),
    params:
        settings=GEN.prompt_settings(),
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
        unpack(lambda w: GEN.engine_inputs(w.gen_model)),
        model=MODEL_DIR,
        prompts=GEN.path(PROMPT_PATH),
    output:
        GEN.path(CELL_PATH),
    params:
        decoding=lambda w: GEN.decoding[w.decoding],
        run=GEN.run_settings("cell"),
    log:
        "logs/generate/cells/{gen_model}/p{prompt_tokens}_{decoding}_m{max_new_tokens}_s{seed}.log",
    threads: GEN.settings["threads"]
    resources:
        mem_mb=gen_model_mem,
        runtime=GEN.settings["runtime"],
        gpu=GEN.gpu,
    retries: 1  # a second attempt gets twice the memory
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/generate_cell.py"


rule generate_loss:
    """The model's mean per-token loss on each human continuation, given its prompt."""
    input:
        model=MODEL_DIR,
        prompts=GEN.path(PROMPT_PATH),
    output:
        GEN.path(LOSS_PATH),
    params:
        run=GEN.run_settings("loss"),
    log:
        "logs/generate/loss/{gen_model}/p{prompt_tokens}_s{seed}.log",
    threads: GEN.settings["threads"]
    resources:
        mem_mb=gen_model_mem,
        runtime=GEN.settings["runtime"],
        gpu=GEN.gpu,
    retries: 1  # a second attempt gets twice the memory
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/generate_loss.py"


rule generate_hazard:
    """The model's end-of-text probability along the true text of real documents: one
    teacher-forced pass per document gives the expected remaining length after every
    prompt length (scalelaw.generate.hazard)."""
    input:
        unpack(lambda w: GEN.hazard_inputs()),
        model=MODEL_DIR,
    output:
        GEN.path(HAZARD_PATH),
    params:
        settings=GEN.hazard_settings() if GEN.hazard_enabled else {},
        run=GEN.run_settings("loss"),
    log:
        "logs/generate/hazard/{gen_model}.log",
    threads: GEN.settings.get("threads", 1)
    resources:
        mem_mb=gen_model_mem,
        runtime=GEN.settings.get("runtime", 60),
        gpu=GEN.gpu,
    retries: 1  # a second attempt gets twice the memory
    conda:
        "../../envs/generate.yaml"
    script:
        "../scripts/generate_hazard.py"


rule generate_collect:
    """Merge the cells and measure generated texts and human continuations with the
    corpus's tokenizer and segmenter (scalelaw.lengths.measure_documents)."""
    input:
        cells=GEN.cell_files(),
        prompts=GEN.prompt_files(),
        losses=GEN.loss_files(),
        hazard=GEN.hazard_files(),
        models=GEN.model_dirs(),
    output:
        generations=GEN.path("generations.parquet"),
        generated_sentences=GEN.path("generated_sentences.parquet"),
        human=GEN.path("human_lengths.parquet"),
        human_sentences=GEN.path("human_sentences.parquet"),
        losses=GEN.path("losses.parquet"),
        hazard=GEN.path("eos_hazard.parquet"),
        models=GEN.path("models.parquet"),
    params:
        settings=GEN.measure_settings(),
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
    """Censored-length fits (Kaplan-Meier, lognormal AFT, elasticity per doubling of the
    prompt, the artifact of a total cap), S vs L of generated text (capped texts without
    their cut last sentence) beside length-matched human continuations, and loss against
    model size when there are two models or more."""
    input:
        generations=rules.generate_collect.output.generations,
        generated_sentences=rules.generate_collect.output.generated_sentences,
        human=rules.generate_collect.output.human,
        human_sentences=rules.generate_collect.output.human_sentences,
        losses=rules.generate_collect.output.losses,
        hazard=rules.generate_collect.output.hazard,
        models=rules.generate_collect.output.models,
    output:
        censoring=GEN.path("fit/censoring.parquet"),
        km=GEN.path("fit/km_medians.parquet"),
        fits=GEN.path("fit/fits.parquet"),
        texts=GEN.path("fit/s_vs_l_texts.parquet"),
        loss_size=GEN.path("fit/loss_vs_size.parquet"),
        model_means=GEN.path("fit/model_means.parquet"),
        hazard_summary=GEN.path("fit/hazard_summary.parquet"),
        summary=GEN.path("fit/summary.json"),
    params:
        fit=GEN.settings["fit"],
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
        km=rules.generate_fit.output.km,
        texts=rules.generate_fit.output.texts,
        fits=rules.generate_fit.output.fits,
        model_means=rules.generate_fit.output.model_means,
        loss_size=rules.generate_fit.output.loss_size,
        hazard=rules.generate_collect.output.hazard,
    output:
        **{
            key: report(path, category="Generation", caption="../report/generate.rst")
            for key, path in GEN.figures().items()
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
    """A Markdown section with the sweep's answer, tables and figures, for the report."""
    input:
        summary=rules.generate_fit.output.summary,
        censoring=rules.generate_fit.output.censoring,
        km=rules.generate_fit.output.km,
        fits=rules.generate_fit.output.fits,
        loss_size=rules.generate_fit.output.loss_size,
        hazard_summary=rules.generate_fit.output.hazard_summary,
        figures=list(GEN.figures().values()),
    output:
        report(GEN.path("report.md"), category="Generation", caption="../report/generate.rst"),
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
