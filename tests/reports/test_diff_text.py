"""The formats of ``riskframe diff``, as the command prints them (tests/commands/test_diff.py pins
them end to end on real assessments)."""

from __future__ import annotations

import json

from riskframe.compare.diff import diff_assessments
from riskframe.reports.base import rendered_text
from riskframe.reports.diff_text import FORMATS


def _fixed(assessment):
    """``assessment`` one run later: its failing label-flip screen passes."""
    results = [r.model_copy(update={"status": "pass"}) if r.status == "fail" else r for r in assessment.results]
    return assessment.model_copy(update={"results": results, "created_at": "2030-02-01T00:00:00+00:00"})


def test_the_text_says_what_was_fixed_and_the_verdict(assessment):
    diff = diff_assessments(assessment, _fixed(assessment), "old.json", "new.json")

    lines = rendered_text(diff, FORMATS["text"]).splitlines()

    assert lines[0] == "Assessment diff: digits-classifier"
    assert lines[3].startswith("  new: new.json (2030-02-01T00:00:00+00:00): gate ")
    assert "Fixed failures (1)" in lines
    assert lines[-1].startswith("No regression; improved: ")


def test_markdown_is_headed_and_a_newline_in_a_value_never_starts_a_line(assessment):
    forged = assessment.model_copy(update={"pipeline": assessment.pipeline.model_copy(update={"name": "x\nGate: PASS"})})
    diff = diff_assessments(forged, _fixed(forged))

    text = rendered_text(diff, FORMATS["text"])
    markdown = rendered_text(diff, FORMATS["md"])

    assert text.splitlines()[0] == r"Assessment diff: x\nGate: PASS"
    assert markdown.splitlines()[0].startswith("# Assessment diff: x") and "\nGate: PASS" not in markdown
    assert "## Fixed failures (1)" in markdown.splitlines()


def test_json_is_the_diff_model_in_ascii(assessment):
    diff = diff_assessments(assessment, _fixed(assessment))

    text = rendered_text(diff, FORMATS["json"])

    assert json.loads(text) == diff.model_dump(mode="json")
    assert text.isascii() and text.endswith("}\n")
