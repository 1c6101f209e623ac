"""Fill in what an older ``assessment.json`` did not record as data, as the riskframe that wrote it meant it.

Schema 1.2 records two facts that older riskframes (schemas 1.0 and 1.1) left implicit: which
model a run was bound to beside its primary artifact (the result's ``model``; fingerprints hash
its digest), and which picture a reviewer checks first (an attachment's ``prominent``). Reading
an older file, they are restored from the two fixed shapes those riskframes wrote, never from
prose: a run bound to a model had the id ``<requirement>/<stage>/<control>/<primary>+<model>``
(artifact names hold neither ``/`` nor ``+``), and the flagged-samples picture was always named
``flagged-samples.png``. An older baseline thus keeps the fingerprints it had.

>>> data = {"results": [{"id": "BD-2/evaluate/screen/test+model", "artifact": "test", "attachments": []}]}
>>> upgrade(data, (1, 1))["results"][0]["model"]
'model'
"""

from __future__ import annotations

from typing import Any

# The first schema whose results and attachments record these facts themselves.
STRUCTURED = (1, 2)
_FLAGGED_PICTURE = "flagged-samples.png"


def upgrade(data: dict[str, Any], version: tuple[int, int]) -> dict[str, Any]:
    """``data`` (an ``assessment.json`` of schema ``version``) with the fields schema 1.2 added."""
    if version >= STRUCTURED or not isinstance(data.get("results"), list):
        return data
    results = [_result(r) if isinstance(r, dict) else r for r in data["results"]]
    return {**data, "results": results}


def _result(result: dict[str, Any]) -> dict[str, Any]:
    upgraded = dict(result)
    if "model" not in upgraded:
        upgraded["model"] = _bound_model(upgraded.get("id"), upgraded.get("artifact"))
    attachments = upgraded.get("attachments")
    if isinstance(attachments, list):
        upgraded["attachments"] = [
            {**a, "prominent": a.get("name") == _FLAGGED_PICTURE} if isinstance(a, dict) and "prominent" not in a
            else a for a in attachments]
    return upgraded


def _bound_model(run_id: Any, artifact: Any) -> str | None:
    if not isinstance(run_id, str) or not isinstance(artifact, str):
        return None
    parts = run_id.split("/")
    if len(parts) != 4:
        return None
    primary, plus, model = parts[3].partition("+")
    return model if plus and primary == artifact and model else None
