"""``junit.xml``: the assessment as test results, for CI systems that read JUnit XML.

GitLab merge-request widgets, Jenkins, Azure Pipelines and most CI dashboards show JUnit XML
without any plugin. The mapping:

- one ``<testsuite>`` per pipeline stage, in pipeline order (a stage where nothing ran is an
  empty suite, which itself says something), plus ``not assessed`` for requirement and control
  pairs the plan could place on no stage; the run's properties (pipeline, policies, gate, risk
  score, baseline) in the first suite, each stage's as ``stage.NAME.kind`` (``.trust``,
  ``.residual_risk``) in its own, so no property name repeats;
- valid against the Jenkins xunit plugin's ``junit-10.xsd`` (no ``skipped`` on ``<testsuites>``),
  read by junitparser and xunitparser (tests/reports/test_junit.py);
- one ``<testcase>`` per (requirement, control) run, named ``[SEVERITY][REQUIREMENT] title`` with
  ``policy.stage.control[.artifact]`` as its class name;
- ``fail`` is a ``<failure>`` and ``error`` an ``<error>``, both with the evidence summary as their
  text; ``waived`` is ``<skipped>`` with the waiver's justification; ``skipped`` and
  ``not_applicable`` are ``<skipped>``; ``warn`` passes with the warning in ``<system-out>``;
- with ``--baseline``, a failure already failing in the baseline is ``<skipped>`` as known.

Text from detectors and policies is data: characters XML 1.0 cannot hold are dropped, and the
standard library's serializer escapes the rest.

>>> from riskframe.reports.junit import render_junit
>>> xml = render_junit(assessment)  # doctest: +SKIP
>>> xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")  # doctest: +SKIP
True
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone

from riskframe.assessment import Assessment, ControlResult, NotAssessed
from riskframe.compare.baseline import BaselineComparison, comparison_in
from riskframe.reports import _evidence, view
from riskframe.reports.base import RenderContext, Renderer
from riskframe.vocabulary import NO_VERDICT

FILE_NAME = "junit.xml"
NOT_ASSESSED_SUITE = "not assessed"
MAX_TEXT_CHARS = 4_000
MAX_FLAGGED_LISTED = 10
# Everything XML 1.0 allows: tab, newline, carriage return and the printable planes.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(assessment: Assessment, baseline: BaselineComparison | None = None) -> bytes:
    """``junit.xml`` of ``assessment`` as UTF-8 bytes."""
    root = ET.Element("testsuites", name=_xml(f"riskframe: {assessment.pipeline.name}"))
    for index, (stage, results) in enumerate(_stages(assessment)):
        root.append(_suite(assessment, stage, results, baseline, first=index == 0))
    if assessment.not_assessed:
        root.append(_not_assessed_suite(assessment, assessment.not_assessed))
    _total(root)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _stages(assessment: Assessment) -> list[tuple[str, list[ControlResult]]]:
    grouped = dict(view.results_by_stage(assessment))
    names = [s.name for s in assessment.pipeline.stages] + [s for s in grouped if s not in _stage_names(assessment)]
    return [(name, grouped.get(name, [])) for name in names]


def _stage_names(assessment: Assessment) -> set[str]:
    return {s.name for s in assessment.pipeline.stages}


def _suite(
    assessment: Assessment, stage: str, results: Sequence[ControlResult], baseline: BaselineComparison | None,
    first: bool = False,
) -> ET.Element:
    suite = ET.Element("testsuite", name=_xml(stage), timestamp=_timestamp(assessment.created_at))
    properties = ET.SubElement(suite, "properties")
    info = next((s for s in assessment.pipeline.stages if s.name == stage), None)
    risk = next((s for s in assessment.stages if s.name == stage), None)
    # The run's properties once, in the first suite, and each stage's under its own name: readers
    # such as xunitparser gather every suite's properties into one mapping and refuse a name twice.
    pairs = [
        ("pipeline", assessment.pipeline.name),
        ("policies", ", ".join(p.name for p in assessment.policies)),
        ("gate", assessment.gate.decision),
        ("risk_score", f"{assessment.summary.risk_score:g}"),
    ] if first else []
    if first and baseline is not None:
        pairs.append(("baseline", " ".join(baseline.explanation()) or baseline.sentence()))
    if info is not None:
        pairs += [(f"stage.{stage}.kind", info.kind), (f"stage.{stage}.trust", info.trust)]
    if risk is not None and risk.results:
        pairs.append((f"stage.{stage}.residual_risk", f"{risk.level} ({view.risk_number(risk.residual)})"))
    for name, value in pairs:
        ET.SubElement(properties, "property", name=_xml(name), value=_xml(value))
    if not pairs:
        suite.remove(properties)
    for result in results:
        suite.append(_case(result, baseline))
    _count(suite)
    return suite


def _case(result: ControlResult, baseline: BaselineComparison | None) -> ET.Element:
    name = f"[{result.severity.upper()}][{result.requirement}] {result.requirement_title}"
    classname = ".".join(p for p in (result.policy, result.stage, result.control, result.artifact) if p)
    case = ET.Element("testcase", name=_xml(name), classname=_xml(classname), time=f"{result.duration_s:.3f}")
    status = result.status
    if baseline is not None and baseline.is_known(result.id):
        _child(
            case,
            "skipped",
            f"known failure ({status}): already failing in the baseline {baseline.path}",
            "baseline",
            evidence_text(result),
        )
    elif status == "fail":
        _child(case, "failure", result.summary, "fail", evidence_text(result))
    elif status == "error":
        _child(case, "error", f"could not run: {result.summary}", "error", evidence_text(result))
    elif status == "waived":
        _child(case, "skipped", f"waived: {_waiver_text(result)}", "waived", evidence_text(result))
    elif status in NO_VERDICT:
        _child(case, "skipped", f"{view.status_word(status)}: {result.summary}", status)
    elif status == "warn":
        ET.SubElement(case, "system-out").text = _xml(f"warning: {evidence_text(result)}")
    return case


def _child(case: ET.Element, tag: str, message: str, kind: str, text: str = "") -> None:
    element = ET.SubElement(case, tag, message=_xml(_clip(" ".join(message.split()), 1_000)), type=kind)
    if text:
        element.text = _xml(text)


def evidence_text(result: ControlResult) -> str:
    """What a CI log shows under a failing test: the summary, the risk, the evidence, what to do."""
    lines = [
        result.summary,
        "",
        f"Requirement {result.requirement} ({result.severity}) of policy {result.policy}: {result.requirement_title}",
        f"Control {result.control} ({result.control_title}), detector {result.detector}, stage {result.stage}"
        + (f", artifact {result.artifact}" if result.artifact else ""),
        f"Residual risk {result.risk.level} ({view.risk_number(result.risk.residual)}); score {result.score:.3g}",
    ]
    if result.metrics:
        lines.append("Metrics: " + ", ".join(f"{k} {view.number(v)}" for k, v in sorted(result.metrics.items())))
    readable = _evidence.readable(result.evidence)
    lines += [f"{label}: {value}" for label, value in readable.facts]
    if readable.flagged is not None:
        shown = ", ".join(row[1] for row in readable.flagged.rows[:MAX_FLAGGED_LISTED])
        lines.append(f"Flagged samples: {readable.flagged.count:,} (most suspicious first: {shown})")
    for block in readable.blocks:
        if block.kind == "pre":
            lines += [f"{block.label}:", block.text]
        elif block.kind == "list":
            lines.append(
                f"{block.label}: {', '.join(block.items)}" + (f" ... and {block.more} more" if block.more else "")
            )
    waiver = view.waiver_fields(result.waiver)
    if waiver and result.status != "waived":
        lines.append(f"Waiver (not applied): {waiver.get('note') or _waiver_text(result)}")
    if result.remediation and result.status in ("fail", "warn", "error"):
        lines.append(f"What to do: {result.remediation}")
    lines += [f"At {loc.path}:{loc.line}:{loc.column} ({loc.what})" for loc in result.locations]
    return _clip("\n".join(lines), MAX_TEXT_CHARS)


def _waiver_text(result: ControlResult) -> str:
    waiver = view.waiver_fields(result.waiver)
    text = str(waiver.get("justification") or "no justification recorded")
    if waiver.get("approved_by"):
        text += f" (approved by {waiver['approved_by']}"
        text += f", until {waiver['expires']})" if waiver.get("expires") else ")"
    return text


def _not_assessed_suite(assessment: Assessment, pairs: Sequence[NotAssessed]) -> ET.Element:
    suite = ET.Element("testsuite", name=NOT_ASSESSED_SUITE, timestamp=_timestamp(assessment.created_at))
    for pair in pairs:
        case = ET.SubElement(
            suite,
            "testcase",
            name=_xml(f"[{pair.requirement}] {pair.control}: no stage to check it on"),
            classname=_xml(f"{pair.policy}.{pair.requirement}.{pair.control}"),
            time="0.000",
        )
        _child(case, "skipped", f"not assessed: {pair.reason}", "not_assessed")
    _count(suite)
    return suite


def _count(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attribute, str(sum(1 for c in cases if c.find(tag) is not None)))
    suite.set("time", f"{sum(float(c.get('time', '0')) for c in cases):.3f}")


def _total(root: ET.Element) -> None:
    suites = root.findall("testsuite")
    # No "skipped" here: the Jenkins xunit plugin's schema (junit-10.xsd) refuses it on <testsuites>.
    for attribute in ("tests", "failures", "errors"):
        root.set(attribute, str(sum(int(s.get(attribute, "0")) for s in suites)))
    root.set("time", f"{sum(float(s.get('time', '0')) for s in suites):.3f}")


def _timestamp(created_at: str) -> str:
    """ISO 8601 in UTC without an offset, as the JUnit schema's ``timestamp`` wants."""
    try:
        moment = datetime.fromisoformat(created_at)
    except ValueError:
        return _xml(created_at)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render(assessment: Assessment, context: RenderContext) -> dict[str, bytes]:
    return {FILE_NAME: render_junit(assessment, comparison_in(context))}


RENDERER = Renderer(
    name="junit",
    description="JUnit XML for CI test reports: a suite per stage, a test case per requirement and control",
    files=(FILE_NAME,),
    render=_render,
)
