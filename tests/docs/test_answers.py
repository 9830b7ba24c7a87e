"""The answers a run prints last and the HTML report opens on: the reports' own lead lines."""

import re

import jinja2
from docutils.core import publish_parts

from scalelaw import answers
from support.workflow_helpers import ROOT

SUMMARY = """# Sentence length against document length

## Do longer documents have longer sentences?

- **sotu**, lengths in words: no detectable trend, b = 0.02 [-0.04, 0.08] `trend`
- **sotu**, lengths in tokens: a bullet wrapped
  over two lines | with a pipe and a word_ and {{ braces }}

## Results

| corpus | b |
|---|---|

## Later

- not part of the lead
"""


def _write(root, path, text):
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def test_lead_is_the_first_list_and_its_question():
    lines = answers.lead(SUMMARY)
    assert lines[0] == "Do longer documents have longer sentences?"
    assert len(lines) == 3 and lines[2].endswith("{{ braces }}") and "over two lines" in lines[2]
    many = "# T\n\n## Q\n\n" + "\n".join(f"- answer {i}" for i in range(12)) + "\n"
    assert answers.lead(many, max_bullets=5)[-1] == "- ... and 7 more in the report"


def test_lead_without_a_list_is_the_first_paragraph():
    assert answers.lead("# Model ladder\n\n16 training runs\nof Llama models.\n\n## Figures\n") == [
        "16 training runs of Llama models."]
    assert answers.lead("") == []


def test_console_names_only_this_configs_reports(tmp_path):
    config = {"use_corpora": ["mine"], "law_tables": {}}
    assert "results/report/summary.md is missing" in answers.console_message(config, tmp_path)
    _write(tmp_path, "results/report/summary.md", SUMMARY)
    _write(tmp_path, "results/mine/generate/report.md", "## Generation\n\n### Q2?\n\n- grows by 44 %\n")
    _write(tmp_path, "results/sotu/ladder/report.md", "# Model ladder\n\nanother config's run\n")
    text = answers.console_message(config, tmp_path, "make report CONFIG=my.yaml")
    assert "sotu, lengths in words: no detectable trend" in text  # markdown bold dropped
    assert "Q2?" in text and "grows by 44 %" in text
    assert "another config" not in text and "results/sotu/ladder" not in text
    assert text.splitlines()[-2] == ("scalelaw: reports: results/report/summary.md, "
                                     "results/mine/generate/report.md")
    assert text.endswith("make report CONFIG=my.yaml")


def test_landing_page_renders_through_jinja_and_docutils(tmp_path):
    _write(tmp_path, "results/report/summary.md", SUMMARY)
    template = (ROOT / "workflow" / "report" / "workflow.rst").read_text(encoding="utf-8")
    rst = answers.landing_rst(template, {"use_corpora": ["sotu"]}, tmp_path)

    class Snakemake:  # what Snakemake's report hands the global description
        config = {"use_corpora": ["sotu"]}

    rendered = jinja2.Environment().from_string(rst).render(snakemake=Snakemake)
    html = publish_parts(rendered, writer="html",
                         settings_overrides={"report_level": 2, "halt_level": 2})["html_body"]
    assert "Do longer documents have longer sentences?" in html
    assert "{{ braces }}" in html and "| with a pipe and a word_" in html  # taken literally
    assert "asks two questions of the corpora sotu" in html
    assert "not part of the lead" not in html and ".. answers" not in html


def test_landing_page_without_a_run_says_so(tmp_path):
    rst = answers.landing_rst(".. answers\n", {"use_corpora": ["sotu"]}, tmp_path)
    assert "No report yet" in rst


def _priorities(path):
    rules = re.split(r"^\s*rule (\w+):", path.read_text(), flags=re.M)[1:]
    result = {}
    for name, body in zip(rules[::2], rules[1::2]):
        match = re.search(r"^\s*priority:\s*(-?\d+)", body, flags=re.M)
        result[name] = int(match.group(1)) if match else 0
    return result


def test_text_law_rules_run_before_training_and_generation():
    rules_dir = ROOT / "workflow" / "rules"
    text = {}
    for name in ("corpus", "tokenize", "lengths", "fit", "report"):
        text.update(_priorities(rules_dir / f"{name}.smk"))
    later = {**_priorities(rules_dir / "generate.smk"), **_priorities(rules_dir / "ladder.smk")}
    assert {"corpus", "tokenize", "lengths", "fit", "fit_summary", "report_summary"} <= set(text)
    assert later and min(text.values()) > max(later.values())


def test_lead_takes_every_question_that_opens_the_report():
    two = ("# Title\n\n## Does S grow with L?\n\n- increasing\n\n## More than L = n·S?\n\n"
           "- as_null\n- second corpus\n\n## Results\n\n| table |\n\n## Later\n\n- not a lead\n")
    assert answers.lead(two) == ["Does S grow with L?", "- increasing", "More than L = n·S?",
                                 "- as_null", "- second corpus"]
    assert answers.lead(two, max_bullets=2)[-1] == "- ... and 1 more in the report"


def test_readme_answers_are_copied_between_their_markers_only():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert answers.README_BEGIN in readme and answers.README_END in readme
    updated = answers.update_readme(readme, SUMMARY)
    assert answers.update_readme(updated, SUMMARY) == updated
    block = updated.split(answers.README_BEGIN)[1].split(answers.README_END)[0]
    assert block.strip().splitlines() == [
        "**Do longer documents have longer sentences?**", "",
        *[line for line in answers.lead(SUMMARY) if line.startswith("- ")]]
    outside = lambda text: text.split(answers.README_BEGIN)[0] + text.split(answers.README_END)[1]  # noqa: E731
    assert outside(updated) == outside(readme)
