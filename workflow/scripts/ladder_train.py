"""One ladder training run (rule ladder_train)."""
import json

import numpy as np

from scalelaw import io, logs
from scalelaw.ladder import analysis, train

log = logs.to_file(snakemake.log[0])
spec = snakemake.params.spec
facts = json.load(open(snakemake.input.facts))
summary, curve = train.train_run(
    run=snakemake.wildcards.run, size=spec["size"], tokens=int(spec["tokens"]),
    train_seqs=np.load(snakemake.input.train, mmap_mode="r"), val_seqs=np.load(snakemake.input.val),
    vocab_size=int(facts["vocab_size"]), settings=spec["train"], checkpoint=snakemake.params.checkpoint,
    device=spec["device"], dtype=spec["dtype"], threads=snakemake.threads,
)
log.info("%s", summary)
if summary["epochs"] > 1:
    log.warning("%s repeats the training data: %.2f epochs", summary["run"], summary["epochs"])
record = io.provenance("ladder_train", spec=spec, data=facts.get("provenance"))
io.write_parquet(analysis.run_frame(summary, curve), snakemake.output[0], record)
train.finish(snakemake.params.checkpoint)
