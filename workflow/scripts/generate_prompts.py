"""Cut the prompts of one (prompt_tokens, seed) from the corpus (rule generate_prompts)."""
from scalelaw import generate, io, logs
from scalelaw.tokenize import load_tokenizer, tokenizer_fingerprint

log = logs.to_file(snakemake.log[0])
p = snakemake.params
prompt_tokens, seed = int(snakemake.wildcards.prompt_tokens), int(snakemake.wildcards.seed)
docs = io.read_parquet(snakemake.input.documents, columns=["doc_id", "text"])
tokenizer = load_tokenizer(p.tokenizer, revision=p.tokenizer_revision)
prompts, stats = generate.sample_prompts(
    docs, tokenizer, n_prompts=p.n_prompts, prompt_tokens=prompt_tokens, seed=seed,
    corpus=p.corpus, segmenter=p.lengths.get("segmenter", "nupunkt"),
    paragraph_breaks=p.lengths.get("paragraph_breaks", True),
    continuation_tokens=p.continuation_tokens, min_fill=p.min_fill, start=p.start,
)
log.info("prompts p%d s%d: %s", prompt_tokens, seed, stats)
if stats.get("warning"):
    log.warning(stats["warning"])
if prompts.empty:
    raise ValueError(f"no prompt of ~{prompt_tokens} tokens could be cut from corpus {p.corpus!r}: {stats}")
record = io.provenance(
    "generate_prompts", corpus=p.corpus, prompt_tokens=prompt_tokens, seed=seed,
    n_prompts=p.n_prompts, start=p.start, min_fill=p.min_fill,
    continuation_tokens=p.continuation_tokens, lengths=dict(p.lengths),
    tokenizer=p.tokenizer, tokenizer_fingerprint=tokenizer_fingerprint(tokenizer), stats=stats,
    cut="longest run of whole sentences with <= prompt_tokens tokens (reference tokenizer)",
)
io.write_parquet(prompts, snakemake.output[0], record)
