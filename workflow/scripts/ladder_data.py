"""Ladder data (rule ladder_data): split by doc_id, BPE on the training split, packed sequences."""
import numpy as np

from scalelaw import io, logs
from scalelaw.ladder import data

log = logs.to_file(snakemake.log[0])
o, p = snakemake.output, snakemake.params.data
documents = io.read_parquet(snakemake.input.documents, columns=["doc_id", "text"])
tokenizer, train, val, split, facts = data.prepare(
    documents, val_fraction=float(p["val_fraction"]), seed=int(p["split_seed"]),
    vocab_size=int(p["vocab_size"]), seq_len=int(p["seq_len"]),
)
log.info("%s", facts)
tokenizer.save(o.tokenizer)
np.save(o.train, train)
np.save(o.val, val)
record = io.provenance("ladder_data", settings=dict(p), facts=facts)
io.write_parquet(split, o.split, record)
io.write_json({"provenance": record, **facts}, o.facts)
