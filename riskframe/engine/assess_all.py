"""``assess-all``: every pipeline of an organisation against the same policies, on one executor.

Each pipeline is loaded, resolved, planned and its artifacts checked before any detector runs, so a
mistake in any file stops everything with every problem located (exit 2). Then all the plans run
together (:func:`~riskframe.engine.run.run_plans`): one computation per distinct run
(:mod:`riskframe.engine.sharing`), as many at once as the executor takes. Each pipeline gets the
assessment ``assess`` would give it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from riskframe.assessment import Assessment
from riskframe.catalog.store import Catalog, load_catalog
from riskframe.data.roots import DataRoots
from riskframe.detectors.context import ArtifactStore
from riskframe.detectors.registry import Registry, default_registry
from riskframe.engine.assess import input_files
from riskframe.engine.compose import compose
from riskframe.engine.executors import ExecutorName, using_executor
from riskframe.engine.plan import Plan, plan_runs
from riskframe.engine.prepare import prepare_artifacts
from riskframe.engine.run import Progress, run_plans
from riskframe.engine.sharing import run_key
from riskframe.errors import DocumentError, Problem, UsageError
from riskframe.spec.load import resolve_policy
from riskframe.spec.policy import Policy
from riskframe.spec.resolved import Inputs, PathLike, load_inputs
from riskframe.vocabulary import Level

# A pipeline document says so at its top level; other YAML under the folder (policies, CI files,
# dvc.yaml) is not read further.
_DECLARES_PIPELINE = re.compile(r"^kind:[ \t]*(['\"]?)Pipeline\1[ \t]*(#.*)?$", re.MULTILINE)
_YAML = (".yaml", ".yml")


@dataclass(frozen=True)
class Assessed:
    """One pipeline file and its assessment."""

    path: Path
    assessment: Assessment


@dataclass(frozen=True)
class Portfolio:
    """Every pipeline's assessment, and how many detector runs the plans held and were computed."""

    assessed: list[Assessed]
    planned_runs: int
    computed_runs: int


def find_pipelines(where: PathLike) -> list[Path]:
    """The pipeline files under folder ``where`` (YAML files whose top level says ``kind:
    Pipeline``, hidden folders skipped), or those a manifest file lists: one path per line,
    relative to the manifest, ``#`` comments and blank lines ignored.

    Raises
    ------
    DocumentError
        A manifest line names no file (located at its line).
    UsageError
        ``where`` does not exist, or holds no pipeline.
    """
    where = Path(where)
    if where.is_dir():
        found = sorted(p for p in where.rglob("*") if p.suffix in _YAML and p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(where).parts[:-1])
                       and _DECLARES_PIPELINE.search(p.read_text(encoding="utf-8", errors="replace")))
    elif where.is_file():
        found = _manifest(where)
    else:
        raise UsageError(f"{where}: no such folder or manifest file")
    if not found:
        raise UsageError(f"{where}: holds no pipeline (a YAML file whose top level says kind: Pipeline)")
    return found


def _manifest(manifest: Path) -> list[Path]:
    listed: list[Path] = []
    problems: list[Problem] = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        path = manifest.parent / entry
        if path.is_file():
            listed.append(path)
        else:
            problems.append(Problem(str(manifest), number, line.index(entry) + 1, "pipeline",
                                    f"no such file: {entry}", entry))
    if problems:
        raise DocumentError(problems)
    return list({path.resolve(): path for path in listed}.values())  # a file listed twice is assessed once


def assess_all(
    pipelines: Sequence[PathLike],
    policies: Sequence[Policy | PathLike],
    *,
    controls_dirs: Sequence[PathLike] = (),
    fail_on: Level | None = None,
    jobs: int | None = None,
    seed: int = 0,
    registry: Registry | None = None,
    executor: ExecutorName | Executor = "process",
    progress: Progress | None = None,
    waivers: Sequence[PathLike] = (),
    today: date | None = None,
) -> Portfolio:
    """Assess each of ``pipelines`` against ``policies`` (see :func:`riskframe.engine.assess.assess`
    for the options), running each distinct detector run once.

    Raises
    ------
    riskframe.errors.DocumentError
        Every problem of every pipeline file (and of the first bad policy, control or waiver file).

    Examples
    --------
    >>> portfolio = assess_all(find_pipelines("pipelines/"), ["policies/data-poisoning.yaml"])  # doctest: +SKIP
    >>> [a.assessment.gate.decision for a in portfolio.assessed]  # doctest: +SKIP
    ['fail', 'pass']
    """
    catalog, registry = load_catalog(), registry or default_registry()
    resolved = [p if isinstance(p, Policy) else resolve_policy(p) for p in policies]  # once, for every pipeline
    with using_executor(executor, jobs) as chosen:
        prepared, errors = [], []
        for path in pipelines:
            try:
                prepared.append(_prepare(path, resolved, controls_dirs, catalog, registry, waivers, today))
            except DocumentError as exc:
                errors.append(exc)
        if errors:  # a policy's problem is found with every pipeline: reported once
            raise DocumentError(list({str(p): p for e in errors for p in e.problems}.values()))
        outcomes = run_plans([(plan.runs, store) for _, plan, store in prepared], jobs=jobs, seed=seed,
                             executor=chosen, progress=progress)
    created_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    assessed = [Assessed(Path(path), compose(inputs, plan, ran, files=input_files(inputs, store),
                                             created_at=created_at, fail_on=fail_on))
                for path, (inputs, plan, store), ran in zip(pipelines, prepared, outcomes, strict=True)]
    planned = sum(len(plan.runs) for _, plan, _ in prepared)
    computed = len({run_key(run, store) for _, plan, store in prepared for run in plan.runs})
    return Portfolio(assessed, planned, computed)


def _prepare(path: PathLike, policies: list[Policy], controls_dirs: Sequence[PathLike], catalog: Catalog,
             registry: Registry, waivers: Sequence[PathLike], today: date | None) -> tuple[Inputs, Plan, ArtifactStore]:
    inputs = load_inputs(path, policies, controls_dirs=controls_dirs, catalog=catalog, registry=registry,
                         waivers=waivers, today=today)
    plan = plan_runs(inputs.pipeline, inputs.graph, inputs.policies, inputs.controls, inputs.catalog,
                     inputs.registry, inputs.params)
    store = ArtifactStore(DataRoots.of(inputs.pipeline))
    prepare_artifacts(inputs.pipeline, plan.runs, store)
    return inputs, plan, store
