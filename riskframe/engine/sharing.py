"""Which planned runs are one computation: the same detector with the same parameters, on the same
stage, over the same artifacts with the same content, under the same limits.

``riskframe assess-all`` runs each such computation once for every pipeline that plans it (two
policies asking for one control at one stage share it too). A detector sees only its
:class:`~riskframe.detectors.context.RunContext`: the stage, the bound artifacts' declarations and
content, and the files it may open by path inside the pipeline's roots (a model, a sidecar file, a
``dvc.lock``). So the key holds the declarations, the content's digests, and the roots themselves:
runs are shared between pipelines that read the same files, never between two folders that merely
hold equal copies (a file beside a copy may differ, and no digest covers it).
"""

from __future__ import annotations

import hashlib
import json

from riskframe.detectors.context import ArtifactStore
from riskframe.engine.plan import PlannedRun


def run_key(run: PlannedRun, store: ArtifactStore) -> str:
    """A digest naming what ``run`` computes from ``store`` (the artifacts' digests are computed
    here if the store has not yet)."""
    bound = {role: [[artifact.model_dump(mode="json"), store.digest(artifact)] for artifact in artifacts]
             for role, artifacts in sorted(run.bindings.items())}
    what = [f"{run.detector.__module__}:{run.detector.__qualname__}", run.params.model_dump(mode="json"),
            run.stage.model_dump(mode="json"), bound, [str(folder) for folder in store.roots.allowed],
            run.control.timeout, run.control.memory]
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()
