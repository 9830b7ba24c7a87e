import json

import pandas as pd

from scalelaw import io, logs, report

log = logs.to_file(snakemake.log[0])
fits = io.read_parquet(list(snakemake.input.fits))
summaries = pd.concat([io.read_parquet(p) for p in snakemake.input.summaries], ignore_index=True)
sensitivity = pd.concat([io.read_parquet(p) for p in snakemake.input.sensitivity], ignore_index=True)
quality = [
    report.quality_row(json.load(open(q)), io.read_parquet(d, columns=["doc_id", "status", "n_sentences", "n_fragments", "n_long_sentences"]))
    for q, d in zip(snakemake.input.quality, snakemake.input.doc_lengths)
]
io.write_text(report.summary_markdown(summaries, quality, fits, sensitivity), snakemake.output.markdown)
io.write_text(pd.DataFrame(quality).to_csv(index=False), snakemake.output.quality)
report.save(report.sensitivity_figure(sensitivity), snakemake.output.sensitivity)
