"""``artifact-digest``: every artifact of a stage is still the file its pipeline pinned.

The detector streams the sha256 of every artifact bound to the stage and compares it with the
``sha256:`` the pipeline declares for it. Files are hashed in chunks (``hashlib.file_digest`` on
Python 3.11+, a 1 MiB read loop before), so memory stays constant whatever their size. A folder's
digest is the sha256 of the ``sha256sum``-style listing of the files under it: one line
``"<sha256 of the file>  <path relative to the folder, / separated>\\n"`` per file, sorted
bytewise by path (see :func:`riskframe.io.digests.sha256_tree`, shared with the assessment's lineage
records so both always agree). Digests are computed through the run's
:class:`~riskframe.detectors.context.ArtifactStore`, once per assessment.

Per artifact the outcome is one of:

``match``
    the digest equals the declared one;
``mismatch``
    it does not: the file changed since it was pinned (fails);
``missing``
    the path does not exist (fails);
``unreadable``
    the file exists but cannot be read (fails);
``undeclared``
    nothing pinned vouches for the artifact: the pipeline declares no ``sha256``, and no manifest
    or only an unpinned one (below). A warning carrying the computed digest so that users can
    pin it, or a failure with ``require_digest: true``;
``manifest-mismatch``
    the artifact names a ``manifest:`` (a ``sha256sum``-style listing, see
    :mod:`riskframe.signing.manifest`) and a listed file changed or is missing, a file of the
    artifact is not listed, the manifest cannot be read, or the manifest is pinned
    (``manifest_sha256:``) and is no longer the pinned file (fails).

A manifest vouches for an artifact only when it is pinned itself. A ``SHA256SUMS`` shipped in the
same delivery as the model it lists is rewritten by whoever swaps the model, so an artifact that
declares no ``sha256`` and matches an *unpinned* manifest is ``undeclared`` ("matches its
manifest, which is not pinned"), never a ``match``; one that matches a pinned manifest is a
``match``.

The score is the share of artifacts whose integrity is not confirmed, except that any mismatch
scores 1: a changed digest is direct evidence that an artifact was modified.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.errors import NotApplicableError
from riskframe.io.digests import sha256_file
from riskframe.results import DetectorResult
from riskframe.signing.manifest import ManifestCheck, check_manifest
from riskframe.spec.pipeline import Artifact

Outcome = Literal["match", "mismatch", "manifest-mismatch", "missing", "unreadable", "undeclared"]

# Failures first in the summary, then what merely lacks a pin.
_ORDER: tuple[Outcome, ...] = ("mismatch", "manifest-mismatch", "missing", "unreadable", "undeclared", "match")
_METRIC = {"match": "matched", "mismatch": "mismatched", "manifest-mismatch": "manifest_mismatched",
           "missing": "missing", "unreadable": "unreadable", "undeclared": "undeclared"}
_SHOWN = 3  # problems named in the one-sentence summary; the evidence lists them all

FOLDER_METHOD = ("sha256 over one line '<sha256>  <relative/posix/path>\\n' per file under the "
                 "folder, sorted bytewise by path")


class ArtifactDigestParams(DetectorParams):
    require_digest: bool = Field(
        default=False,
        description="fail when an artifact declares no sha256 (default: warn and report the "
                    "computed digest so it can be pinned)",
    )


@dataclass(frozen=True)
class DigestCheck:
    """The outcome for one artifact."""

    artifact: Artifact
    outcome: Outcome
    actual: str | None = None
    kind: Literal["file", "folder"] | None = None
    error: str | None = None
    manifest: ManifestCheck | None = None
    manifest_actual: str | None = None  # the manifest file's own sha256, when it could be read

    @property
    def manifest_pinned(self) -> bool:
        return self.artifact.manifest_sha256 is not None

    def failed(self, require_digest: bool) -> bool:
        return self.outcome in ("mismatch", "manifest-mismatch", "missing", "unreadable") or (
            require_digest and self.outcome == "undeclared")

    def evidence(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.artifact.name, "type": self.artifact.type, "path": self.artifact.path,
            "kind": self.kind, "declared": self.artifact.sha256, "actual": self.actual,
            "status": self.outcome,
        }
        if self.error:
            entry["error"] = self.error
        if self.manifest:
            entry["manifest"] = {**self.manifest.evidence(), "declared": self.artifact.manifest_sha256,
                                 "actual": self.manifest_actual, "pinned": self.manifest_pinned}
        return entry

    def phrase(self) -> str:
        """How the summary names this artifact's problem."""
        path = self.artifact.path
        if self.outcome == "mismatch":
            declared, found = _short(self.artifact.sha256), _short(self.actual)
            return f"{path} does not (declared {declared}, found {found})"
        if self.outcome == "manifest-mismatch" and self.manifest:
            if self.manifest_pinned and self.manifest_actual not in (None, self.artifact.manifest_sha256):
                return (f"{path}'s manifest {self.artifact.manifest} is not the pinned one (declared "
                        f"{_short(self.artifact.manifest_sha256)}, found {_short(self.manifest_actual)})")
            return f"{path} does not match its manifest ({self.manifest.phrase()})"
        if self.outcome == "missing":
            return f"{path} is missing"
        if self.outcome == "unreadable":
            return f"{path} cannot be read ({self.error})"
        if self.manifest is not None:
            return (f"{path} matches its manifest {self.artifact.manifest}, which is not pinned (found "
                    f"{_short(self.manifest_actual)})")
        return f"{path} declares none (found {_short(self.actual)})"


def check_artifact(store: ArtifactStore, artifact: Artifact) -> DigestCheck:
    """Digest one artifact and compare it with its declared ``sha256``."""
    path = store.path(artifact)
    kind: Literal["file", "folder"] | None = None
    try:
        if not path.exists():  # a dangling symlink or a symlink loop counts as missing too
            return DigestCheck(artifact, "missing")
        kind = "folder" if path.is_dir() else "file"
        actual = store.digest(artifact)
    except OSError as exc:  # permissions, a file vanishing mid-walk, a device error
        return DigestCheck(artifact, "unreadable", kind=kind, error=exc.strerror or str(exc))
    if artifact.manifest is None:
        outcome: Outcome = "undeclared" if artifact.sha256 is None else (
            "match" if actual == artifact.sha256 else "mismatch")
        return DigestCheck(artifact, outcome, actual, kind)
    manifest_path = store.locate(artifact.manifest, "manifest")  # inside the pipeline's roots (checked up front)
    manifest = check_manifest(manifest_path, path, artifact.manifest)
    pin = _manifest_digest(manifest_path)

    def outcome_with_manifest() -> Outcome:
        if artifact.sha256 is not None and actual != artifact.sha256:
            return "mismatch"
        if artifact.manifest_sha256 is not None and pin != artifact.manifest_sha256:
            return "manifest-mismatch"  # the manifest itself was replaced: what it lists proves nothing
        if not manifest.ok:
            return "manifest-mismatch"
        return "match" if artifact.sha256 is not None or artifact.manifest_sha256 is not None else "undeclared"

    return DigestCheck(artifact, outcome_with_manifest(), actual, kind, manifest=manifest, manifest_actual=pin)


def _manifest_digest(path: Path) -> str | None:
    """The manifest file's own sha256; None when it cannot be read (its check reports why)."""
    try:
        return sha256_file(path)
    except OSError:
        return None


class ArtifactDigest(Detector[ArtifactDigestParams]):
    """Compare the sha256 of every artifact of a stage with the digest the pipeline declares.

    Examples
    --------
    >>> from riskframe.detectors.registry import builtin_registry
    >>> detector = builtin_registry()["artifact-digest"]  # doctest: +SKIP
    >>> result = detector().run(ctx, detector.Params())  # doctest: +SKIP
    >>> print(result.summary)  # doctest: +SKIP
    2 of 3 artifacts match their declared sha256; data/raw.npz does not (declared 3f2a1b0c...,
    found 9c1e77d2...).
    """

    name = "artifact-digest"
    title = "Artifacts match the sha256 digests the pipeline declares"
    requires = ("files",)
    Params = ArtifactDigestParams
    # What a digest check evidences is change after pinning: data or a model swapped on its way
    # from its source (supply-chain compromise of data, T0010.002, and of models, T0010.003: model
    # artifacts are digested too) or a published dataset replaced (T0019), as its control's
    # atlas.detects says. It says nothing about poison already in the data or the model when it
    # was pinned (T0020, T0058, T0059): those need the content screens.
    techniques = ("AML.T0010.002", "AML.T0010.003", "AML.T0019")

    def run(self, ctx: RunContext, params: ArtifactDigestParams) -> DetectorResult:
        artifacts = ctx.artifacts("files")
        if not artifacts:
            raise NotApplicableError(f"stage {ctx.stage.name!r} declares no artifacts to digest")
        checks = [check_artifact(ctx.store, artifact) for artifact in artifacts]
        return digest_result(checks, params.require_digest)


def digest_result(checks: list[DigestCheck], require_digest: bool) -> DetectorResult:
    """The verdict, score, summary and evidence for a stage's digest checks."""
    counts = Counter(check.outcome for check in checks)
    failed = any(check.failed(require_digest) for check in checks)
    unconfirmed = len(checks) - counts["match"]
    score = 1.0 if counts["mismatch"] or counts["manifest-mismatch"] else unconfirmed / len(checks)
    status = "fail" if failed else "warn" if unconfirmed else "pass"
    # The manifest count appears only where manifests are used, so other stages' metrics stay as they were.
    shown = [o for o in _ORDER if o != "manifest-mismatch" or any(c.manifest for c in checks)]
    metrics = {"artifacts": float(len(checks)), **{_METRIC[o]: float(counts[o]) for o in shown}}
    evidence = {
        "artifacts": [check.evidence() for check in checks],
        "digests": {check.artifact.name: check.actual for check in checks if check.actual},
        "algorithm": "sha256",
        "folder_digest": FOLDER_METHOD,
    }
    return DetectorResult(status=status, score=score, summary=_summary(checks), metrics=metrics,
                          evidence=evidence)


def _summary(checks: list[DigestCheck]) -> str:
    total, matched = len(checks), sum(check.outcome == "match" for check in checks)
    noun = "artifact" if total == 1 else "artifacts"
    if matched == total:
        by_manifest = [c for c in checks if c.artifact.sha256 is None]  # matched through a pinned manifest
        if total == 1:
            pin = f"pinned manifest {by_manifest[0].artifact.manifest}" if by_manifest else "declared sha256"
            return f"The only artifact, {checks[0].artifact.path}, matches its {pin}."
        pins = "declared sha256 or pinned manifest" if by_manifest else "declared sha256"
        every = "Both" if total == 2 else f"All {total}"
        return f"{every} artifacts match their {pins}."
    problems = sorted((c for c in checks if c.outcome != "match"),
                      key=lambda c: _ORDER.index(c.outcome))
    named = "; ".join(check.phrase() for check in problems[:_SHOWN])
    hidden = len(problems) - _SHOWN
    more = f"; and {hidden} more (see the evidence)" if hidden > 0 else ""
    pin = (": pin the sha256 recorded in the evidence"
           if any(c.outcome == "undeclared" for c in problems) else "")
    return f"{matched} of {total} {noun} match their declared sha256; {named}{more}{pin}."


def _short(digest: str | None) -> str:
    return f"{digest[:8]}..." if digest else "nothing"
