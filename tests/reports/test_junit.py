"""junit.xml, read back with junitparser (the library CI tooling in Python uses to read JUnit XML)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from riskframe.compare.baseline import Baseline, rebase, render_reports
from riskframe.reports import render
from riskframe.reports.junit import render_junit


def _parse(tmp_path, assessment, name="junit.xml"):
    [path] = render(assessment, tmp_path, ["junit"])
    assert path.name == name
    return JUnitXml.fromfile(str(path))


def _cases(xml):
    return {case.name: (suite.name, case) for suite in xml for case in suite}


def test_a_suite_per_stage_in_pipeline_order_and_one_for_unplaced_pairs(assessment, tmp_path) -> None:
    xml = _parse(tmp_path, assessment)
    assert [suite.name for suite in xml] == ["ingest", "prepare", "train", "evaluate", "deploy", "not assessed"]
    assert xml.name == "riskframe: digits-classifier"
    assert (xml.tests, xml.failures, xml.errors, sum(suite.skipped for suite in xml)) == (7, 1, 1, 3)
    train = next(s for s in xml if s.name == "train")
    assert (train.tests, train.failures, train.errors, train.skipped) == (2, 1, 0, 0)
    assert train.time == pytest.approx(3.21)
    properties = {p.name: p.value for p in train.properties()}
    assert properties == {"stage.train.kind": "model-engineering", "stage.train.trust": "trusted",
                          "stage.train.residual_risk": "high (0.72)"}
    first = {p.name: p.value for p in next(iter(xml)).properties()}
    assert (first["gate"], first["pipeline"]) == ("fail", "digits-classifier")  # the run's, once


def test_a_test_case_per_requirement_and_control_named_by_severity_and_requirement(assessment, tmp_path) -> None:
    cases = _cases(_parse(tmp_path, assessment))
    suite, failed = cases["[HIGH][DP-1] Training labels are not poisoned (label flips)"]
    assert suite == "train" and failed.classname == "data-poisoning.train.label-issues.train"
    [failure] = failed.result
    assert isinstance(failure, Failure) and failure.type == "fail"
    assert failure.message.startswith("18 of 1797 training samples look mislabelled")
    assert "Residual risk high (0.72); score 0.87" in failure.text
    assert "Flagged samples: 18 (most suspicious first: " in failure.text
    assert failure.text.endswith("What to do: Review the flagged samples; drop or relabel them and retrain.")
    assert failed.time == pytest.approx(3.2)


def test_errors_waivers_and_non_verdicts(assessment, tmp_path) -> None:
    cases = _cases(_parse(tmp_path, assessment))
    [error] = cases["[HIGH][DP-4] Test labels are trustworthy"][1].result
    assert isinstance(error, Error)
    assert error.message == "could not run: The detector did not finish within its 600 s timeout."
    assert "TimeoutError: label-issues exceeded 600 s" in error.text
    [waived] = cases["[HIGH][DP-6] Prepared data keeps its class balance"][1].result
    assert isinstance(waived, Skipped) and waived.type == "waived"
    assert waived.message == "waived: Known scanner artefacts (approved by ciso@example.org, until 2030-01-31)"
    [not_applicable] = cases["[HIGH][DP-5] Model files cannot run code when loaded"][1].result
    assert not_applicable.message.startswith("not applicable: The model is a skops file")
    warned = cases["[HIGH][DP-2] No class holds out-of-distribution samples"][1]
    assert warned.is_passed and warned.system_out.startswith("warning: 31 samples are outliers")
    assert cases["[HIGH][DP-3] Ingested data matches its declared digest"][1].is_passed
    [unplaced] = cases["[DP-7] spectral-signatures: no stage to check it on"][1].result
    assert unplaced.message == "not assessed: no stage has a representations artifact"


def test_known_failures_of_a_baseline_are_skipped(assessment, tmp_path) -> None:
    current, comparison = rebase(assessment, Baseline("main/assessment.json", assessment))
    [path] = render_reports(current, tmp_path, ["junit"], comparison)
    xml = JUnitXml.fromfile(str(path))
    assert (xml.failures, xml.errors) == (0, 0)
    [known] = _cases(xml)["[HIGH][DP-1] Training labels are not poisoned (label flips)"][1].result
    assert known.type == "baseline"
    assert known.message == "known failure (fail): already failing in the baseline main/assessment.json"


def test_the_real_engine_result_reads_back(real_assessment, tmp_path) -> None:
    xml = _parse(tmp_path, real_assessment)
    assert [s.name for s in xml] == ["ingest", "deploy"] and (xml.tests, xml.failures) == (2, 1)
    [failure] = _cases(xml)["[HIGH][INT-1] Every artifact matches its pinned digest"][1].result
    assert "data/model.bin does not" in failure.message
    assert "At pipeline.yaml:13:5 (stage)" in failure.text


def test_control_characters_and_markup_cannot_break_the_xml(assessment, make_result, tmp_path) -> None:
    nasty = make_result(
        status="fail",
        summary="a\x00b\x1b[31m <testcase> & ]]> \ud800 \uffff end",
        requirement_title='"quoted" <title>',
        evidence={"note": "\x07bell"},
    )
    xml = _parse(tmp_path, assessment.model_copy(update={"results": [nasty], "not_assessed": []}))
    [(_, case)] = [v for v in _cases(xml).values() if v[0] == "ingest"]
    assert case.name == '[HIGH][DP-3] "quoted" <title>'
    [failure] = case.result
    assert failure.message == "ab[31m <testcase> & ]]>   end"
    assert "note: bell" in failure.text


def test_rendering_is_deterministic(assessment) -> None:
    assert render_junit(assessment) == render_junit(copy.deepcopy(assessment))


SCHEMA = Path(__file__).parent / "fixtures" / "junit" / "jenkins-junit-10.xsd"


def test_valid_against_the_jenkins_xunit_schema(assessment, tmp_path) -> None:
    """junit-10.xsd from the Jenkins xunit plugin (vendored with its MIT licence note)."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    current, comparison = rebase(assessment, Baseline("main/assessment.json", assessment))
    for document in (render_junit(assessment), render_junit(current, comparison)):
        assert schema.validate(etree.fromstring(document)), [str(e) for e in schema.error_log]


def test_xunitparser_reads_it(assessment) -> None:
    import io

    import xunitparser

    current, comparison = rebase(assessment, Baseline("main/assessment.json", assessment))
    for document, gate in ((render_junit(assessment), "fail"), (render_junit(current, comparison), "pass")):
        suite, result = xunitparser.parse(io.BytesIO(document))
        assert (result.testsRun, suite.properties["gate"]) == (7, gate)
    _, result = xunitparser.parse(io.BytesIO(render_junit(assessment)))
    assert (len(result.failures), len(result.errors), len(result.skipped)) == (1, 1, 3)
