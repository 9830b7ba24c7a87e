"""Reliability, round two, from the user's side: exit code, the one line shown, and no
stale or wrong numbers. Each test runs the real workflow in a scratch directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from support.workflow_helpers import ROOT, SNAKEMAKE, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.slow

SENTENCES = [
    "The committee met on Monday.", "It approved the budget after a long debate.",
    "Members then left for the evening.", "A vote is planned for next week.",
    "Nobody expected the outcome.", "The chair thanked everyone for coming.",
]


def normal_doc(i: int) -> str:
    return " ".join(SENTENCES[j % len(SENTENCES)] for j in range(i + 2))


def files_corpus(workdir: Path, name: str, files: dict[str, bytes | str], spec: dict | None = None,
                 **changes) -> Path:
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    for file, content in files.items():
        target = folder / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    spec = {"source": "files", "format": "text", "paths": [f"{name}/*.txt"], "shards": 1, **(spec or {})}
    return write_config(
        workdir / f"{name}.yaml", use_corpora=[name], **{f"corpora.{name}": spec},
        **{"fit.min_docs": 3, "fit.null_model.reps": 5, **changes},
    )


def quality(workdir: Path, corpus: str) -> dict:
    return json.loads((workdir / "results" / corpus / "corpus_quality.json").read_text())


# --- 1. changed input data is noticed ----------------------------------------------------


def test_changed_or_added_files_rerun_the_corpus_and_everything_after_it(tmp_path):
    docs = {f"d{i:02d}.txt": normal_doc(i) for i in range(8)}
    config = files_corpus(tmp_path, "mine", docs, **{"fit.units": ["words"]})
    snakemake(tmp_path, "--cores", "2", configfile=config)
    assert planned_jobs(tmp_path, config) == {}

    # touching a file (same content) changes nothing
    os.utime(tmp_path / "mine" / "d00.txt", (time.time() + 5, time.time() + 5))
    assert planned_jobs(tmp_path, config) == {}

    # editing a file reruns the corpus and all that depends on it, and the numbers follow
    (tmp_path / "mine" / "d00.txt").write_text("Now a different text. " * 40)
    planned = planned_jobs(tmp_path, config)
    assert {"corpus", "tokenize", "lengths", "lengths_merge", "fit", "report_summary"} <= set(planned)
    snakemake(tmp_path, "--cores", "2", configfile=config)
    lengths = pd.read_parquet(tmp_path / "results" / "mine" / "doc_lengths.parquet").set_index("doc_id")
    assert lengths.loc["d00.txt", "L_words"] == 4 * 40
    assert planned_jobs(tmp_path, config) == {}

    # a new file matching the glob is noticed too
    (tmp_path / "mine" / "d99.txt").write_text(normal_doc(3))
    assert {"corpus", "fit", "report_summary"} <= set(planned_jobs(tmp_path, config))
    snakemake(tmp_path, "--cores", "2", "results/mine/corpus_quality.json", configfile=config)
    assert quality(tmp_path, "mine")["documents_read"] == 9

    # and a removed one
    (tmp_path / "mine" / "d99.txt").unlink()
    assert "corpus" in planned_jobs(tmp_path, config)


def test_a_file_matched_by_two_globs_is_read_once_and_counted(tmp_path):
    docs = {f"d{i}.txt": normal_doc(i) for i in range(4)}
    config = files_corpus(tmp_path, "mine", docs, spec={"paths": ["mine/d0.txt", "mine/*.txt"]})
    snakemake(tmp_path, "--cores", "1", "results/mine/documents.parquet", configfile=config)
    assert quality(tmp_path, "mine")["files_matched_twice"] == 1
    assert quality(tmp_path, "mine")["documents_read"] == 4


# --- 3. degenerate corpora end in "not fitted", never a crash -----------------------------


def test_degenerate_corpora_are_not_fitted_with_counts(tmp_path):
    (tmp_path / "few").mkdir()
    for i in range(2):
        (tmp_path / "few" / f"d{i}.txt").write_text(normal_doc(i))
    (tmp_path / "short").mkdir()
    for i in range(4):
        (tmp_path / "short" / f"d{i}.txt").write_text(normal_doc(i))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "only.jsonl").write_text("")
    (tmp_path / "nulls").mkdir()
    (tmp_path / "nulls" / "n.jsonl").write_text("\n".join(json.dumps({"text": None}) for _ in range(5)))
    corpora = {
        "few": {"source": "files", "format": "text", "paths": ["few/*.txt"], "shards": 3},  # shards > docs
        "short": {"source": "files", "format": "text", "paths": ["short/*.txt"], "min_words": 10_000},
        "empty": {"source": "files", "format": "jsonl", "paths": ["empty/only.jsonl"]},
        "nulls": {"source": "files", "format": "jsonl", "paths": ["nulls/n.jsonl"]},
    }
    config = write_config(tmp_path / "c.yaml", use_corpora=list(corpora), corpora=corpora,
                          **{"fit.min_docs": 3, "fit.units": ["words", "tokens"]})
    proc = snakemake(tmp_path, "--cores", "2", configfile=config, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = (tmp_path / "results" / "report" / "summary.md").read_text()
    expected = {"few": (2, 2), "short": (0, 0), "empty": (0, 0), "nulls": (0, 0)}
    for name, (usable, measured) in expected.items():
        for unit in ("words", "tokens"):
            assert (f"not fitted: corpus '{name}', unit '{unit}': {usable} usable documents of {measured}"
                    in summary), (name, unit, summary)
        assert len(pd.read_parquet(tmp_path / "results" / name / "fit" / "fits.parquet")) == 0
    assert "need at least 8" in summary  # fit.min_docs 3 is below the bootstrap's floor of 8
    assert quality(tmp_path, "short")["dropped_below_min_words"] == 4
    assert quality(tmp_path, "nulls")["dropped_empty"] == 5
    assert len(pd.read_parquet(tmp_path / "results" / "few" / "doc_lengths.parquet")) == 2


# --- 4. non-text is not text ----------------------------------------------------------------


def test_binary_bom_numbers_and_surrogates(tmp_path):
    (tmp_path / "t").mkdir()
    for i in range(3):
        (tmp_path / "t" / f"d{i}.txt").write_text(normal_doc(i))
    (tmp_path / "t" / "image.txt").write_bytes(bytes(range(256)) * 40)  # NUL and invalid UTF-8
    (tmp_path / "t" / "bom.txt").write_bytes(b"\xef\xbb\xbf" + normal_doc(4).encode())
    (tmp_path / "j").mkdir()
    rows = [{"text": normal_doc(1)}, {"text": 12345}, {"text": "3.14"}, {"text": "Broken \ud800 pair. Yes."}]
    (tmp_path / "j" / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    corpora = {
        "t": {"source": "files", "format": "text", "paths": ["t/*.txt"]},
        "j": {"source": "files", "format": "jsonl", "paths": ["j/*.jsonl"]},
    }
    config = write_config(tmp_path / "c.yaml", use_corpora=list(corpora), corpora=corpora)
    snakemake(tmp_path, "--cores", "2", "results/t/documents.parquet", "results/j/documents.parquet",
              configfile=config)
    t = quality(tmp_path, "t")
    assert t["binary_files_dropped"] == 1 and t["files_read"] == 5 and t["documents_kept"] == 4
    assert t["byte_order_marks_stripped"] == 1
    docs = pd.read_parquet(tmp_path / "results" / "t" / "documents.parquet").set_index("doc_id")
    assert "image.txt" not in docs.index
    assert docs.loc["bom.txt", "text"].startswith("The committee")
    j = quality(tmp_path, "j")
    assert j["dropped_not_text"] == 2 and j["surrogates_replaced"] == 1 and j["documents_kept"] == 2
    texts = pd.read_parquet(tmp_path / "results" / "j" / "documents.parquet")["text"].tolist()
    assert texts[1] == "Broken \ufffd pair. Yes."


def test_legacy_encodings_line_endings_and_broken_links_through_the_workflow(tmp_path):
    """The corpus job reads the files its manifest lists: the counts and names that come
    from the listing (broken links) and from reading (encodings) both reach the table."""
    (tmp_path / "t").mkdir()
    for i in range(3):
        (tmp_path / "t" / f"d{i}.txt").write_text(normal_doc(i))
    (tmp_path / "t" / "win.txt").write_bytes("Caf\u00e9 \u201cquoted\u201d here. It\u2019s fine.".encode("cp1252"))
    (tmp_path / "t" / "crlf.txt").write_bytes(normal_doc(2).replace(". ", ".\r\n").encode())
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "t" / "gone.txt")
    config = write_config(tmp_path / "c.yaml", use_corpora=["t"],
                          **{"corpora.t": {"source": "files", "format": "text", "paths": ["t/*.txt"]}})
    snakemake(tmp_path, "--cores", "1", "results/t/documents.parquet", configfile=config)
    q = quality(tmp_path, "t")
    assert q["broken_links"] == 1 and q["broken_links_at"] == "t/gone.txt"
    assert q["files_not_utf8"] == 1 and q["files_not_utf8_encodings"] == "cp1252 x1"
    assert q["line_endings_normalised"] == 1 and q["documents_kept"] == 5
    docs = pd.read_parquet(tmp_path / "results" / "t" / "documents.parquet").set_index("doc_id")
    assert docs.loc["win.txt", "text"] == "Caf\u00e9 \u201cquoted\u201d here. It\u2019s fine."
    assert docs.loc["crlf.txt", "text"] == normal_doc(2).replace(". ", ".\n")


# --- 5. pathological documents are flagged and bounded ----------------------------------------


def test_a_document_with_no_terminator_is_flagged_and_left_out_of_fits(tmp_path):
    docs = {f"d{i:02d}.txt": normal_doc(i) for i in range(10)}
    docs["runon.txt"] = "and then it went on " * 100_000  # 2 MB, 500,000 words, no terminator
    config = files_corpus(tmp_path, "mine", docs)
    snakemake(tmp_path, "--cores", "2", configfile=config)
    lengths = pd.read_parquet(tmp_path / "results" / "mine" / "doc_lengths.parquet").set_index("doc_id")
    assert lengths.loc["runon.txt", "status"] == "long_sentences"
    assert lengths.loc["runon.txt", "L_words"] == 500_000
    row = pd.read_csv(tmp_path / "results" / "report" / "quality.csv").iloc[0]
    assert row["excluded_long_sentences"] == 1 and row["excluded_long_sentence_ids"] == "runon.txt"
    assert row["long_sentences"] >= 1 and row["usable"] == 10
    fits = pd.read_parquet(tmp_path / "results" / "mine" / "fit" / "fits.parquet")
    assert set(fits["n"].dropna().astype(int)) == {10}


# --- 6. user regexes cannot hang the run; 7. errors are shown where the user looks ------------


def test_catastrophic_strip_pattern_fails_fast_with_one_line_and_no_retry(tmp_path):
    docs = {"fine.txt": normal_doc(2), "trap.txt": "a" * 20_000 + "b"}
    config = files_corpus(tmp_path, "mine", docs, spec={"strip_pattern": "(a+)+$", "strip_timeout": 2})
    start = time.monotonic()
    proc = snakemake(tmp_path, "--cores", "1", configfile=config, check=False)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    console = proc.stdout + proc.stderr
    lines = [line for line in console.splitlines() if line.startswith("scalelaw: data error")]
    assert len(lines) == 1, console[-3000:]
    assert "corpora.mine.strip_pattern: gave up after 2 s on document 'trap.txt'" in lines[0]
    assert "logs/mine/corpus.log" in lines[0]
    assert "scalelaw: not retried" in console  # the retry, meant for memory and time limits, stops at once
    assert elapsed < 60
    assert "Traceback" in (tmp_path / "logs" / "mine" / "corpus.log").read_text()


def test_malformed_jsonl_line_is_named_on_the_console(tmp_path):
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "a.jsonl").write_text('{"text": "Fine."}\n{"text": "Also fine."}\n{"text": oops}\n')
    config = write_config(tmp_path / "c.yaml", use_corpora=["j"],
                          **{"corpora.j": {"source": "files", "format": "jsonl", "paths": ["j/*.jsonl"]}})
    proc = snakemake(tmp_path, "--cores", "1", configfile=config, check=False)
    assert proc.returncode != 0
    line = next(l for l in (proc.stdout + proc.stderr).splitlines() if l.startswith("scalelaw: data error"))
    assert "corpora.j: j/a.jsonl, line 3: not valid JSON" in line
    assert not (tmp_path / "results" / "j" / "documents.parquet").exists()


# --- 8. small ones ------------------------------------------------------------------------------


def test_outputs_follow_the_umask(tmp_path):
    config = files_corpus(tmp_path, "mine", {"a.txt": normal_doc(3)})
    mask = os.umask(0o022)
    os.umask(mask)
    snakemake(tmp_path, "--cores", "1", "results/mine/documents.parquet", configfile=config)
    for path in (tmp_path / "results" / "mine").glob("*.*"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


def test_sigint_to_snakemake_alone_stops_its_running_job(tmp_path):
    docs = {"trap.txt": "a" * 30_000 + "b"}  # a job that spins until it is stopped
    config = files_corpus(tmp_path, "mine", docs, spec={"strip_pattern": "(a+)+$", "strip_timeout": 600})
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--cores", "1",
           "results/mine/documents.parquet", "--configfile", str(config)]
    out = open(tmp_path / "snakemake.out", "w")
    # SIGINT at its default, as a terminal gives it (a background shell would pass it ignored)
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    jobs: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while not jobs:
            assert proc.poll() is None, (tmp_path / "snakemake.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "the corpus job did not start"
            jobs = [p for p in psutil.Process(proc.pid).children(recursive=True)
                    if any("corpus.py" in part for part in p.cmdline())]
            time.sleep(0.2)
        time.sleep(1.0)
        os.kill(proc.pid, signal.SIGINT)  # the snakemake process alone, not its group
        proc.wait(timeout=60)
        gone, alive = psutil.wait_procs(jobs, timeout=30)
        assert not alive, f"job still running after SIGINT to snakemake: {alive}"
        assert proc.returncode != 0
        assert not (tmp_path / "results" / "mine" / "documents.parquet").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for job in jobs:  # a job left behind (the failure this test looks for) is reparented to init
            if job.is_running():
                job.kill()
        out.close()
