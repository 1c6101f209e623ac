"""The own-csv example: a team's csv with string labels, an id column and categorical features is
assessed as it is, and the relabelled penguins are found by their csv line and id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskframe.engine.assess import assess
from riskframe.reports.html_report import render_html
from riskframe.reports.markdown_report import render_markdown

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "own-csv"


@pytest.mark.slow
def test_the_relabelled_penguins_are_found_by_line_and_id():
    truth = json.loads((EXAMPLE / "ground_truth.json").read_text())
    assessment = assess(EXAMPLE / "pipeline.yaml", [ROOT / "policies/data-poisoning.yaml"], executor="local")

    screen = next(r for r in assessment.results if r.control == "label-flip-screen")
    assert assessment.gate.decision == "fail" and screen.status == "fail"
    assert "of class Adelie relabelled as Chinstrap" in screen.summary
    rows = screen.evidence["flagged_rows"]
    assert [r["index"] for r in rows] == screen.evidence["flagged_indices"]
    found = {r["id"] for r in rows}
    assert set(truth["penguin_ids"]) <= found and len(found) <= len(truth["penguin_ids"]) + 4
    lines = {r["id"]: r["line"] for r in rows}
    assert all(lines[pid] == line for pid, line in zip(truth["penguin_ids"], truth["csv_lines"], strict=True))
    first = rows[0]
    assert set(first["values"]) == {"island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                    "body_mass_g", "sex"}  # no id, no label, no year
    text = (EXAMPLE / "delivery.csv").read_text().splitlines()[first["line"] - 1]
    assert text.startswith(f"{first['id']},Chinstrap,{first['values']['island']},")

    markdown = render_markdown(assessment)
    assert f"line {first['line']} ({first['id']})" in markdown
    html = render_html(assessment)
    assert "flagged samples in the data files" in html and f"<td>{first['id']}</td>" in html
