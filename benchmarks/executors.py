"""Executors side by side: local, process and a Dask LocalCluster of 2 worker processes.

1. The demo's assessment (poisoned digits, data-poisoning policy, 8 runs) through the command line,
   each executor in a fresh interpreter, alternated ``--repeat`` times (median wall time): the
   LocalCluster's start and close are part of what ``--executor dask`` costs, and are shown apart.
2. ``assess-all`` over N copies of the example: in N folders (nothing shared: each copy's folder
   could hold other files) and as N pipeline files in one folder (their runs read the same files:
   computed once), on each executor.
3. Dask itself against riskframe's dask executor on the same LocalCluster: the demo's 8 jobs sent
   with a bare ``client.submit`` (each runs inside the Dask worker process, no timeout, no memory
   limit, nothing contained) and through :class:`~riskframe.engine.dask_executor.DaskExecutor`
   (each forked into a worker process of its own under its limits).

Run: ``nice -n 10 .venv/bin/python benchmarks/executors.py [--repeat 3] [--copies 4]`` after
``make demo`` (the example's data).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples/poisoned-digits"
POLICY = ROOT / "policies/data-poisoning.yaml"
EXECUTORS = {"local, 1 at a time": ["--executor", "local", "--jobs", "1"],
             "process, --jobs 2": ["--executor", "process", "--jobs", "2"],
             "dask LocalCluster, 2 workers": ["--executor", "dask", "--jobs", "2"]}
TIMED = """\
import json, sys, time
from riskframe.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"code": code, "wall": time.perf_counter() - started}), file=sys.stderr)
"""


def cli(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", TIMED, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    figures: dict[str, float] = json.loads(done.stderr.strip().splitlines()[-1])
    assert figures["code"] == 1, done.stderr  # the demo's gate fails, on every executor
    return figures


def demo(repeat: int) -> None:
    walls: dict[str, list[float]] = {name: [] for name in EXECUTORS}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeat):
            for name, extra in EXECUTORS.items():  # alternated: load on the machine hits every variant alike
                walls[name].append(cli("assess", str(EXAMPLE / "pipeline.yaml"), "--policy", str(POLICY), "-q",
                                       "--format", "json", "--out", out, *extra)["wall"])
    print(f"\n## The demo's assessment (8 runs), median of {repeat}\n")
    print("| executor | wall s |\n|---|---|")
    for name, times in walls.items():
        print(f"| {name} | {statistics.median(times):.1f} |")
    print(f"\nLocalCluster of 2 workers, start and close: {cluster_start_close():.1f} s")


def cluster_start_close() -> float:
    from riskframe.engine.dask_executor import DaskExecutor

    started = time.perf_counter()
    DaskExecutor(n_workers=2).shutdown()
    return time.perf_counter() - started


def portfolio(copies: int) -> None:
    print(f"\n## assess-all over {copies} copies of the example (8 runs each)\n")
    print("| layout | executor | runs planned / computed | wall s |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        apart, together = Path(tmp) / "apart", Path(tmp) / "together"
        for i in range(copies):
            shutil.copytree(EXAMPLE, apart / f"copy-{i:02d}", ignore=shutil.ignore_patterns("*.py", "*.md"))
        shutil.copytree(EXAMPLE, together, ignore=shutil.ignore_patterns("*.py", "*.md", "pipeline.yaml"))
        text = (EXAMPLE / "pipeline.yaml").read_text()
        for i in range(copies):
            (together / f"pipeline-{i:02d}.yaml").write_text(text.replace("name: digits-classifier",
                                                                          f"name: digits-{i:02d}"))
        for layout, folder in ((f"{copies} folders", apart), (f"{copies} files, one folder", together)):
            for name, extra in EXECUTORS.items():
                out = Path(tmp) / "out"
                figures = cli("assess-all", str(folder), "--policy", str(POLICY), "-q", "--format", "json",
                              "--out", str(out), *extra)
                summary = json.loads((out / "portfolio.json").read_text())
                print(f"| {layout} | {name} | {summary['planned_runs']} / {summary['computed_runs']} | "
                      f"{figures['wall']:.1f} |")
                shutil.rmtree(out)


def raw_dask() -> None:
    """The demo's jobs on one LocalCluster: bare client.submit vs the dask executor."""
    from distributed import LocalCluster

    from riskframe.engine.dask_executor import DaskExecutor
    from riskframe.engine.run import run_plan

    _, plan, store = _demo_plan()
    with tempfile.TemporaryDirectory() as staging, \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None) as cluster:
        executor = DaskExecutor(cluster.scheduler_address, staging_dir=Path(staging))
        try:
            jobs = _jobs(plan, store, Path(staging))
            client = executor.client
            client.gather(client.map(_warm, range(2), pure=False))  # both workers import riskframe first
            started = time.perf_counter()
            raw = client.gather([client.submit(job, pure=False) for job in jobs])
            bare = time.perf_counter() - started
            started = time.perf_counter()
            outcomes = run_plan(plan.runs, store, executor=executor)
            ours = time.perf_counter() - started
        finally:
            executor.shutdown()
    statuses = sorted(json.loads(text)["status"] for text in raw)
    assert statuses == sorted(o.status for o in outcomes), (statuses, [o.status for o in outcomes])
    print("\n## The demo's 8 runs on one LocalCluster (2 workers), warm\n")
    print("| how | wall s | isolation |\n|---|---|---|")
    print(f"| bare `client.submit(job)` (Dask alone) | {bare:.1f} | none: runs share the Dask worker's process |")
    print(f"| riskframe's dask executor | {ours:.1f} | each run forked, timeout and memory limit |")


def _warm(_: int) -> int:
    import riskframe.engine.job  # noqa: F401 - imported once per worker, as a warm cluster has it

    return 0


def _demo_plan():  # type: ignore[no-untyped-def]
    from riskframe.data.roots import DataRoots
    from riskframe.detectors.context import ArtifactStore
    from riskframe.engine.plan import plan_runs
    from riskframe.engine.prepare import prepare_artifacts
    from riskframe.spec.resolved import load_inputs

    inputs = load_inputs(EXAMPLE / "pipeline.yaml", [POLICY])
    plan = plan_runs(inputs.pipeline, inputs.graph, inputs.policies, inputs.controls, inputs.catalog, inputs.registry)
    store = ArtifactStore(DataRoots.of(inputs.pipeline))
    prepare_artifacts(inputs.pipeline, plan.runs, store)
    return inputs, plan, store


def _jobs(plan, store, staging: Path) -> list:  # type: ignore[no-untyped-def]
    """The jobs the engine would send, over arrays staged as it stages them."""
    from riskframe.engine.job import Job
    from riskframe.engine.limits import Limits
    from riskframe.engine.staging import stage

    folder = staging / "raw"
    folder.mkdir()
    for run in plan.runs:
        for artifacts in run.bindings.values():
            for artifact in artifacts:
                store.digest(artifact)
    staged = stage(store, folder)
    return [Job(run.detector, run.params, run.stage, run.bindings, staged, Limits(), 0, None) for run in plan.runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-portfolio", action="store_true")
    args = parser.parse_args()
    if not (EXAMPLE / "data/train.npz").exists():
        raise SystemExit("run examples/poisoned-digits/make_example.py first (make demo)")
    if not args.skip_demo:
        demo(args.repeat)
    if not args.skip_portfolio:
        portfolio(args.copies)
    raw_dask()


if __name__ == "__main__":
    main()
