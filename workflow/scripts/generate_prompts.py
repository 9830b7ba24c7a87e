"""Cut the prompts of one (prompt_tokens, seed) from the corpus (rule generate_prompts)."""
from scalelaw import io, logs
from scalelaw.generate.errors import SweepError
from scalelaw.generate.prompts import sample_prompts
from scalelaw.tokenize import load_tokenizer, tokenizer_fingerprint

with logs.job(snakemake) as log:
    s = snakemake.params.settings
    prompt_tokens, seed = int(snakemake.wildcards.prompt_tokens), int(snakemake.wildcards.seed)
    docs = io.read_parquet(snakemake.input.documents, columns=["doc_id", "text"])
    tokenizer = load_tokenizer(s["tokenizer"], revision=s["tokenizer_revision"])
    prompts, stats = sample_prompts(
        docs, tokenizer, n_prompts=s["n_prompts"], prompt_tokens=prompt_tokens, seed=seed,
        corpus=s["corpus"], segmenter=s["lengths"]["segmenter"],
        paragraph_breaks=s["lengths"]["paragraph_breaks"],
        continuation_tokens=s["continuation_tokens"], min_fill=s["min_fill"], start=s["start"],
    )
    log.info("prompts p%d s%d: %s", prompt_tokens, seed, stats)
    if stats.get("warning"):
        log.warning(stats["warning"])
    if prompts.empty:
        raise SweepError(f"no prompt of ~{prompt_tokens} tokens could be cut from corpus {s['corpus']!r}: {stats}")
    record = io.provenance(
        "generate_prompts", settings=dict(s), prompt_tokens=prompt_tokens, seed=seed,
        tokenizer_fingerprint=tokenizer_fingerprint(tokenizer), stats=stats,
        cut="longest run of whole sentences with <= prompt_tokens tokens (reference tokenizer)",
    )
    io.write_parquet(prompts, snakemake.output[0], record)
