"""The answers of a finished run, where people look first: the console and the HTML report.

Every report the workflow writes opens with its answer: a question as a heading and the
answer as a list of bullets right below it (``results/report/summary.md``, the generation
and ladder reports). ``lead`` takes that first list from a report, so the console (the
Snakefile's ``onsuccess``, ``make run``) and the HTML report's landing page show the
reports' own sentences, never a paraphrase that could disagree with them.

    python -m scalelaw.answers [DIRECTORY] [--configfile FILE]
    python -m scalelaw.answers [DIRECTORY] --readme README.md

prints the answers of the run in DIRECTORY (default: here), or copies them into the
README between its answers markers (``make readme``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

SUMMARY = "results/report/summary.md"
MAX_BULLETS = 8
README_BEGIN = "<!-- answers: generated from results/report/summary.md by `make readme`; do not edit -->"
README_END = "<!-- end of answers -->"


def _bullets(lines: list[str], start: int) -> tuple[list[list[str]], int]:
    """The bullet list starting at ``start`` and the index after it: one entry per top-level
    bullet, its nested bullets ("  - ") kept as lines of their own after it (wrapped lines
    joined)."""
    bullets: list[list[str]] = []
    i = start
    while i < len(lines):
        line = lines[i]
        if line.startswith("- "):
            bullets.append([line])
        elif line.lstrip().startswith("- ") and line.startswith("  ") and bullets:
            bullets[-1].append("  " + line.strip())  # a nested bullet
        elif line.startswith("  ") and line.strip() and bullets:
            bullets[-1][-1] += " " + line.strip()  # a bullet wrapped over several lines
        else:
            break
        i += 1
    return bullets, i


def _next_content(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def lead(markdown: str, max_bullets: int = MAX_BULLETS) -> list[str]:
    """The questions and answers a report opens with: the first bullet list with the heading
    right above it, and each next section that is also a heading over a bullet list (two
    questions, two answers); or else the first paragraph after the title."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("- ")), None)
    if start is None:
        body = [line for line in lines if not line.startswith("#")]
        text = "\n".join(body).strip().split("\n\n")[0]
        return [" ".join(text.split())] if text else []
    heading = next((lines[i].lstrip("#").strip() for i in range(start - 1, -1, -1)
                    if lines[i].startswith("#")), None)
    out = [heading] if heading else []
    shown = hidden = 0
    i = start
    while True:
        bullets, i = _bullets(lines, i)
        room = max(max_bullets - shown, 0)
        out += [line for bullet in bullets[:room] for line in bullet]
        shown += min(len(bullets), room)
        hidden += max(len(bullets) - room, 0)
        i = _next_content(lines, i)
        if i >= len(lines) or not lines[i].startswith("#"):
            break
        after = _next_content(lines, i + 1)
        if after >= len(lines) or not lines[after].startswith("- "):
            break
        out.append(lines[i].lstrip("#").strip())
        i = after
    if hidden:
        out.append(f"- ... and {hidden} more in the report")
    return out


def report_paths(config: Mapping[str, Any], root: Path) -> list[str]:
    """The Markdown reports of this configuration that exist under ``root``, answers first."""
    corpora = list(config.get("use_corpora") or [])
    candidates = [SUMMARY]
    candidates += [f"results/{c}/generate/report.md" for c in corpora]
    candidates += [f"results/{c}/ladder/report.md" for c in corpora]
    candidates += [f"results/tables/{name}/report.md" for name in (config.get("law_tables") or {})]
    return [path for path in candidates if (root / path).is_file()]


def _plain(line: str) -> str:
    return line.replace("**", "")


def console_message(config: Mapping[str, Any], root: Path | str = ".", report_hint: str = "") -> str:
    """What ``make run`` and the Snakefile's onsuccess print at the end of a run."""
    root = Path(root)
    paths = report_paths(config, root)
    if not paths:
        return f"scalelaw: no report yet under {root.resolve()} ({SUMMARY} is missing)."
    out = ["", "scalelaw: the answers of this run"]
    for path in paths:
        lines = lead((root / path).read_text(encoding="utf-8"))
        if lines:
            out.append(f"  {path}:")
            out += [f"    {_plain(line)}" for line in lines]
    out.append("scalelaw: reports: " + ", ".join(paths))
    if report_hint:
        out.append(f"scalelaw: HTML report with every figure and caption: {report_hint}")
    return "\n".join(out)


def _rst_inline(text: str) -> str:
    """Markdown inline text as reStructuredText: code spans doubled, stray markup escaped."""
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    text = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)
    return re.sub(r"(\w)_(?=\W|$)", r"\1\\_", text)  # word_ would be a link target


def landing_rst(template: str, config: Mapping[str, Any], root: Path | str = ".") -> str:
    """The HTML report's first page: ``template`` (workflow/report/workflow.rst), with the
    line ``.. answers`` replaced by the leads of this run's reports."""
    root = Path(root)
    block = []
    for path in report_paths(config, root):
        lines = lead((root / path).read_text(encoding="utf-8"))
        if not lines:
            continue
        block.append(f"``{path}``:")
        block.append("")
        for line in lines:
            if line.startswith("- "):
                block.append(f"- {_rst_inline(line[2:])}")
            elif line.startswith("  - "):  # a nested bullet: reStructuredText wants blank lines around it
                block += ["", f"  - {_rst_inline(line[4:])}", ""]
            else:  # a question (or the report's opening paragraph)
                block += ["", f"**{_rst_inline(line)}**", ""]
        block.append("")
    if not block:
        block = [f"No report yet (``{SUMMARY}`` is missing): run the workflow first.", ""]
    # the report's text passes through Jinja: the run's sentences are not templates
    answers = "{% raw %}\n" + "\n".join(block) + "\n{% endraw %}"
    return template.replace(".. answers", answers)


def readme_block(summary_md: str) -> str:
    """The summary's questions (bold) and answers (its own bullets), as the README shows them."""
    return "\n".join(line if line.lstrip().startswith("- ") else f"\n**{line}**\n"
                     for line in lead(summary_md)).strip()


def update_readme(readme: str, summary_md: str) -> str:
    """The README with the text between its answers markers replaced by ``readme_block``."""
    from scalelaw.report import replace_between

    return replace_between(readme, README_BEGIN, README_END, readme_block(summary_md), "answers")


def load_config(configfiles: Iterable[str | Path], default: Path) -> dict[str, Any]:
    """The default config updated by each file in turn, the keys ``report_paths`` needs."""
    config = yaml.safe_load(default.read_text(encoding="utf-8")) or {}
    for path in configfiles:
        config.update(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    return config


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Print the answers of a finished run.")
    parser.add_argument("directory", nargs="?", default=".", help="the run's working directory")
    parser.add_argument("--configfile", action="append", default=[], help="the run's config file(s)")
    parser.add_argument("--report-hint", default="", help="how to build the HTML report")
    parser.add_argument("--readme", help="instead: copy the run's answers into this README")
    args = parser.parse_args(argv)
    if args.readme:
        readme = Path(args.readme)
        summary = (Path(args.directory) / SUMMARY).read_text(encoding="utf-8")
        readme.write_text(update_readme(readme.read_text(encoding="utf-8"), summary), encoding="utf-8")
        return 0
    default = Path(__file__).resolve().parents[2] / "config" / "config.yaml"
    config = load_config(args.configfile, default)
    print(console_message(config, Path(args.directory), args.report_hint))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
