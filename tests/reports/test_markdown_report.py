"""report.md: the short summary for a pull-request comment or a CI job summary."""

from __future__ import annotations

import re

from riskframe.assessment import Gate, Summary
from riskframe.cli import main
from riskframe.reports import render
from riskframe.reports.markdown_report import MAX_ROWS, render_markdown
from riskframe.reports.markdown_text import ZERO_WIDTH_JOINER


def _table_rows(text: str) -> list[str]:
    """The rows of the Needs attention table."""
    table = text.split("### Needs attention", 1)[1].split("####", 1)[0].split("###", 1)[0] if "### Needs" in text else ""
    return [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| requirement")]


def test_the_gate_decision_and_the_risk_come_first(assessment) -> None:
    lines = render_markdown(assessment).splitlines()
    assert lines[0] == "## riskframe: gate FAILED for digits-classifier"
    assert lines[2] == ("**Gate: FAIL** (the gate is set to fail at `high` risk or above, and whenever a check cannot run)")
    assert lines[4].startswith("Do not release yet: the release gate failed because 1 finding reached the “high” risk")
    assert lines[6] == (
        "**Risk score: 72 / 100 (high).** High risk: at least one finding points to a likely "
        "attack with serious impact; act on it before release."
    )


def test_why_the_gate_failed_and_the_poisoned_share_are_spelled_out(assessment) -> None:
    text = render_markdown(assessment)
    assert (
        "- An estimated 0.94% (interval 0.71% to 1.2%) of the samples of 'train' in stage 'train' "
        "look poisoned (control label-issues)."
    ) in text
    assert (
        "Why the gate failed:\n"
        "- DP-1 at stage train: label-issues on train failed with high residual risk (0.72), at or above fail_on: "
        "high\n"
        "- DP-4 at stage evaluate: label-issues on test ended in error; the gate fails closed\n"
    ) in text
    assert (
        "Results: 1 passed, 1 warning, 1 failed, 1 error (could not run), 1 waived, 1 not applicable (6 results)."
    ) in text


def test_failing_erroring_and_warning_results_are_tabled_in_that_order(assessment) -> None:
    rows = _table_rows(render_markdown(assessment))
    assert rows == [
        "| DP-1: Training labels are not poisoned (label flips) | train | label-issues | train | failed | high (0.72) "
        "| 18 of 1797 training samples look mislabelled (estimated poisoned share 0.94%, above the 1% "
        "threshold); most are 7s labelled 1. |",
        "| DP-4: Test labels are trustworthy | evaluate | label-issues | test | error (could not run) | high (0.64) "
        "| The detector did not finish within its 600 s timeout. |",
        "| DP-2: No class holds out-of-distribution samples | train | class-outliers | train | warning | medium (0.38) "
        "| 31 samples are outliers within their class (1.7%), above the 1.5% warning level. |",
    ]
    assert (
        "| requirement | stage | control | artifact | status | residual risk | summary |\n|---|---|---|---|---|---|---|\n"
        in render_markdown(assessment)
    )


def test_pipes_newlines_and_html_in_cells_cannot_break_the_table(assessment, make_result) -> None:
    nasty = make_result(status="fail", summary="a | b\nc <script>alert(1)</script>", requirement_title="x|y")
    text = render_markdown(assessment.model_copy(update={"results": [nasty]}))
    [row] = _table_rows(text)
    assert row.startswith("| DP-3: x\\|y | ingest |")
    assert row.endswith("| a \\| b c &lt;script&gt;alert(1)&lt;/script&gt; |")
    assert row.replace("\\|", "").count("|") == 8  # seven cells


def test_nist_functions_roll_up_in_one_line_each(assessment) -> None:
    text = render_markdown(assessment)
    assert (
        "### NIST AI RMF\n\n"
        "- **GOVERN**: 0 satisfied, 0 not satisfied, 19 not assessed\n"
        "- **MAP**: 1 satisfied, 0 not satisfied, 17 not assessed\n"
        "- **MEASURE**: 0 satisfied, 2 not satisfied, 20 not assessed\n"
        "- **MANAGE**: 0 satisfied, 1 not satisfied, 12 not assessed\n"
    ) in text


def test_requirements_without_a_stage_are_listed(assessment) -> None:
    assert (
        "Not assessed (no stage to check them on):\n"
        "- DP-7 / spectral-signatures: no stage has a representations artifact\n"
    ) in render_markdown(assessment)


def test_it_says_where_the_full_report_is(assessment, tmp_path) -> None:
    render(assessment, tmp_path, ["md", "json", "html"])
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Full report: `assessment.json`, `report.html` (in the same folder as this file).\n" in text
    assert text.endswith("policies: data-poisoning</sub>\n")
    alone = render_markdown(assessment)
    assert "Re-render the full report with `riskframe report assessment.json --format html`." in alone


def test_a_clean_assessment_reads_as_passed(assessment, make_result) -> None:
    passed = assessment.model_copy(
        update={
            "results": [make_result()],
            "not_assessed": [],
            "summary": Summary(risk_score=12.0, level="low", counts={"pass": 1}, requirements=1, stages=5),
            "gate": Gate(decision="pass", fail_on="high", reasons=[]),
        }
    )
    text = render_markdown(passed)
    assert text.startswith("## riskframe: gate PASSED for digits-classifier\n\n**Gate: PASS**")
    assert "No result failed, errored or warned.\n" in text
    assert "Why the gate" not in text and _table_rows(text) == []
    assert (
        "**Risk score: 12 / 100 (low).** Low risk: the controls found nothing that needs action before release." in text
    )


def test_a_long_list_of_failures_is_capped_and_says_how_many_were_left_out(assessment, make_result) -> None:
    failures = [
        make_result(id=f"R-{i}/ingest/artifact-digest/raw", requirement=f"R-{i}", status="fail")
        for i in range(MAX_ROWS + 10)
    ]
    text = render_markdown(assessment.model_copy(update={"results": failures}))
    assert len(_table_rows(text)) == MAX_ROWS
    assert "\n... and 10 more, listed in full in `riskframe report assessment.json --format html`.\n" in text
    assert len(text) < 65_536  # GitHub's comment limit


# Hostile text, end to end: an assessment.json whose every free-text field carries links, images,
# mentions and HTML, re-rendered by the real command line -----------------------------------------

MENTION = re.compile(r"(?<![\w@/.])@[A-Za-z0-9][A-Za-z0-9-]*")


def test_no_link_image_mention_or_markup_comes_from_user_text(hostile_assessment_json, github_markdown, tmp_path,
                                                              capsys):
    source, hostile = hostile_assessment_json

    code = main(["report", str(source), "--format", "md", "--out", str(tmp_path / "out")])

    assert code == 0 and "Traceback" not in capsys.readouterr().err
    text = (tmp_path / "out/report.md").read_text(encoding="utf-8")
    tokens = github_markdown.parse(text)
    children = [c for t in tokens if t.type == "inline" for c in t.children or []]
    types = {t.type for t in tokens} | {c.type for c in children}
    assert not types & {"link_open", "image", "html_block", "fence", "blockquote_open", "hr"}
    assert {c.content for c in children if c.type == "html_inline"} <= {"<sub>", "</sub>"}  # the footer's own
    headings = ["".join(c.content for c in tokens[i + 1].children or []) for i, t in enumerate(tokens)
                if t.type == "heading_open"]
    assert headings[1:] == ["Needs attention", "NIST AI RMF"]
    assert headings[0].startswith("riskframe: gate FAILED for [click](javascript:alert(1))")
    shown = " ".join(hostile.split())
    words = "".join(c.content for c in children if c.type == "text").replace(ZERO_WIDTH_JOINER, "")
    assert words.count(shown) >= 5  # the text is there, as written, and inert
    assert not MENTION.search("".join(c.content for c in children if c.type == "text"))


def test_a_thousand_failures_stay_under_sixty_thousand_characters(assessment, make_result) -> None:
    """GitHub refuses comments over 65,536 characters; 602 failures once made 159,181."""
    from riskframe.engine.gate import decide

    failures = [make_result(id=f"R-{i}/ingest/artifact-digest/raw", requirement=f"R-{i}", status="fail",
                            requirement_title="A requirement with a long title " * 4, summary="x " * 200)
                for i in range(1_000)]
    many = assessment.model_copy(update={"results": failures, "gate": decide(failures, "low")})
    text = render_markdown(many, ["report.html", "assessment.json"])
    assert len(text) < 60_000
    assert "- ... and 980 more, listed in full in `report.html`\n" in text  # the gate's reasons, capped
    assert "\n... and 950 more, listed in full in `report.html`.\n" in text  # the table, capped


def test_a_summary_still_too_long_is_cut_at_a_line_with_a_true_sentence() -> None:
    from riskframe.reports.markdown_report import capped

    text = capped("| row |\n" * 20_000, "report.html")
    assert len(text) <= 60_000 and text.count("| row |") < 20_000
    assert text.endswith("\n\n*This summary was cut to 60,000 characters (of 160,000) to fit a pull-request comment; "
                         "every result is in report.html.*\n")
