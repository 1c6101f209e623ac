"""Back-matter resources of the OSCAL assessment results, and the artifact evidence that cites them.

Every file the assessment read (pipeline, policies, controls, waivers) and every pipeline artifact
becomes a resource whose ``rlink`` carries the file's SHA-256; observations cite the artifacts they
examined as ``#<resource uuid>``, the OSCAL way of pointing into the back matter. Paths stay as the
assessment recorded them: relative to the directory ``riskframe assess`` ran in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from trestle.oscal import common as oc

from riskframe.assessment import Assessment, ControlResult
from riskframe.reports.oscal import ATLAS_URL, NAMESPACE, NIST_AI_RMF_URL, Uuids, single_line

DIGEST_WORDS = {
    "match": "matches the digest the pipeline declares",
    "mismatch": "does NOT match the digest the pipeline declares",
    "undeclared": "the pipeline declares no digest for it",
}


@dataclass(frozen=True)
class ArtifactDigest:
    stage: str
    name: str
    type: str
    path: str
    sha256: str | None
    status: str  # match | mismatch | undeclared | unknown (never hashed)
    uuid: str


class Resources:
    """The back matter: the plan, the two frameworks, each input file and each artifact."""

    def __init__(self, assessment: Assessment, ids: Uuids) -> None:
        self.assessment, self.ids = assessment, ids
        self.plan_uuid = ids.of("resource", "assessment-plan")
        self.nist_uuid = ids.of("resource", "nist-ai-rmf")
        self.atlas_uuid = ids.of("resource", "mitre-atlas")
        self.artifacts = _artifact_digests(assessment, ids)

    def inputs(self) -> list[tuple[str, str, str, str]]:
        """(uuid, title, path, sha256) of each file read that is not an artifact resource already."""
        covered = {a.path for a in self.artifacts}
        seen: set[str] = set()
        out = []
        for f in self.assessment.inputs:
            if (f.role == "artifact" and f.path in covered) or f.path in seen:
                continue
            seen.add(f.path)
            out.append((self.ids.of("resource", f"input/{f.path}"), f"{f.role} {f.path}", f.path, f.sha256))
        return out

    def links(self) -> list[oc.Link]:
        """Links from the result to the frameworks and to every file resource: the documents and
        artifacts it assessed (so every back-matter resource is referenced)."""
        files = [(self.atlas_uuid, "MITRE ATLAS"), (self.nist_uuid, "NIST AI RMF")]
        files += [(uuid, title) for uuid, title, _, _ in self.inputs()]
        files += [(a.uuid, f"artifact {a.name} of stage {a.stage}") for a in self.artifacts]
        return [oc.Link(href=f"#{uuid}", rel="reference", text=single_line(title)) for uuid, title in files]

    def all(self) -> list[oc.Resource]:
        return [
            self.plan(),
            self.frameworks()[0],
            self.frameworks()[1],
            *(_file_resource(uuid, title, path, sha256) for uuid, title, path, sha256 in self.inputs()),
            *(self.artifact_resource(a) for a in self.artifacts),
        ]

    def plan(self) -> oc.Resource:
        policies = "; ".join(f"{p.name} {p.version} ({p.path})" for p in self.assessment.policies)
        return oc.Resource(
            uuid=self.plan_uuid,
            title="Assessment plan: the riskframe policies applied to the pipeline",
            description=f"Policies: {policies}. Pipeline: {self.assessment.pipeline.path}. Each file is a "
            "resource of this back matter, with its SHA-256.",
        )

    def frameworks(self) -> tuple[oc.Resource, oc.Resource]:
        catalogs = self.assessment.tool.catalogs
        version = catalogs.get("nist_ai_rmf", "1.0")
        nist = oc.Resource(
            uuid=self.nist_uuid,
            title=single_line(f"NIST AI Risk Management Framework {version} (NIST AI 100-1)"),
            document_ids=[oc.DocumentId(scheme="http://www.doi.org/", identifier="10.6028/NIST.AI.100-1")],
            citation=oc.Citation(text="NIST AI 100-1, Artificial Intelligence Risk Management Framework (AI RMF 1.0)"),
            rlinks=[oc.Rlink(href=NIST_AI_RMF_URL)],
        )
        atlas = oc.Resource(
            uuid=self.atlas_uuid,
            title=single_line(f"MITRE ATLAS {catalogs.get('atlas', '')}"),
            props=[oc.Property(name="version", value=catalogs.get("atlas", "unknown"), ns=NAMESPACE)],
            rlinks=[oc.Rlink(href=ATLAS_URL)],
        )
        return nist, atlas

    def artifact_resource(self, artifact: ArtifactDigest) -> oc.Resource:
        title = f"artifact {artifact.name} ({artifact.type}) of stage {artifact.stage}: {artifact.path}"
        resource = _file_resource(artifact.uuid, title, artifact.path, artifact.sha256)
        return resource.model_copy(
            update={"props": [oc.Property(name="digest-status", value=artifact.status, ns=NAMESPACE)]}
        )

    def evidence_for(self, result: ControlResult) -> list[oc.RelevantEvidence]:
        """The artifacts a run examined: its primary artifact, or every artifact of its stage."""
        chosen = [a for a in self.artifacts if a.stage == result.stage and result.artifact in (None, a.name)]
        return [
            oc.RelevantEvidence(
                href=f"#{a.uuid}",
                description=f"{a.path} (artifact {a.name}, stage {a.stage}): sha256 {a.sha256 or 'not computed'}; "
                f"{DIGEST_WORDS.get(a.status, 'its digest was not computed')}.",
            )
            for a in chosen
        ]


def _artifact_digests(assessment: Assessment, ids: Uuids) -> list[ArtifactDigest]:
    """Each declared artifact with the digest the assessment computed (lineage, else inputs)."""
    lineage = {(e.stage, e.artifact): e for e in assessment.lineage}
    hashed = {f.path: f.sha256 for f in assessment.inputs if f.role == "artifact"}
    # Artifact paths are relative to the pipeline file; inputs are recorded relative to where
    # riskframe ran. One base for both, so a file is one resource.
    base = PurePosixPath(assessment.pipeline.path.replace("\\", "/")).parent
    found = []
    for stage in assessment.pipeline.stages:
        for artifact in stage.artifacts:
            recorded = (base / artifact.path).as_posix() if assessment.pipeline.path else artifact.path
            entry = lineage.get((stage.name, artifact.name))
            sha256: str | None
            status: str
            if entry is not None:
                sha256, status = entry.sha256, entry.digest_status
            else:
                sha256 = hashed.get(recorded, hashed.get(artifact.path))
                status = "unknown" if sha256 is None else _status(artifact.sha256, sha256)
            uuid = ids.of("resource", f"artifact/{stage.name}/{artifact.name}")
            found.append(ArtifactDigest(stage.name, artifact.name, artifact.type, recorded, sha256, status, uuid))
    return found


def _status(declared: str | None, actual: str) -> str:
    if declared is None:
        return "undeclared"
    return "match" if declared.lower() == actual.lower() else "mismatch"


def _file_resource(uuid: str, title: str, path: str, sha256: str | None) -> oc.Resource:
    hashes = [oc.Hash(algorithm="SHA-256", value=sha256)] if sha256 else None
    return oc.Resource(uuid=uuid, title=single_line(title), rlinks=[oc.Rlink(href=file_href(path), hashes=hashes)])


def file_href(path: str) -> str:
    """A URI reference for a recorded path: relative paths stay relative, absolute ones become file URIs."""
    posix = path.replace("\\", "/")
    if PurePosixPath(posix).is_absolute():
        return "file://" + quote(posix)
    return quote(posix)
