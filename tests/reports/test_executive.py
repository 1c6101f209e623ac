"""The executive summary and the NIST AI RMF function bars at the top of report.html."""

from __future__ import annotations

import re

from riskframe.assessment import Gate, Summary
from riskframe.reports._executive import executive_summary


def test_five_plain_sentences_for_a_failed_gate(assessment) -> None:
    assert executive_summary(assessment) == [
        (
            "What was checked",
            "riskframe checked the machine-learning pipeline “digits-classifier” (5 stages, high business "
            "criticality) against the policy “data-poisoning” (6 requirements): 5 automated checks ran.",
        ),
        (
            "Decision",
            "Do not release yet: the release gate failed because 1 finding reached the “high” risk level the "
            "policy blocks on and 1 check could not run (an unmeasured risk is not an accepted one, so this "
            "blocks the release too).",
        ),
        (
            "Most serious finding",
            "“Training labels are not poisoned (label flips)” failed at the train stage, with high remaining "
            "risk: 18 of 1797 training samples look mislabelled (estimated poisoned share 0.94%, above the 1% "
            "threshold); most are 7s labelled 1. An estimated 0.94% (interval 0.71% to 1.2%) of the samples "
            "look poisoned.",
        ),
        (
            "What to do next",
            "Review the flagged samples; drop or relabel them and retrain. Get the checks that could not run "
            "working again and re-run them (DP-4 at evaluate).",
        ),
        (
            "Coverage",
            "The policy addresses 4 MITRE ATLAS attack techniques, and the checks gave a verdict on 3 of them. "
            "Of the 72 NIST AI RMF outcomes, the assessment shows 1 satisfied, 3 not satisfied and 68 not "
            "assessed by this policy.",
        ),
    ]


def test_a_passed_gate_says_the_release_may_go_ahead(assessment, make_result) -> None:
    passed = assessment.model_copy(
        update={
            "results": [make_result()],
            "summary": Summary(risk_score=12.0, level="low", counts={"pass": 1}, requirements=1, stages=5),
            "gate": Gate(decision="pass", fail_on="high", reasons=[]),
        }
    )
    brief = dict(executive_summary(passed))
    assert "Most serious finding" not in brief
    assert brief["Decision"].startswith("The release may go ahead: no check found a risk at or above the “high”")
    assert brief["What to do next"] == (
        "Nothing needs action before release; keep running the assessment on every change."
    )


def test_the_summary_opens_the_page(html_page, parse_html) -> None:
    tree = parse_html(html_page)
    header = tree.find("header", id="summary")[0]
    brief = header.find("div", class_="brief")[0]
    assert brief.find("h2")[0].text == "In brief"
    assert [dt.text for dt in brief.find("dt")] == [
        "What was checked",
        "Decision",
        "Most serious finding",
        "What to do next",
        "Coverage",
    ]


def test_nist_bars_are_as_long_as_the_counts(assessment, html_page, parse_html) -> None:
    tree = parse_html(html_page)
    rows = tree.find("div", class_="bar-row")
    assert [r.attrs["data-function"] for r in rows] == ["GOVERN", "MAP", "MEASURE", "MANAGE"]
    for row in rows:
        function = row.attrs["data-function"]
        entries = [s for s in assessment.nist if s.function == function]
        widths = {}
        for segment in row.find("span", class_="seg"):
            widths[segment.attrs["data-status"]] = float(re.fullmatch(r"width: ([\d.]+)%", segment.attrs["style"])[1])
        for status, width in widths.items():
            assert width == round(100 * sum(e.status == status for e in entries) / len(entries), 2)
        assert abs(sum(widths.values()) - 100) < 0.05
        label = row.find("span", class_="bar")[0].attrs["aria-label"]
        assert label.startswith(f"{function}: ") and "not assessed" in label
