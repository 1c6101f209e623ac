"""The promotion gate's record: what ``riskframe mlflow tag`` writes on a model version, and reading it back.

Tags on the model version (all under ``riskframe.``):

``gate``               the assessment's gate decision, ``pass`` or ``fail``
``risk_level``         its risk level (``low`` ... ``critical``)
``assessment_sha256``  the sha256 of the assessment.json file tagged
``assessed_at``        when the assessment was made (ISO 8601)
``pipeline``           the pipeline assessed
``model_version``      ``models:/NAME/VERSION``: the version the assessment examined
``model_sha256``       the sha256 of the model file the assessment examined as that version
``data_sha256``        JSON ``{dataset name: sha256}``: the training data it examined (the model's ``of:``)

``registry-approval`` reads them back and compares the version, the model file and the data with
what a deployment stage holds now. Building the tags is pure (:func:`approval_tags`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from riskframe.assessment import Assessment, LineageEntry

PREFIX = "riskframe."
KEYS = ("gate", "risk_level", "assessment_sha256", "assessed_at", "pipeline", "model_version", "model_sha256",
        "data_sha256")


class NotAssessedError(ValueError):
    """The assessment did not examine the model version it is asked to approve."""


@dataclass(frozen=True)
class Approval:
    """The riskframe tags of one model version."""

    gate: str
    risk_level: str
    assessment_sha256: str
    assessed_at: str
    pipeline: str
    model_version: str
    model_sha256: str
    data_sha256: Mapping[str, str]

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> Approval | None:
        """The approval the tags record; None when the version carries no ``riskframe.gate`` tag.

        Raises
        ------
        ValueError
            The tags are there but incomplete or malformed (edited by hand, or by another tool).
        """
        if PREFIX + "gate" not in tags:
            return None
        missing = [key for key in KEYS if PREFIX + key not in tags]
        if missing:
            raise ValueError(f"its riskframe tags lack {', '.join(PREFIX + k for k in missing)}")
        try:
            data = json.loads(tags[PREFIX + "data_sha256"])
        except ValueError:
            data = None
        if not (isinstance(data, dict) and all(isinstance(v, str) for v in data.values())):
            raise ValueError(f"its {PREFIX}data_sha256 tag is not a JSON object of dataset name to sha256")
        values = {key: tags[PREFIX + key] for key in KEYS if key != "data_sha256"}
        return cls(**values, data_sha256={str(k): v for k, v in data.items()})


def approval_tags(assessment: Assessment, assessment_sha256: str, name: str, version: str) -> dict[str, str]:
    """The tags recording ``assessment``'s verdict on ``models:/name/version``.

    Raises
    ------
    NotAssessedError
        No model of the assessment was checked as that version by ``mlflow-lineage``, or two
        different files were (the approval would not say which one it vouches for).

    Examples
    --------
    >>> tags = approval_tags(assessment, sha, "digits-logreg", "1")  # doctest: +SKIP
    >>> tags["riskframe.gate"], tags["riskframe.model_version"]  # doctest: +SKIP
    ('pass', 'models:/digits-logreg/1')
    """
    uri = f"models:/{name}/{version}"
    entries = [e for e in assessment.lineage if e.registry is not None and e.registry.model_uri == uri]
    if not entries:
        seen = sorted({e.registry.model_uri for e in assessment.lineage if e.registry is not None})
        examined = f"it examined {', '.join(seen)}" if seen else "no model in it was checked by mlflow-lineage"
        raise NotAssessedError(f"the assessment does not examine {uri} ({examined})")
    files = {e.sha256 for e in entries}
    if len(files) > 1:
        listed = ", ".join(f"{e.path} (sha256 {e.sha256[:8]}...)" for e in entries)
        raise NotAssessedError(f"the assessment examined different files as {uri}: {listed}; an approval "
                               "must vouch for one")
    entry = entries[0]
    return {PREFIX + key: value for key, value in {
        "gate": assessment.gate.decision,
        "risk_level": assessment.summary.level,
        "assessment_sha256": assessment_sha256,
        "assessed_at": assessment.created_at,
        "pipeline": assessment.pipeline.name,
        "model_version": uri,
        "model_sha256": entry.sha256,
        "data_sha256": json.dumps(_training_data(assessment, entry), sort_keys=True),
    }.items()}


def _training_data(assessment: Assessment, entry: LineageEntry) -> dict[str, str]:
    if entry.trained_on is None:
        return {}
    data = next((e for e in assessment.lineage if e.artifact == entry.trained_on), None)
    return {data.artifact: data.sha256} if data is not None and data.sha256 else {}
