"""Check, before any detector runs, that every artifact is where riskframe may read it (inside the
pipeline's folder or its ``data_roots``), exists as a regular file or folder (never a FIFO or a
device), and that the datasets and representations the plan uses load and validate within the
memory budget. Problems are user mistakes: they are located at the artifact's declaration in the
pipeline file and stop the assessment (exit 2), all at once."""

from __future__ import annotations

from collections.abc import Sequence

from riskframe.data.roots import path_problems
from riskframe.data.text import is_text_dataset
from riskframe.data.windows import list_windows
from riskframe.detectors.context import ArtifactStore
from riskframe.engine.plan import PlannedRun
from riskframe.errors import ArtifactError, Problem
from riskframe.spec.check import raise_if
from riskframe.spec.pipeline import Artifact, Pipeline


def prepare_artifacts(pipeline: Pipeline, runs: Sequence[PlannedRun], store: ArtifactStore) -> None:
    """Raise :class:`~riskframe.errors.DocumentError` listing every unusable artifact."""
    raise_if([p for p in path_problems(pipeline) if p.field.startswith("data_roots")])
    where = {a.name: (i, j) for i, s in enumerate(pipeline.stages) for j, a in enumerate(s.artifacts)}
    problems: dict[str, Problem] = {}

    def blame(artifact: Artifact, exc: ArtifactError) -> None:
        i, j = where[artifact.name]
        problems.setdefault(artifact.name, pipeline.source.problem(
            ("stages", i, "artifacts", j, exc.field), str(exc), getattr(artifact, exc.field, None)))

    for _, artifact in pipeline.artifacts():
        try:
            store.check(artifact)
        except ArtifactError as exc:
            blame(artifact, exc)
    for run in runs:
        for role, artifacts in run.bindings.items():
            for artifact in artifacts:
                if artifact.name in problems or role not in ("dataset", "representations", "endpoint"):
                    continue
                try:
                    _load(store, artifact, run)
                except ArtifactError as exc:
                    blame(artifact, exc)
    raise_if(sorted(problems.values(), key=lambda p: (p.line, p.column)))


def _load(store: ArtifactStore, artifact: Artifact, run: PlannedRun) -> None:
    if artifact.type == "endpoint":  # a problem in the endpoint file is located in that file
        store.endpoint(artifact)
        return
    if is_text_dataset(artifact):
        store.text(artifact)
        return
    if artifact.type == "dataset" and artifact.windows:
        list_windows(artifact, store.roots)  # each window is read by the run, one at a time
        return
    if artifact.type == "dataset" and run.detector.dataset_view == "table":
        store.table(artifact)
        return
    if artifact.type == "dataset":
        store.dataset(artifact)
        return
    reps = store.representations(artifact)
    dataset = run.bindings.get("dataset")
    if dataset:
        n = store.dataset(dataset[0]).n_samples
        if reps.shape[0] != n:
            raise ArtifactError(f"representations have {reps.shape[0]} rows but dataset "
                                f"{dataset[0].name!r} has {n} samples; they must be row-aligned", "of")


def artifact_problems(pipeline: Pipeline) -> list[Problem]:
    """What :func:`prepare_artifacts` would stop an assessment on, for every artifact of the pipeline
    whatever a policy plans (``riskframe validate``): a path outside the roots, a missing file, an
    unknown format, a dataset or representations file that does not load (a misspelt column, a
    labels key that is not there), each located at its declaration."""
    from riskframe.data.roots import DataRoots

    problems = [p for p in path_problems(pipeline) if p.field.startswith("data_roots")]
    if problems:
        return problems
    store = ArtifactStore(DataRoots.of(pipeline))
    for i, stage in enumerate(pipeline.stages):
        for j, artifact in enumerate(stage.artifacts):
            try:
                store.check(artifact)
                if artifact.type == "dataset":
                    store.dataset(artifact)
                elif artifact.type == "representations":
                    store.representations(artifact)
            except ArtifactError as exc:
                problems.append(pipeline.source.problem(("stages", i, "artifacts", j, exc.field), str(exc),
                                                        getattr(artifact, exc.field, None)))
    return problems
