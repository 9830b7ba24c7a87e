"""One ladder training run (rule ladder_train): its row with n-gram baselines, and the
trained model as a Hugging Face folder."""
import functools
import json

import numpy as np

from scalelaw import io, logs
from scalelaw.ladder import analysis, export, train

log = logs.to_file(snakemake.log[0])
spec = snakemake.params.spec
facts = json.load(open(snakemake.input.facts))
save = functools.partial(export.save_model, tokenizer_file=snakemake.input.tokenizer,
                         out_dir=snakemake.output.model, corpus=snakemake.params.corpus)
summary, curve = train.train_run(
    run=snakemake.wildcards.run, size=spec["size"], tokens=int(spec["tokens"]),
    train_seqs=np.load(snakemake.input.train, mmap_mode="r"), val_seqs=np.load(snakemake.input.val, mmap_mode="r"),
    vocab_size=int(facts["vocab_size"]), settings=spec["train"], checkpoint=snakemake.params.checkpoint,
    device=spec["device"], dtype=spec["dtype"], threads=snakemake.threads, export=save,
)
log.info("%s", summary)
if summary["epochs"] > 1:
    log.warning("%s repeats the training data: %.2f epochs", summary["run"], summary["epochs"])
if not summary["val_loss"] < summary["bigram_val_loss"]:
    log.warning("%s: validation loss %.4f is not below its Kneser-Ney bigram's %.4f", summary["run"],
                summary["val_loss"], summary["bigram_val_loss"])
record = io.provenance("ladder_train", spec=spec, data=facts.get("provenance"))
io.write_parquet(analysis.run_frame(summary, curve), snakemake.output.run, record)
train.finish(snakemake.params.checkpoint)
logs.console(f"ladder: {summary['run']} trained: validation loss {summary['val_loss']:.3f} nats/token "
             f"(its Kneser-Ney bigram {summary['bigram_val_loss']:.3f})")
