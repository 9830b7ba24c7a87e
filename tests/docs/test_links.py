"""The documentation's links stay inside the repository and lead somewhere."""

import re

import pytest

from support.workflow_helpers import ROOT

DOCS = ["README.md", "CHANGELOG.md", "config/README.md", "benchmarks/README.md",
        *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))]

# Pages the README and docs/index.md link to that other parts of this round write; each
# name leaves this list when its page is merged (the test below fails until it does).

LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path):
    return {_slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")}


def _links():
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for target in LINK.findall(text):
            yield doc, target


@pytest.mark.parametrize("doc", DOCS)
def test_no_link_leaves_the_repository(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert "shared/notes" not in text
    for target in LINK.findall(text):
        assert not re.match(r"[a-z]+:", target), f"{doc} links outside the repository: {target}"
        resolved = ((ROOT / doc).parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc}: {target}"


def test_every_link_leads_to_a_file_and_heading():
    broken = []
    for doc, target in _links():
        path, _, anchor = target.partition("#")
        file = ((ROOT / doc).parent / path).resolve() if path else ROOT / doc
        name = str(file.relative_to(ROOT))
        if not file.exists():
            broken.append(f"{doc}: {target} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{doc}: {target} (no such heading)")
    assert not broken
