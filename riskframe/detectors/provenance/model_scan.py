"""``model-file-scan``: no model file of a stage can run code when it is loaded.

The detector binds the ``files`` role, so it runs once per stage and sees every artifact; it scans
the ``model`` artifacts and the ``files`` artifacts (folders walked), statically, with
:mod:`riskframe.scanning`: the format is recognised by content, every pickle stream is walked
opcode by opcode, and each global a loader would import is judged against an allowlist of
globals known to be safe to reconstruct. Nothing is unpickled or imported.

Per file the evidence gives its format, verdict (``safe``, ``unsafe``, ``unsupported``), worst
severity and findings (global, byte offset, severity, reason). The run

- **fails** when a file has a finding at or above ``fail_on`` (default ``medium``: anything outside
  the allowlist), or when nothing vouches for a file: one whose format the scan does not recognise
  or cannot vouch for (Keras, SavedModel, HDF5, GGUF, a zip with members it cannot read), in a
  ``model`` artifact or in a ``files`` artifact alike. A file in a model bundle is loaded by code
  the scan does not see (a ``.py`` file next to the weights is imported by ``trust_remote_code``),
  so a README or a CSV there is not vouched for either: ``unsupported_models: warn`` relaxes this;
- **warns** on findings below ``fail_on``, or on unvouched files under ``unsupported_models: warn``;
- **passes** otherwise.

The score is the worst file's: 1.0 for a critical finding, 0.8 high, 0.5 medium (or a file
nothing vouches for), 0.2 low, 0 when every file is safe.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

from pydantic import Field, field_validator

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.errors import NotApplicableError
from riskframe.results import DetectorResult
from riskframe.scanning import SEVERITIES, Allowlist, FileScan, Severity, iter_files, scan_file, severity_rank
from riskframe.spec.pipeline import Artifact

SEVERITY_SCORE = {"critical": 1.0, "high": 0.8, "medium": 0.5, "low": 0.2}
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_SHOWN = 3  # files named in the summary


class ModelFileScanParams(DetectorParams):
    fail_on: Severity = Field(
        default="medium",
        description="the lowest finding severity that fails the run (low, medium, high, critical); "
                    "lower findings warn. medium fails on any global outside the allowlist")
    allow: list[str] = Field(
        default_factory=list,
        description="extra globals trusted at this site, as exact dotted names (mypackage.models.Net): "
                    "the site's own model classes. They never override a critical gadget")
    unsupported_models: Literal["fail", "warn"] = Field(
        default="fail",
        description="what a file nothing vouches for does to the run (fail, warn): a file of a model or files "
                    "artifact whose format the scan does not recognise (a README, a CSV, a .py file), or a Keras, "
                    "SavedModel, HDF5, GGUF or partly unreadable archive")

    @field_validator("allow")
    @classmethod
    def _dotted(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not _DOTTED.match(n)]
        if bad:
            raise ValueError(f"allow entries must be dotted names like 'mypackage.models.Net'; got {bad}")
        return names


class ModelFileScan(Detector[ModelFileScanParams]):
    """Scan a stage's model files statically for code that would run when they are loaded.

    Examples
    --------
    >>> from riskframe.detectors.registry import builtin_registry
    >>> detector = builtin_registry()["model-file-scan"]  # doctest: +SKIP
    >>> print(detector().run(ctx, detector.Params()).summary)  # doctest: +SKIP
    1 of 2 model files is unsafe: models/digits-cnn.pt names posix.system (critical).
    """

    name = "model-file-scan"
    title = "Model files name no code that would run when they are loaded"
    requires = ("files",)
    Params = ModelFileScanParams
    # Unsafe AI artifacts, malware embedded in a model file, a model swapped in the supply chain,
    # and poisoned models published upstream: each arrives as a file that runs code on load.
    techniques = ("AML.T0011.000", "AML.T0018.002", "AML.T0010.003", "AML.T0058")

    def run(self, ctx: RunContext, params: ModelFileScanParams) -> DetectorResult:
        targets = [a for a in ctx.artifacts("files") if a.type in ("model", "files")]
        if not targets:
            raise NotApplicableError(f"stage {ctx.stage.name!r} declares no model or files artifacts")
        allowlist = Allowlist(params.allow)
        scans = [scan for artifact in targets for scan in _scan_artifact(ctx, artifact, allowlist)]
        return scan_result(scans, params)


def _scan_artifact(ctx: RunContext, artifact: Artifact, allowlist: Allowlist) -> list[ArtifactScan]:
    root = ctx.store.path(artifact)
    if not root.exists():
        raise FileNotFoundError(f"artifact {artifact.name!r}: {artifact.path} does not exist")
    out = []
    for file in iter_files([root]):
        shown = artifact.path if file == root else f"{artifact.path.rstrip('/')}/{file.relative_to(root).as_posix()}"
        try:
            scan = scan_file(file, allowlist=allowlist)
        except OSError as exc:  # one file that cannot be opened is that file's result, not the run's
            scan = FileScan.unreadable(str(file), exc.strerror or str(exc))
        out.append(ArtifactScan(artifact, shown, scan))
    return out


class ArtifactScan:
    """A file's scan, with the artifact it belongs to and its path as the pipeline names it."""

    def __init__(self, artifact: Artifact, shown: str, scan: FileScan) -> None:
        self.artifact, self.shown, self.scan = artifact, shown, scan

    def outcome(self, params: ModelFileScanParams) -> Literal["fail", "warn", "pass"]:
        scan = self.scan
        if scan.verdict == "unsafe":
            failing = severity_rank(scan.severity) >= severity_rank(params.fail_on)
            return "fail" if failing else "warn"
        if scan.verdict == "unsupported":
            return params.unsupported_models
        return "pass"

    def score(self) -> float:
        if self.scan.verdict == "unsupported":
            return SEVERITY_SCORE["medium"]
        return SEVERITY_SCORE.get(self.scan.severity or "", 0.0)

    def evidence(self, params: ModelFileScanParams) -> dict[str, Any]:
        return {"artifact": self.artifact.name, **self.scan.to_dict(), "path": self.shown,
                "outcome": self.outcome(params)}

    def phrase(self) -> str:
        if self.scan.verdict == "unsupported":
            return f"{self.shown}: {self.scan.unsupported_reason}"
        worst = max(self.scan.findings, key=lambda f: severity_rank(f.severity))
        more = len(self.scan.findings) - 1
        extra = f" and {more} more finding{'s' if more > 1 else ''}" if more else ""
        if worst.global_ is None:  # a structural finding: say what it is, as the scanner titled it
            return f"{self.shown}: {worst.title} ({worst.severity}){extra}"
        return f"{self.shown} names {worst.global_} ({worst.severity}){extra}"


def scan_result(scans: list[ArtifactScan], params: ModelFileScanParams) -> DetectorResult:
    """The verdict, score, metrics and evidence for a stage's scanned files."""
    outcomes = Counter(s.outcome(params) for s in scans)
    recognised = [s for s in scans if s.scan.verdict != "unsupported"]
    status = "fail" if outcomes["fail"] else "warn" if outcomes["warn"] or not scans else "pass"
    findings = Counter(f.severity for s in scans for f in s.scan.findings)
    metrics = {"files": float(len(scans)), "unsafe_files": float(sum(s.scan.verdict == "unsafe" for s in scans)),
               "unsupported_files": float(len(scans) - len(recognised)),
               **{f"{sev}_findings": float(findings[sev]) for sev in SEVERITIES}}
    evidence = {"files": [s.evidence(params) for s in scans], "fail_on": params.fail_on,
                "allowlist_extra": list(params.allow),
                "method": "static: pickle opcodes walked and globals judged against an allowlist; "
                          "nothing unpickled or imported"}
    return DetectorResult(status=status, score=max((s.score() for s in scans), default=0.0),
                          summary=_summary(scans, params), metrics=metrics, evidence=evidence)


def _summary(scans: list[ArtifactScan], params: ModelFileScanParams) -> str:
    if not scans:
        return "The artifacts hold no file to scan, so no model file is vouched for."
    problems = sorted((s for s in scans if s.outcome(params) in ("fail", "warn")), key=lambda s: -s.score())
    if problems:
        named = "; ".join(s.phrase() for s in problems[:_SHOWN])
        hidden = len(problems) - _SHOWN
        more = f"; and {hidden} more (see the evidence)" if hidden > 0 else ""
        return f"{len(problems)} of {len(scans)} scanned files would not load safely: {named}{more}."
    safe = sum(s.scan.verdict == "safe" for s in scans)
    if safe == 1:
        return "The one recognised file is safe to load: it names no global outside the allowlist."
    every = "Both" if safe == 2 else f"All {safe}"
    return f"{every} recognised files are safe to load: none names a global outside the allowlist."


__all__ = ["ArtifactScan", "ModelFileScan", "ModelFileScanParams", "scan_result"]
