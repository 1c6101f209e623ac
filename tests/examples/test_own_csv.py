"""The own-csv example: a team's csv with string labels, an id column and categorical features is
assessed as it is, and the relabelled penguins are found by their csv line and id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

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
    assert "11.1% of class Adelie relabelled as Chinstrap" in screen.summary  # as the READMEs say
    rows = screen.evidence["flagged_rows"]
    assert len(rows) == 16 and (rows[0]["line"], rows[0]["id"]) == (113, "P-112")
    assert [r["index"] for r in rows] == screen.evidence["flagged_indices"]
    found = {r["id"] for r in rows}
    assert set(truth["penguin_ids"]) - found == {"P-068"}  # as the READMEs say
    lines = {r["id"]: r["line"] for r in rows}
    assert all(lines[pid] == line for pid, line in zip(truth["penguin_ids"], truth["csv_lines"], strict=True)
               if pid in found)
    first = rows[0]
    assert set(first["values"]) == {"island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                    "body_mass_g", "sex"}  # no id, no label, no year
    text = (EXAMPLE / "delivery.csv").read_text().splitlines()[first["line"] - 1]
    assert text.startswith(f"{first['id']},Chinstrap,{first['values']['island']},")

    markdown = render_markdown(assessment)
    assert f"line {first['line']} ({first['id']})" in markdown
    assert "line 113 (P-112), line 142 (P-141)" in markdown
    html = render_html(assessment)
    assert "flagged samples in the data files" in html and f"<td>{first['id']}</td>" in html


def test_the_readme_shows_the_example_pipeline_as_it_is():
    readme = (ROOT / "README.md").read_text().split("### Assess your own csv", 1)[1].split("## A tour", 1)[0]
    snippet = yaml.safe_load(readme.split("```yaml\n", 1)[1].split("```", 1)[0])
    pipeline = yaml.safe_load((EXAMPLE / "pipeline.yaml").read_text())
    declared = pipeline["stages"][0]["artifacts"][0]

    assert snippet == [{k: v for k, v in declared.items() if k != "sha256"}]
    assert "riskframe assess examples/own-csv/pipeline.yaml --policy policies/data-poisoning.yaml" in readme
