"""``model-file-scan``: no model file of a stage can run code when it is loaded.

The detector binds the ``files`` role, so it runs once per stage and sees every artifact; it scans
the ``model`` artifacts and the ``files`` artifacts (folders walked), statically, with
:mod:`riskframe.scanning`: the format is recognised by content, every pickle stream is walked
opcode by opcode, and each global a loader would import is judged against an allowlist of
globals known to be safe to reconstruct. Nothing is unpickled or imported.

Per file the evidence gives its format, verdict (``safe``, ``unsafe``, ``unsupported``), worst
severity and findings (global, byte offset, severity, reason). The run

- **fails** when a file has a finding at or above ``fail_on`` (default ``medium``: anything outside
  the allowlist), or when nothing vouches for a model file: a ``model`` artifact whose format is
  not recognised, or any file in a format that can hold a model the scan cannot vouch for (Keras,
  SavedModel, HDF5, GGUF, tar, a zip with members it cannot read), also inside a ``files``
  artifact, where model bundles usually ship (``unsupported_models: warn`` relaxes this);
- **warns** on findings below ``fail_on``, or when nothing it saw was a recognised format;
- **passes** otherwise. Files inside a ``files`` artifact whose content is no format the scan knows
  (a README, a CSV, an image) are listed and otherwise ignored.

The score is the worst file's: 1.0 for a critical finding, 0.8 high, 0.5 medium (or an
unsupported model), 0.2 low, 0 when every file is safe.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

from pydantic import Field, field_validator

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.engine.context import RunContext
from riskframe.errors import NotApplicableError
from riskframe.results import DetectorResult
from riskframe.scanning import SEVERITIES, Allowlist, FileScan, Severity, iter_files, scan_file, severity_rank
from riskframe.spec.pipeline import Artifact

SEVERITY_SCORE = {"critical": 1.0, "high": 0.8, "medium": 0.5, "low": 0.2}
# Formats of content the scan knows nothing of ("unknown+gzip": a compressed one): in a ``files``
# artifact such a file is data or documentation, not a model nobody vouched for.
_NOT_A_MODEL = frozenset({"unknown", "empty"})
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
        description="what a model file nothing vouches for does to the run: a model artifact whose format is "
                    "not recognised, or a Keras, SavedModel, HDF5, GGUF, tar or partly unreadable zip file")

    @field_validator("allow")
    @classmethod
    def _dotted(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not _DOTTED.match(n)]
        if bad:
            raise ValueError(f"allow entries must be dotted names like 'mypackage.models.Net'; got {bad}")
        return names


class ModelFileScan(Detector):
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
        out.append(ArtifactScan(artifact, shown, scan_file(file, allowlist=allowlist)))
    return out


class ArtifactScan:
    """A file's scan, with the artifact it belongs to and its path as the pipeline names it."""

    def __init__(self, artifact: Artifact, shown: str, scan: FileScan) -> None:
        self.artifact, self.shown, self.scan = artifact, shown, scan

    @property
    def may_be_model(self) -> bool:
        """A file of a ``model`` artifact, or one in a format that can hold a model (recognised, or
        one the scan knows but cannot read: HDF5, GGUF, tar)."""
        return (self.artifact.type == "model" or self.scan.recognised
                or self.scan.format.split("+")[0] not in _NOT_A_MODEL)

    def outcome(self, params: ModelFileScanParams) -> Literal["fail", "warn", "pass", "ignored"]:
        scan = self.scan
        if scan.verdict == "unsafe":
            failing = severity_rank(scan.severity) >= severity_rank(params.fail_on)
            return "fail" if failing else "warn"
        if scan.verdict == "unsupported":
            return params.unsupported_models if self.may_be_model else "ignored"
        return "pass"

    def score(self) -> float:
        if self.scan.verdict == "unsupported":
            return SEVERITY_SCORE["medium"] if self.may_be_model else 0.0
        return SEVERITY_SCORE.get(self.scan.severity or "", 0.0)

    def evidence(self, params: ModelFileScanParams) -> dict[str, Any]:
        return {"artifact": self.artifact.name, **self.scan.to_dict(), "path": self.shown,
                "outcome": self.outcome(params)}

    def phrase(self) -> str:
        if self.scan.verdict == "unsupported":
            return f"{self.shown}: {self.scan.unsupported_reason}"
        worst = max(self.scan.findings, key=lambda f: severity_rank(f.severity))
        what = worst.global_ or "a malformed stream"
        more = len(self.scan.findings) - 1
        extra = f" and {more} more finding{'s' if more > 1 else ''}" if more else ""
        return f"{self.shown} names {what} ({worst.severity}){extra}"


def scan_result(scans: list[ArtifactScan], params: ModelFileScanParams) -> DetectorResult:
    """The verdict, score, metrics and evidence for a stage's scanned files."""
    outcomes = Counter(s.outcome(params) for s in scans)
    recognised = [s for s in scans if s.scan.verdict != "unsupported"]
    status = "fail" if outcomes["fail"] else "warn" if outcomes["warn"] or not recognised else "pass"
    findings = Counter(f.severity for s in scans for f in s.scan.findings)
    metrics = {"files": float(len(scans)), "unsafe_files": float(sum(s.scan.verdict == "unsafe" for s in scans)),
               "unsupported_files": float(len(scans) - len(recognised)),
               **{f"{sev}_findings": float(findings[sev]) for sev in SEVERITIES}}
    evidence = {"files": [s.evidence(params) for s in scans], "fail_on": params.fail_on,
                "allowlist_extra": list(params.allow),
                "method": "static: pickle opcodes walked and globals judged against an allowlist; "
                          "nothing unpickled or imported"}
    return DetectorResult(status=status, score=max((s.score() for s in scans), default=0.0),
                          summary=_summary(scans, params, status), metrics=metrics, evidence=evidence)


def _summary(scans: list[ArtifactScan], params: ModelFileScanParams, status: str) -> str:
    problems = sorted((s for s in scans if s.outcome(params) in ("fail", "warn")), key=lambda s: -s.score())
    if problems:
        named = "; ".join(s.phrase() for s in problems[:_SHOWN])
        hidden = len(problems) - _SHOWN
        more = f"; and {hidden} more (see the evidence)" if hidden > 0 else ""
        return f"{len(problems)} of {len(scans)} scanned files would not load safely: {named}{more}."
    if status == "warn":
        if len(scans) == 1:
            return "The one file is in no format the scan recognises, so it is not vouched for."
        return f"None of the {len(scans)} files is in a format the scan recognises, so none is vouched for."
    safe = sum(s.scan.verdict == "safe" for s in scans)
    if safe == 1:
        return "The one recognised file is safe to load: it names no global outside the allowlist."
    every = "Both" if safe == 2 else f"All {safe}"
    return f"{every} recognised files are safe to load: none names a global outside the allowlist."


__all__ = ["ArtifactScan", "ModelFileScan", "ModelFileScanParams", "scan_result"]
