"""Bad data, faults and reruns: nothing is lost and every outcome explains itself."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from support.workflow_helpers import ROOT, SNAKEMAKE, TEST_CONFIG, snakemake, write_config

pytestmark = pytest.mark.slow

BAD_DOCS = {
    "empty.txt": b"",
    "blank.txt": b"   \n\t\n  ",
    "no_terminator.txt": b"a document that never ends its only sentence",
    "huge_sentence.txt": b"word " * 200_000,
    "invalid_utf8.txt": b"Valid start. Then a bad byte \xff\xfe here. And more.",
    "control_chars.txt": b"First part.\x07Second part.\x00 Third part.",
    "mixed_scripts.txt": "English words here. Русский текст тоже. Ελληνικά επίσης.".encode(),
    "chinese.txt": "今天天气很好。我们去公园散步吧！你想一起来吗？".encode(),
    "japanese.txt": "今日はいい天気です。公園に行きましょう！一緒に来ますか？".encode(),
    "emoji.txt": "We won 🎉🎉 the game. Everyone was happy 😀. Great day!".encode(),
    "punctuation_only.txt": b"... --- !!! ???",
    "normal_1.txt": b"The committee met on Monday. It approved the budget. Members then left.",
    "normal_2.txt": ("A longer report follows here. " * 30).encode(),
}


def bad_corpus_config(workdir: Path, **changes) -> Path:
    corpus_dir = workdir / "messy"
    corpus_dir.mkdir(exist_ok=True)
    for name, content in BAD_DOCS.items():
        (corpus_dir / name).write_bytes(content)
    return write_config(
        workdir / "messy.yaml",
        use_corpora=["messy"],
        **{"corpora.messy": {"source": "files", "format": "text", "paths": ["messy/*.txt"], "shards": 2}},
        **{"fit.min_docs": 3, **changes},
    )


def test_messy_corpus_every_document_accounted_for(tmp_path):
    config = bad_corpus_config(tmp_path)
    snakemake(tmp_path, "--cores", "2", configfile=config)
    quality = pd.read_csv(tmp_path / "results" / "report" / "quality.csv").iloc[0]
    assert quality["documents_read"] == len(BAD_DOCS)
    assert quality["dropped_empty"] == 2
    # ASCII with two stray high bytes is read as Windows-1252 (decoded, counted), not dropped
    assert quality["files_not_utf8"] == 1 and quality["files_not_utf8_encodings"] == "cp1252 x1"
    assert quality["documents_with_replaced_bytes"] == 0
    assert quality["control_characters_replaced"] == 2
    assert quality["documents_kept"] == len(BAD_DOCS) - 2 == quality["measured"]
    assert quality["no_words"] == 1  # punctuation only
    assert quality["excluded_long_sentences"] == 1  # huge_sentence.txt: 200,000 words, no terminator
    assert quality["excluded_long_sentence_ids"] == "huge_sentence.txt"
    assert quality["usable"] == quality["measured"] - quality["no_words"] - quality["excluded_long_sentences"]

    docs = pd.read_parquet(tmp_path / "results" / "messy" / "doc_lengths.parquet").set_index("doc_id")
    assert docs.loc["punctuation_only.txt", "status"] == "no_words"
    assert docs.loc["chinese.txt", "n_sentences"] == 3
    assert docs.loc["japanese.txt", "n_sentences"] == 3
    assert docs.loc["huge_sentence.txt", "L_words"] == 200_000
    # a sentence longer than a segmentation window is cut at windows (1 MB here: 5 long, a short rest)
    assert docs.loc["huge_sentence.txt", "n_long_sentences"] >= docs.loc["huge_sentence.txt", "n_sentences"] - 1 >= 1
    assert docs.loc["huge_sentence.txt", "status"] == "long_sentences"
    assert docs.loc["control_chars.txt", "n_sentences"] == 3
    assert docs.loc["no_terminator.txt", "n_sentences"] == 1
    summary = (tmp_path / "results" / "report" / "summary.md").read_text()
    assert "messy" in summary


def test_too_small_corpus_says_so_instead_of_numbers(tmp_path):
    config = write_config(tmp_path / "small.yaml", **{"corpora.sotu.max_docs": 4, "corpora.sotu.shards": 1})
    snakemake(tmp_path, "--cores", "2", configfile=config)
    fits = pd.read_parquet(tmp_path / "results" / "sotu" / "fit" / "fits.parquet")
    assert len(fits) == 0
    summary = (tmp_path / "results" / "report" / "summary.md").read_text()
    assert "not fitted: corpus 'sotu', unit 'words': 4 usable documents of 4" in summary
    assert "need at least 10" in summary


def parquet_contents(results: Path) -> dict[str, pd.DataFrame]:
    return {str(p.relative_to(results)): pd.read_parquet(p) for p in sorted(results.rglob("*.parquet"))}


def assert_same_results(a: Path, b: Path):
    left, right = parquet_contents(a), parquet_contents(b)
    assert left.keys() == right.keys()
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)
    assert (a / "sotu" / "fit" / "fits.json").read_text() != ""
    assert (a / "report" / "summary.md").read_text() == (b / "report" / "summary.md").read_text()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("baseline")
    snakemake(workdir, "--cores", "2")
    return workdir


def test_two_runs_are_identical(baseline, tmp_path):
    snakemake(tmp_path, "--cores", "2")
    assert_same_results(baseline / "results", tmp_path / "results")


def test_sigkill_during_extraction_then_rerun_equals_uninterrupted(baseline, tmp_path):
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile", str(TEST_CONFIG),
           "--cores", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    lengths_logs = tmp_path / "logs" / "sotu" / "lengths"
    deadline = time.monotonic() + 120
    while not (lengths_logs.exists() and any(lengths_logs.iterdir())):
        assert proc.poll() is None, "the run finished before extraction could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "results" / "sotu" / "doc_lengths.parquet").exists()
    # whatever a killed job left is either complete or hidden under a temporary name
    for path in (tmp_path / "results").rglob("*.parquet"):
        pq.read_metadata(path)
    locked = snakemake(tmp_path, "--cores", "2", check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stderr  # Snakemake says what to do
    snakemake(tmp_path, "--unlock")
    snakemake(tmp_path, "--cores", "2", "--rerun-incomplete")
    assert_same_results(baseline / "results", tmp_path / "results")


def test_disk_full_names_the_path(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(results)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        proc = snakemake(tmp_path, "--cores", "1", "--show-failed-logs", check=False)
    finally:
        subprocess.run(["umount", str(results)], check=True)
    assert proc.returncode != 0
    console = proc.stdout + proc.stderr
    # one line names the output (not the data) and the job's log; the job is not retried
    assert ("scalelaw: output not written in corpus (corpus=sotu): cannot write results/sotu/documents.parquet: "
            "No space left on device [log: logs/sotu/corpus.log]") in console
    assert "scalelaw: not retried" in console
    log = (tmp_path / "logs" / "sotu" / "corpus.log").read_text()
    assert "OutputError: cannot write results/sotu/documents.parquet: No space left on device" in log
    assert not (results / "sotu" / "documents.parquet").exists()


def generation_config(path: Path, model_dir: Path) -> Path:
    """A sweep on a tiny random model: a cell slow enough (one prompt per batch) to kill."""
    return write_config(
        path,
        **{
            "corpora.sotu.max_docs": 12,
            "corpora.sotu.shards": 1,
            "generate": {
                "enabled": True, "corpus": "sotu",
                "models": [{"name": "tiny", "path": str(model_dir), "note": "random weights (test)"}],
                "prompt_tokens": [16], "n_prompts": 6, "decoding": [{"name": "sample", "temperature": 1.0}],
                "max_new_tokens": [400], "seeds": [0], "batch_size": 1, "threads": 1,
                "fit": {"n_bootstrap": 0},
            },
        },
    )


def without_timing(frame: pd.DataFrame) -> pd.DataFrame:
    timing = [c for c in frame.columns if any(k in c for k in ("seconds", "per_s", "time", "elapsed"))]
    return frame.drop(columns=timing)


def test_sigkill_during_a_generation_cell_then_rerun_equals_uninterrupted(tmp_path):
    from support.generate_helpers import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "tiny", eos_scale=1.0)
    target = "results/sotu/generate/generations.parquet"
    whole = tmp_path / "whole"
    whole.mkdir()
    snakemake(whole, target, "--cores", "2", configfile=generation_config(tmp_path / "g.yaml", model_dir))

    killed = tmp_path / "killed"
    killed.mkdir()
    config = generation_config(tmp_path / "g.yaml", model_dir)
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(killed), "--configfile", str(config),
           "--cores", "2", target]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cell_logs = killed / "logs" / "generate" / "cells"
    deadline = time.monotonic() + 180
    while not (cell_logs.exists() and any(cell_logs.rglob("*.log"))):
        assert proc.poll() is None, "the run finished before the cell could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(1.0)  # let the cell load the model and start generating
    assert proc.poll() is None, "the cell finished within a second; make it slower"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    cells = list((killed / "results").rglob("cells/**/*.parquet"))
    assert cells == [], "a killed cell left an output file"
    snakemake(killed, "--unlock", configfile=config)
    snakemake(killed, target, "--cores", "2", "--rerun-incomplete", configfile=config)

    (a,) = list((whole / "results").rglob("cells/**/*.parquet"))
    (b,) = list((killed / "results").rglob("cells/**/*.parquet"))
    pd.testing.assert_frame_equal(without_timing(pd.read_parquet(a)), without_timing(pd.read_parquet(b)))
    pd.testing.assert_frame_equal(
        without_timing(pd.read_parquet(whole / target)), without_timing(pd.read_parquet(killed / target))
    )
