"""The evidence fingerprint of a result: the same failure, or a changed one?

``--baseline`` and ``riskframe diff`` match results across two assessments by id
(``requirement/stage/control[/artifact]``), which says *where* a failure is, not *what* it is. A
failure that was already there is only the same failure when its evidence is:

- the **artifacts it examined** have the same sha256 in both assessments (the primary artifact, the
  model a run is bound to (the result's ``model``), for a model the dataset it was trained on, and
  the representations computed from the primary, which the backdoor screens read; every artifact
  of the stage for a run over the whole stage, such as a model-file scan or a digest check), as
  recorded in the assessment's ``lineage`` (else its ``inputs``). A
  run that did not read the representations still counts them: a false "new" costs a look, a
  false "known" hides a failure;
- **what it found** is the same: the status, the metrics (floats to 4 significant digits), the
  flagged sample indices of a sample-level detector, every evidence record that is not sound (a
  failing file with its findings, a mismatching digest or DVC entry) and, for an error, its summary.

The fingerprint is the sha256 of that, in canonical JSON. It is computed from ``assessment.json``
alone, so any earlier assessment can serve as a baseline. It is not SARIF's
``partialFingerprints`` (:mod:`riskframe.reports.sarif`), which identify an alert's *location*
across runs so that GitHub keeps one alert per place; this one decides whether an alert is news.

>>> from riskframe.compare.fingerprints import evidence_of
>>> before = evidence_of(result, old_assessment)  # doctest: +SKIP
>>> evidence_of(same_result_now, new_assessment).changes_since(before)  # doctest: +SKIP
'artifact digits-logreg changed; the metrics changed; the failing files changed'
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskframe.assessment import Assessment, ControlResult

# Evidence records whose outcome/status/verdict says nothing is wrong: not part of what failed.
# Any other marker (unsafe, mismatch, missing, unreadable, a marker added later...) is kept, so an
# unknown marker makes the fingerprint more sensitive, never blind.
_SOUND = frozenset({"pass", "safe", "match", "ok", "ignored", "skipped", "not_applicable"})
_MARKERS = ("outcome", "status", "verdict")
_SIGNIFICANT = 4  # digits a float keeps in the fingerprint: 0.0099 and 0.30 differ, 1e-12 noise does not
# How each part of a finding is named when it changed, in the order they are named.
_PARTS = {"status": "the status", "flagged": "the flagged samples", "metrics": "the metrics",
          "error": "the error"}


@dataclass(frozen=True)
class Evidence:
    """What a result examined and what it found, in canonical form.

    ``artifacts`` maps each artifact the run examined to its sha256 in the assessment (``None``
    when the assessment records none); ``finding`` holds the status, the metrics (floats to 4
    significant digits), the sorted flagged sample indices, under ``failing`` every evidence record
    that is not sound, by evidence key (a failing file with its findings, a mismatching digest) and,
    for an error, its summary.
    """

    artifacts: Mapping[str, str | None]
    finding: Mapping[str, Any]

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of both parts."""
        text = json.dumps({"artifacts": self.artifacts, "finding": self.finding}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()

    def changes_since(self, before: Evidence) -> str:
        """What differs from ``before``, in words (empty when nothing does).

        >>> old = Evidence({"model": "aa"}, {"status": "fail", "flagged": [3]})
        >>> Evidence({"model": "bb"}, {"status": "fail", "flagged": [3, 9]}).changes_since(old)
        'artifact model changed; the flagged samples changed'
        """
        names = sorted(n for n in {*self.artifacts, *before.artifacts}
                       if self.artifacts.get(n) != before.artifacts.get(n))
        words = [f"artifact{'s' if len(names) > 1 else ''} {', '.join(names)} changed"] if names else []
        words += [f"{_PARTS[part]} changed" for part in _PARTS if self.finding.get(part) != before.finding.get(part)]
        mine, theirs = self.finding.get("failing", {}), before.finding.get("failing", {})
        words += [f"the failing {key} changed" for key in sorted({*mine, *theirs}) if mine.get(key) != theirs.get(key)]
        return "; ".join(words)


def evidence_of(result: ControlResult, assessment: Assessment) -> Evidence:
    """The evidence behind ``result``, for telling the same failure from a changed one.

    The artifacts a run examined: its primary artifact, the model it is bound to (``result.model``:
    ``model`` for ``BD-1/train/spectral-signature-screen/train+model``) and, for a model, the dataset it was
    trained on (``of:``); for a run over a whole stage (``artifact`` is None: file scanners,
    digests), every artifact of the stage. Their digests come from the assessment's ``lineage`` (else its ``inputs``).

    Examples
    --------
    >>> evidence_of(assessment.results[0], assessment).fingerprint  # doctest: +SKIP
    '5b0e...'
    """
    digests = _artifact_digests(assessment)
    return Evidence({name: digests.get(name) for name in sorted(_examined(result, assessment))},
                    _finding(result))


def evidence_fingerprint(result: ControlResult, assessment: Assessment) -> str:
    """:attr:`Evidence.fingerprint` of :func:`evidence_of`."""
    return evidence_of(result, assessment).fingerprint


def _examined(result: ControlResult, assessment: Assessment) -> set[str]:
    stage = next((s for s in assessment.pipeline.stages if s.name == result.stage), None)
    if result.artifact is None:  # a run over the whole stage
        return {a.name for a in stage.artifacts} if stage else set()
    bound = {result.artifact, *([result.model] if result.model else [])}
    trained_on = {e.artifact: e.trained_on for e in assessment.lineage if e.trained_on}
    representations = {e.artifact for e in assessment.lineage
                       if e.type == "representations" and e.of == result.artifact}
    return bound | representations | {trained_on[n] for n in bound if n in trained_on}


def _artifact_digests(assessment: Assessment) -> dict[str, str]:
    """Artifact name -> sha256 computed during the assessment."""
    found = {e.artifact: e.sha256 for e in assessment.lineage if e.sha256}
    inputs = {posixpath.normpath(f.path): f.sha256 for f in assessment.inputs if f.role == "artifact"}
    base = posixpath.dirname(assessment.pipeline.path)
    for stage in assessment.pipeline.stages:
        for artifact in stage.artifacts:
            path = posixpath.normpath(posixpath.join(base, artifact.path))
            if artifact.name not in found and path in inputs:
                found[artifact.name] = inputs[path]
    return found


def _finding(result: ControlResult) -> dict[str, Any]:
    finding: dict[str, Any] = {"status": result.status, "metrics": canonical(result.metrics)}
    evidence = result.evidence
    if isinstance(evidence.get("flagged_indices"), list):
        finding["flagged"] = sorted(canonical(evidence["flagged_indices"]), key=json.dumps)
    failing = {key: records for key, value in evidence.items() if (records := _unsound(value))}
    if failing:
        finding["failing"] = failing
    if result.status == "error":
        finding["error"] = result.summary
    return finding


def _unsound(value: Any) -> list[Any]:
    """The records of an evidence list whose outcome, status or verdict is not a sound one."""
    if not isinstance(value, list):
        return []
    kept = []
    for record in value:
        if not isinstance(record, Mapping):
            continue
        marker = next((record[m] for m in _MARKERS if m in record), None)
        if marker is not None and str(marker) not in _SOUND:
            kept.append(canonical(_without_finding_titles(record)))
    return sorted(kept, key=lambda r: json.dumps(r, sort_keys=True))


def _without_finding_titles(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """``record`` with its findings' titles left out: a title names a structural finding in words
    its reason already holds, and assessments before schema 1.2 wrote none, so a baseline written
    then keeps the fingerprint of the same failing file."""
    findings = record.get("findings")
    if not isinstance(findings, list):
        return record
    return {**record, "findings": [{k: v for k, v in f.items() if k != "title"} if isinstance(f, Mapping) else f
                                   for f in findings]}


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data, floats to 4 significant digits, non-finite ones as None (as
    ``assessment.json`` writes them), so an assessment in memory and read back agree.

    >>> canonical({"b": (1, 0.123456), "a": float("nan")})
    {'a': None, 'b': [1, 0.1235]}
    """
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        rounded = float(f"{float(value):.{_SIGNIFICANT}g}")  # rounding 1.79769e308 up overflows to inf
        return rounded if math.isfinite(rounded) else None
    return str(value)

