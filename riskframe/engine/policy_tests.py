"""Policy tests (like ``opa test``): pipeline fixtures and the status each requirement must end in,
so that a policy can be changed with confidence.

A test file is a ``kind: PolicyTest`` document; paths are relative to it::

    apiVersion: riskframe/v1
    kind: PolicyTest
    metadata: {name: data-poisoning}
    policies: [../data-poisoning.yaml]
    cases:
      - name: a vendor relabels a fifth of the 7s as 1s
        pipeline: fixtures/poisoned/pipeline.yaml
        expect:
          DP-1: fail               # the worst status of the requirement's results
          DP-2: [pass, warn]       # any of these
          DP-3@ingest: pass        # only the results at stage ingest
        gate: fail                 # optional

Statuses: pass, warn, fail, error, skipped, waived, not_applicable, and not-assessed (no result).
Every mistake in a test file (an unknown requirement or stage, a missing file) is reported located
before any case runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from riskframe.assessment import Assessment, ControlResult
from riskframe.errors import DocumentError, InputError, Problem
from riskframe.spec.common import Document, Name, Spec
from riskframe.spec.validation import did_you_mean, validate_model
from riskframe.spec.yaml_source import load_yaml, read_document
from riskframe.vocabulary import Level, Status, worst

# A requirement no result covers is "not-assessed".
ExpectedStatus = Literal[Status, "not-assessed"]
_KIND_LINE = re.compile(r"^kind:\s*['\"]?PolicyTest['\"]?\s*(#.*)?$", re.MULTILINE)


class PolicyTestCase(Spec):
    name: str = Field(min_length=1)
    description: str = ""
    pipeline: str = Field(min_length=1, description="the pipeline fixture, relative to the test file")
    expect: dict[str, ExpectedStatus | list[ExpectedStatus]] = Field(
        default_factory=dict, description="REQUIREMENT or REQUIREMENT@STAGE -> the status, or any of several")
    gate: Literal["pass", "fail"] | None = None
    fail_on: Level | None = None
    today: date | None = Field(default=None, description="the date waivers are judged on (default: the day it runs)")

    @model_validator(mode="after")
    def _expects_something(self) -> PolicyTestCase:
        if not self.expect and self.gate is None:
            raise ValueError("a case needs `expect:` (statuses by requirement), `gate:`, or both")
        return self


class PolicyTestMetadata(Spec):
    name: Name
    description: str = ""


class PolicyTest(Document):
    kind: Literal["PolicyTest"]
    metadata: PolicyTestMetadata
    policies: list[str] = Field(min_length=1, description="policy files, relative to the test file")
    controls: list[str] = Field(default_factory=list, description="extra control folders, relative to the test file")
    waivers: list[str] = Field(default_factory=list, description="kind: Waivers files, relative to the test file")
    cases: list[PolicyTestCase] = Field(min_length=1)

    def resolve(self, relative: str) -> Path:
        return self.base_dir / relative


def find_test_files(path: str | Path) -> list[Path]:
    """``path`` itself, or every YAML file under it (recursively) that is a ``kind: PolicyTest`` document."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DocumentError.single(str(path), "no such file or folder")
    candidates = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [p for p in candidates if is_policy_test(p)]


def is_policy_test(path: str | Path) -> bool:
    """Whether the file says ``kind: PolicyTest`` on a line of its own (a block-style document).

    Examples
    --------
    >>> is_policy_test("policies/tests/data-poisoning_test.yaml")  # doctest: +SKIP
    True
    """
    try:
        text = read_document(path)  # never opens a FIFO; bounded in size
    except DocumentError:
        return False  # the document loader reports the unreadable file
    return bool(_KIND_LINE.search(text))


def load_policy_test(path: str | Path) -> PolicyTest:
    """Load a test file and check what it names (policies, pipelines, requirements, stages).

    Raises
    ------
    DocumentError
        Every problem of the file, located; or the problems of a policy or pipeline it names.
    """
    document = load_yaml(path)
    if not isinstance(document.data, dict) or document.data.get("kind") != "PolicyTest":
        raise document.source.error(("kind",), "must be 'PolicyTest' in a policy test file",
                                    document.data.get("kind") if isinstance(document.data, dict) else None)
    test = validate_model(PolicyTest, document.data, document.source)
    test._source = document.source
    _raise(_reference_problems(test))
    return test


def _reference_problems(test: PolicyTest) -> list[Problem]:
    from riskframe.spec import load_pipeline
    from riskframe.spec.load import resolve_policy

    src, problems = test.source, []
    requirements: list[str] = []
    for i, relative in enumerate(test.policies):
        if not test.resolve(relative).is_file():
            problems.append(src.problem(("policies", i), f"no policy file {relative!r} next to the test file",
                                        relative))
            continue
        requirements += [r.id for r in resolve_policy(test.resolve(relative)).requirements]  # inherited ones too
    for key, want_dir in (("controls", True), ("waivers", False)):
        for i, relative in enumerate(getattr(test, key)):
            path = test.resolve(relative)
            if not (path.is_dir() if want_dir else path.is_file()):
                what = "folder" if want_dir else "file"
                problems.append(src.problem((key, i), f"no {what} {relative!r} next to the test file", relative))
    names: dict[str, int] = {}
    for i, case in enumerate(test.cases):
        if case.name in names:
            problems.append(src.problem(("cases", i, "name"), f"case name already used by cases[{names[case.name]}]",
                                        case.name))
        names.setdefault(case.name, i)
        if not test.resolve(case.pipeline).is_file():
            problems.append(src.problem(("cases", i, "pipeline"), f"no pipeline file {case.pipeline!r} next to the "
                                        "test file", case.pipeline))
            continue
        stages = [s.name for s in load_pipeline(test.resolve(case.pipeline)).stages]
        problems += _expect_problems(test, i, case, requirements, stages)
    return problems


def _expect_problems(test: PolicyTest, index: int, case: PolicyTestCase, requirements: list[str],
                     stages: list[str]) -> list[Problem]:
    problems = []
    for key in case.expect:
        requirement, _, stage = key.partition("@")
        at = ("cases", index, "expect", key)
        if requirement not in requirements:
            problems.append(test.source.problem(at, f"no requirement {requirement!r} in the policies"
                                                f"{did_you_mean(requirement, requirements)}", key))
        elif stage and stage not in stages:
            problems.append(test.source.problem(at, f"no stage {stage!r} in pipeline {case.pipeline}"
                                                f"{did_you_mean(stage, stages)}", key))
    return problems


def _raise(problems: Sequence[Problem]) -> None:
    if problems:
        raise DocumentError(problems)


@dataclass
class Mismatch:
    """One expectation a case did not meet, with the results behind the actual status."""

    what: str
    expected: tuple[str, ...]
    actual: str
    results: list[ControlResult] = field(default_factory=list)


@dataclass
class CaseOutcome:
    file: str
    case: str
    outcome: Literal["pass", "fail", "error"]
    seconds: float
    mismatches: list[Mismatch] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)  # (what, actual) of every expectation
    error: list[str] = field(default_factory=list)  # the error's lines, when the case could not run


def requirement_status(assessment: Assessment, requirement: str,
                       stage: str | None = None) -> tuple[str, list[ControlResult]]:
    """The worst status of a requirement's results (at ``stage`` only, when given), and the results;
    ``not-assessed`` when it has none."""
    mine = [r for r in assessment.results if r.requirement == requirement and (stage is None or r.stage == stage)]
    return worst(r.status for r in mine), mine


def check_case(assessment: Assessment, case: PolicyTestCase) -> tuple[list[Mismatch], list[tuple[str, str]]]:
    """Compare an assessment with a case's expectations."""
    mismatches, checked = [], []
    for key, expected in case.expect.items():
        requirement, _, stage = key.partition("@")
        actual, results = requirement_status(assessment, requirement, stage or None)
        allowed = tuple(expected) if isinstance(expected, list) else (expected,)
        checked.append((key, actual))
        if actual not in allowed:
            mismatches.append(Mismatch(key, allowed, actual, results))
    if case.gate is not None:
        checked.append(("gate", assessment.gate.decision))
        if assessment.gate.decision != case.gate:
            mismatches.append(Mismatch("gate", (case.gate,), assessment.gate.decision))
    return mismatches, checked


def run_case(test: PolicyTest, case: PolicyTestCase) -> CaseOutcome:
    """Assess the case's pipeline against the test's policies (real detectors) and check it."""
    from riskframe.engine.assess import assess

    started = time.perf_counter()
    try:
        assessment = assess(test.resolve(case.pipeline), [test.resolve(p) for p in test.policies],
                            controls_dirs=[test.resolve(c) for c in test.controls], fail_on=case.fail_on,
                            waivers=[test.resolve(w) for w in test.waivers], today=case.today)
    except InputError as exc:
        return CaseOutcome(test.source.path, case.name, "error", time.perf_counter() - started, error=exc.lines())
    mismatches, checked = check_case(assessment, case)
    return CaseOutcome(test.source.path, case.name, "fail" if mismatches else "pass",
                       time.perf_counter() - started, mismatches, checked)


def run_tests(tests: Sequence[PolicyTest], pattern: str | None = None) -> list[CaseOutcome]:
    """Every case of ``tests`` whose name matches ``pattern`` (a regular expression), in file order."""
    wanted = re.compile(pattern) if pattern else None
    return [run_case(test, case) for test in tests for case in test.cases
            if wanted is None or wanted.search(case.name)]
