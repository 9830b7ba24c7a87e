"""The generation sweep's Markdown report section (rule generate_report)."""
import json
import os

from scalelaw import io, logs
from scalelaw.generate import report

with logs.job(snakemake) as log:
    i = snakemake.input
    summary = json.loads(open(i.summary, encoding="utf-8").read())
    tables = {k: io.read_parquet(getattr(i, k)) for k in ("censoring", "km", "fits", "loss_size", "hazard_summary")}
    figures = [os.path.relpath(f, os.path.dirname(snakemake.output[0])) for f in i.figures]
    io.write_text(report.markdown(summary, tables, figures), snakemake.output[0])
