from scalelaw import io, logs

log = logs.to_file(snakemake.log[0])
for name in ("sentences", "doc_lengths"):
    paths = list(getattr(snakemake.input, name))
    table = io.read_parquet(paths)
    record = {**io.read_provenance(paths[0]), "shard": None, "merged_shards": len(paths)}
    io.write_parquet(table, getattr(snakemake.output, name), record)
    log.info("%s: %d rows from %d shards", name, len(table), len(paths))
