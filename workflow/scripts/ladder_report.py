"""The ladder's Markdown section (rule ladder_report)."""
import json
import os

from scalelaw import io, logs
from scalelaw.ladder import report

log = logs.to_file(snakemake.log[0])
i = snakemake.input
summary = json.loads(open(i.summary, encoding="utf-8").read())
facts = json.loads(open(i.facts, encoding="utf-8").read())
figures = [os.path.relpath(f, os.path.dirname(snakemake.output[0])) for f in i.figures]
text = report.markdown(io.read_parquet(i.runs), io.read_parquet(i.fits), io.read_parquet(i.isoflop), summary, facts,
                       figures, summary["parameter_count"])
io.write_text(text, snakemake.output[0])
