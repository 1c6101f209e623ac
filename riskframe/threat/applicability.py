"""Which ATLAS techniques apply to each stage of a pipeline, and why.

Three routes open a technique at a stage, each recorded as a :class:`Reason`:

- **kind**: an ATLAS mitigation that addresses the technique is applied in the stage's lifecycle
  phase (``Mitigation.lifecycle`` holds riskframe stage kinds), so the defender acts there;
- **trust**: an untrusted stage is an entry point (:data:`~riskframe.threat.tables.UNTRUSTED_SOURCE`);
- **artifact**: what the stage holds: datasets, model files in a format that runs code on load,
  text corpora (:mod:`riskframe.threat.tables`).

Techniques that need a language model or an agent (or target people: phishing, deepfakes) are only
opened by a text corpus; techniques that reach a model through its inference API only at stages
that serve it (deployment, monitoring). Nothing here reads a file: applicability is decided from
the pipeline document alone.

>>> from riskframe.catalog import load_catalog
>>> from riskframe.spec.pipeline import Stage
>>> stage = Stage(name="ingest", kind="data-understanding", trust="untrusted")
>>> found = stage_techniques(stage, load_catalog())
>>> [r.source for r in found["AML.T0010"]]
['kind', 'trust']
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from riskframe.catalog.store import Catalog
from riskframe.spec.pipeline import Artifact, Pipeline, Stage
from riskframe.threat import tables
from riskframe.threat.model import ArtifactRef, Reason

Applicability = dict[str, list[Reason]]  # technique -> why it applies (immutable reasons, shared)


def applicable_techniques(pipeline: Pipeline, catalog: Catalog) -> dict[str, Applicability]:
    """For every stage (by name, in pipeline order), the techniques that apply and why.

    Examples
    --------
    >>> from riskframe.spec import load_pipeline
    >>> found = applicable_techniques(load_pipeline("examples/poisoned-digits/pipeline.yaml"),
    ...                               load_catalog())  # doctest: +SKIP
    >>> "AML.T0019" in found["ingest"]  # doctest: +SKIP
    True
    """
    return {stage.name: stage_techniques(stage, catalog) for stage in pipeline.stages}


def stage_techniques(stage: Stage, catalog: Catalog) -> Applicability:
    """The techniques that apply at ``stage``, each with its reasons (kind, then trust, then artifacts)."""
    found: Applicability = {tid: [reason] for tid, reason in _by_kind(catalog).get(stage.kind, {}).items()}
    types = {a.type for a in stage.artifacts}
    if stage.trust == "untrusted":
        _add(found, catalog, ((r.technique, Reason(source="trust", text=f"untrusted source: {r.reason}"))
                              for r in tables.UNTRUSTED_SOURCE if r.needs is None or r.needs in types))
    for artifact in stage.artifacts:
        ref = ArtifactRef(type=artifact.type, name=artifact.name)
        _add(found, catalog, ((r.technique, Reason(source="artifact", text=f"{artifact.type} {artifact.name}: "
                                                   f"{r.reason}", artifact=ref)) for r in artifact_rules(artifact)))
    return found


def artifact_rules(artifact: Artifact) -> list[tables.Rule]:
    """The rules an artifact triggers: its type, its model format, and a text corpus."""
    rules = list(tables.ARTIFACT_TYPES.get(artifact.type, ()))
    if artifact.type == "model":
        rules += tables.MODEL_FORMATS.get(artifact.resolved_format, ())
    if is_text_corpus(artifact):
        rules += tables.TEXT_CORPUS
    return rules


def is_text_corpus(artifact: Artifact) -> bool:
    """A dataset or files artifact of documents: a text format, or a text file suffix."""
    if artifact.type not in ("dataset", "files"):
        return False
    declared = (artifact.format or "").lower()
    return declared in tables.TEXT_FORMATS or artifact.path.lower().endswith(tables.TEXT_SUFFIXES)


def _add(found: Applicability, catalog: Catalog, entries: Iterable[tuple[str, Reason]]) -> None:
    for technique_id, reason in entries:
        if catalog.technique(technique_id) is None:  # an older catalog without this id
            continue
        reasons = found.setdefault(technique_id, [])
        if reason not in reasons:
            reasons.append(reason)


@lru_cache(maxsize=4)
def _by_kind(catalog: Catalog) -> dict[str, dict[str, Reason]]:
    """stage kind -> {technique: reason}, from the lifecycle of the mitigations addressing each."""
    out: dict[str, dict[str, Reason]] = {}
    for technique in catalog.atlas.techniques:
        if technique.id in tables.GENERATIVE_ONLY:
            continue
        by_kind: dict[str, list[str]] = {}
        for mitigation in catalog.mitigations_for(technique.id):
            for kind in mitigation.lifecycle:
                by_kind.setdefault(kind, []).append(mitigation.id)
        for kind, ids in by_kind.items():  # ids only: the threat model names each mitigation once
            if technique.id in tables.SERVED_ONLY and kind not in tables.SERVING_KINDS:
                continue
            text = f"mitigated at {kind} by {', '.join(ids)}"
            out.setdefault(kind, {})[technique.id] = Reason(source="kind", text=text)
    return out
