"""Ladder data (rule ladder_data): split by doc_id, BPE on (a sample of) the training
split, both splits streamed into packed uint16 .npy files."""
from scalelaw import io, logs
from scalelaw.ladder import data

log = logs.to_file(snakemake.log[0])
o, p = snakemake.output, snakemake.params.data
tokenizer, split, facts = data.prepare_files(
    snakemake.input.documents, {"train": o.train, "val": o.val}, val_fraction=float(p["val_fraction"]),
    seed=int(p["split_seed"]), vocab_size=int(p["vocab_size"]), seq_len=int(p["seq_len"]),
    sample_chars=int(p.get("bpe_sample_chars") or 0),
)
log.info("%s", facts)
tokenizer.save(o.tokenizer)
record = io.provenance("ladder_data", settings=dict(p), facts=facts)
io.write_parquet(split, o.split, record)
io.write_json({"provenance": record, **facts}, o.facts)
