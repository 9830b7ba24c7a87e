"""Ladder fits (rule ladder_fit): collect runs, fit L(N, D), IsoFLOP, L(N), L(D)."""
from scalelaw import io, logs
from scalelaw.fitting.result import results_frame
from scalelaw.ladder import analysis

with logs.job(snakemake) as log:
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    runs, curves = analysis.collect([io.read_parquet(f) for f in i.runs])
    results, isoflop, summary = analysis.fit_ladder(runs, p.fit, p.parameter_count, dict(p.budgets),
                                                    group={"design": p.design})
    for w in summary["warnings"]:
        log.warning(w)
    record = io.provenance("ladder_fit", fit=dict(p.fit), parameter_count=p.parameter_count, design=p.design)
    io.write_parquet(runs, o.runs, record)
    io.write_parquet(curves, o.curves, record)
    io.write_parquet(results_frame(results), o.fits, record)
    io.write_parquet(isoflop, o.isoflop, record)
    io.write_json({"provenance": record, **summary}, o.summary)
