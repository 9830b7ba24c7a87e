import json

import pandas as pd

from scalelaw import io, logs, report
from scalelaw.fitting.covariate import covariate_check

log = logs.to_file(snakemake.log[0])
fits = io.read_parquet(list(snakemake.input.fits))
summaries = pd.concat([io.read_parquet(p) for p in snakemake.input.summaries], ignore_index=True)
sensitivity = pd.concat([io.read_parquet(p) for p in snakemake.input.sensitivity], ignore_index=True)
quality = [
    report.quality_row(json.load(open(q)), io.read_parquet(d, columns=["doc_id", "status", "n_sentences", "n_fragments", "n_long_sentences"]))
    for q, d in zip(snakemake.input.quality, snakemake.input.doc_lengths)
]

# Does report.color_by (a document column such as the year) explain S better than L?
color_by = snakemake.params.color_by
covariates = []
for corpus, lengths, documents in zip(snakemake.params.corpora, snakemake.input.doc_lengths, snakemake.input.documents):
    if not color_by or color_by not in io.pq.ParquetFile(documents).schema_arrow.names:
        log.info("corpus %s has no column %r: no document-column check", corpus, color_by)
        continue
    docs = io.read_parquet(lengths).merge(io.read_parquet(documents, columns=["doc_id", color_by]), on="doc_id", how="left")
    for unit in snakemake.params.units:
        check = covariate_check(docs, unit, color_by, corpus=corpus)
        if check is not None:
            covariates.append(check)

io.write_text(report.summary_markdown(summaries, quality, fits, sensitivity, covariates), snakemake.output.markdown)
io.write_text(pd.DataFrame(quality).to_csv(index=False), snakemake.output.quality)
io.write_figure(report.sensitivity_figure(sensitivity), snakemake.output.sensitivity)
logs.console(f"text law: the answers are in {snakemake.output.markdown}")
