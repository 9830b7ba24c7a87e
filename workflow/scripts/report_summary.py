import json

import pandas as pd

from scalelaw import io, logs, report

log = logs.to_file(snakemake.log[0])
fits = io.read_parquet(snakemake.input.fits)
summaries = io.read_parquet(snakemake.input.summaries)
quality = [
    report.quality_row(json.load(open(q)), io.read_parquet(d, columns=["doc_id", "status", "n_sentences", "n_fragments", "n_long_sentences"]))
    for q, d in zip(snakemake.input.quality, snakemake.input.doc_lengths)
]
io.write_text(report.summary_markdown(summaries, quality, fits), snakemake.output.markdown)
io.write_text(pd.DataFrame(quality).to_csv(index=False), snakemake.output.quality)
