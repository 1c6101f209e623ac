"""``assess``: the main job, from files to an :class:`~riskframe.assessment.Assessment`.

load and resolve -> stage graph -> plan -> check artifacts -> run -> score -> compose.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import date, datetime, timezone
from pathlib import Path

from riskframe.assessment import Assessment, InputFile
from riskframe.catalog.store import Catalog
from riskframe.data.roots import DataRoots
from riskframe.detectors.context import ArtifactStore
from riskframe.detectors.registry import Registry
from riskframe.engine.compose import compose, shown_path
from riskframe.engine.executors import ExecutorName, using_executor
from riskframe.engine.gate import check_override
from riskframe.engine.plan import plan_runs
from riskframe.engine.prepare import prepare_artifacts
from riskframe.engine.run import Progress, preload, run_plan
from riskframe.io.digests import sha256_file
from riskframe.spec.inherit import policy_files
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.policy import Policy
from riskframe.spec.resolved import Inputs, PathLike, load_inputs
from riskframe.vocabulary import Level


def assess(
    pipeline: Pipeline | PathLike,
    policies: Sequence[Policy | PathLike] | Policy | PathLike,
    *,
    controls_dirs: Sequence[PathLike] = (),
    fail_on: Level | None = None,
    jobs: int | None = None,
    seed: int = 0,
    catalog: Catalog | None = None,
    registry: Registry | None = None,
    executor: ExecutorName | Executor = "process",
    progress: Progress | None = None,
    waivers: Sequence[PathLike] = (),
    today: date | None = None,
) -> Assessment:
    """Assess a pipeline against policies.

    Parameters
    ----------
    pipeline, policies
        Paths to the YAML documents (or bundled policy names), or documents already loaded; one
        policy or a sequence of them.
    controls_dirs
        Folders of extra ``kind: Control`` files, besides the bundled ``controls/``.
    fail_on
        Gate level; default the strictest ``risk_appetite.fail_on`` of the policies.
    jobs, seed, executor, progress
        How detectors run: at most ``jobs`` at once, seeded, reporting each finished run to
        ``progress(done, total, outcome)``. ``executor="process"`` (the default) runs each in a
        worker process of its own under its control's ``timeout`` and ``memory`` (``jobs``
        defaults to the number of cores); ``"local"`` runs them in this process, for tests and
        debugging (one at a time by default); or pass a :class:`concurrent.futures.Executor`
        (:mod:`riskframe.engine.executors`).
    waivers, today
        ``kind: Waivers`` files, besides the policies' own waivers; the date their expiry is judged
        on (default: today).

    Raises
    ------
    riskframe.errors.DocumentError
        Invalid documents or unusable artifacts, every problem of the first bad file located.

    Examples
    --------
    >>> import riskframe
    >>> result = riskframe.assess("examples/poisoned-digits/pipeline.yaml",
    ...                           ["policies/data-poisoning.yaml"])  # doctest: +SKIP
    >>> result.gate.decision, result.summary.risk_score  # doctest: +SKIP
    ('fail', 75.0)
    """
    if isinstance(policies, (str, Path, Policy)):  # one policy, not a sequence of characters
        policies = [policies]
    # The executor first: worker processes' imports then overlap with loading the inputs.
    with using_executor(executor, jobs) as chosen:
        inputs = load_inputs(pipeline, policies, controls_dirs=controls_dirs, catalog=catalog, registry=registry,
                             waivers=waivers, today=today)
        check_override(fail_on, [(p.metadata.name, p.risk_appetite.fail_on, p.risk_appetite.cli_override)
                                 for p in inputs.policies])  # before minutes of detectors
        plan = plan_runs(inputs.pipeline, inputs.graph, inputs.policies, inputs.controls, inputs.catalog,
                         inputs.registry, inputs.params)
        preload(chosen, plan.runs)  # the worker server imports while the artifacts load
        store = ArtifactStore(DataRoots.of(inputs.pipeline))
        prepare_artifacts(inputs.pipeline, plan.runs, store)
        outcomes = run_plan(plan.runs, store, jobs=jobs, seed=seed, executor=chosen, progress=progress)
    created_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return compose(inputs, plan, outcomes, files=input_files(inputs, store), created_at=created_at,
                   fail_on=fail_on)


def input_files(inputs: Inputs, store: ArtifactStore) -> list[InputFile]:
    """Every file the assessment read, with its sha256."""
    documents = [("pipeline", inputs.pipeline.path)]
    documents += [("policy", f) for p in inputs.policies for f in policy_files(p)]  # with every ancestor
    documents += [("waivers", s.path) for s in inputs.waiver_sets]
    documents += [("control", c.path) for c in inputs.used_controls()]
    files = [InputFile(path=shown_path(path), sha256=sha256_file(path), role=role, size=path.stat().st_size)
             for role, path in documents if path is not None]
    shown_base = inputs.pipeline.path.parent if inputs.pipeline.path else Path(".")
    for _, artifact in inputs.pipeline.artifacts():
        path = store.path(artifact)
        size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        files.append(InputFile(path=(shown_base / artifact.path).as_posix(), sha256=store.digest(artifact),
                               role="artifact", size=size))
    return files


