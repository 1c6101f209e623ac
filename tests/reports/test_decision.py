"""Every sentence about the gate is true in the cases a review board cares about: a waived high
failure, a --baseline run, a --fail-on laxer than the policy. Real assessments (the class-balance
detector on npz files in tmp_path), rendered to HTML, Markdown and the terminal, read as text."""

from __future__ import annotations

import html
import importlib.util
import re
import sys
from datetime import date
from pathlib import Path

import pytest

from riskframe.commands.assess import summary_lines
from riskframe.compare.baseline import Baseline, rebase
from riskframe.engine.assess import assess
from riskframe.errors import UsageError
from riskframe.reports.html_report import render_html
from riskframe.reports.markdown_report import render_markdown

_spec = importlib.util.spec_from_file_location("real_assessments",
                                               Path(__file__).parents[1] / "commands" / "real_assessments.py")
assert _spec is not None and _spec.loader is not None
real = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = real
_spec.loader.exec_module(real)


def _assess(pipeline: Path, **options):
    folder = pipeline.parent
    return assess(pipeline, [folder / "policy.yaml"], controls_dirs=[folder / "controls"], registry=real.registry(),
                  executor="local", **options)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _brief(page: str) -> dict[str, str]:
    """The HTML "In brief" items, label -> sentence."""
    block = page.split('<div class="brief"', 1)[1].split("</div>", 1)[0]
    return {_text(dt): _text(dd) for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block, re.S)}


def _h1(page: str) -> str:
    return _text(page.split("<h1>", 1)[1].split("</h1>", 1)[0])


def test_a_waived_high_failure_reads_as_accepted_not_as_nothing_to_do(tmp_path) -> None:
    assessment = _assess(real.workspace(tmp_path, skewed=True, waived=True), today=date(2030, 2, 1))
    page = render_html(assessment)
    brief = _brief(page)
    assert _h1(page) == "Gate passed: high risk (73 out of 100), from 1 waived result; the highest risk the gate counts is low"
    assert brief["Decision"] == (
        "The release may go ahead: no check the gate counts found a risk at or above the “high” level at which the "
        "policy blocks a release, and every check ran. 1 result that would block it was accepted by a waiver (R1, by "
        "jane.doe@example.org until 2030-06-30): the risk is accepted, not removed.")
    assert brief["What to do next"] == ("Nothing new blocks the release; to close the risk, fix the 1 waived result "
                                        "before its waiver expires (2030-06-30).")
    assert "Nothing needs action" not in page and "No result failed, errored or warned." not in page
    assert "Why the gate failed" not in page and "Accepted by waivers" in page
    assert ("High risk, from 1 waived result: the gate does not count it, but the risk is not removed; the highest "
            "risk it counts is low.") in _text(page)
    text = render_markdown(assessment)
    assert "Why the gate" not in text and "\nAccepted by waivers (the gate does not count them; the risk remains):\n" \
        "- R1 at stage prepare: balance on train failed with high residual risk (0.73), waived until 2030-06-30" in text
    assert "No result the gate counts failed, errored or warned; 1 waived result listed below." in text
    assert "| R1: Requirement R1 | prepare | balance | train | waived | high (0.73) |" in text
    lines = summary_lines(assessment, [])
    assert lines[0] == "Gate: PASS (fail_on: high)"
    assert lines[2] == brief["Decision"]
    assert "Accepted by waivers (the gate does not count them; the risk remains):" in lines


def test_a_baseline_run_says_the_gate_passed_on_new_failures_and_keeps_the_known_ones_visible(tmp_path) -> None:
    current = _assess(real.workspace(tmp_path, skewed=True))
    assessment, comparison = rebase(current, Baseline("main/assessment.json", current))
    page = render_html(assessment, comparison)
    assert _h1(page) == ("Gate passed: high risk (73 out of 100), from 1 failure known from the baseline; the highest "
                         "risk the gate counts is low")
    assert _brief(page)["Decision"] == (
        "The release may go ahead: no check the gate counts found a risk at or above the “high” level at which the "
        "policy blocks a release, and every check ran. 1 failing result already failing in the baseline "
        "main/assessment.json is not counted and still open.")
    findings = page.split('id="findings"', 1)[1].split("</section>", 1)[0]
    assert "Known from the baseline main/assessment.json" in findings and "R1: Requirement R1" in findings
    text = render_markdown(assessment, baseline=comparison)
    assert "**Risk score: 73 / 100 (high).** High risk, from 1 failure known from the baseline:" in text
    assert "| R1: Requirement R1 | prepare | balance | train | failed | high (0.73) |" in text
    assert "may go ahead" in text and "Nothing needs action" not in text
    assert "Known from the baseline main/assessment.json (the gate does not count them; still open):" in \
        summary_lines(assessment, [])


def test_a_laxer_fail_on_says_whose_level_passed_it_and_what_the_policy_would_do(tmp_path) -> None:
    pipeline = real.workspace(tmp_path, skewed=True)
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy.read_text().replace("{fail_on: high}", "{fail_on: high, cli_override: any}"))
    assessment = _assess(pipeline, fail_on="critical")
    page = render_html(assessment)
    assert _h1(page) == "Gate passed under --fail-on critical (the policies fail at high): high risk (73 out of 100)"
    assert _brief(page)["Decision"] == (
        "The release may go ahead: no check found a risk at or above the “critical” level at which --fail-on (looser "
        "than the policies' “high”) blocks a release, and every check ran. Under the policies' own level, “high”, "
        "1 result would block it.")
    text = render_markdown(assessment)
    assert ("**Gate: PASS** (the gate is set to fail at `critical` risk or above, and whenever a check cannot run; "
            "set by `--fail-on`, the policies fail at `high`)") in text
    assert summary_lines(assessment, [])[0] == "Gate: PASS (fail_on: critical, set by --fail-on; the policies fail at high)"


def test_a_laxer_fail_on_is_refused_by_default_before_any_detector_runs(tmp_path) -> None:
    with pytest.raises(UsageError, match=r"^--fail-on critical: policy 'test-policy' fails at high and allows only a "
                       r"stricter --fail-on \(risk_appetite.cli_override: stricter-only\)"):
        _assess(real.workspace(tmp_path, skewed=True), fail_on="critical")
    assert _assess(real.workspace(tmp_path / "b", skewed=True), fail_on="medium").gate.fail_on == "medium"
