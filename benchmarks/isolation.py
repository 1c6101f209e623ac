"""What isolating detector runs costs: the demo end to end, one run's overhead, staging large data.

1. ``make demo``'s assessment (poisoned digits, data-poisoning policy, 8 runs) through the command
   line, each variant in a fresh interpreter, alternated ``--repeat`` times (median): the local
   executor one run at a time (riskframe before worker processes), the process executor one run at
   a time, and the process executor with its default ``--jobs`` (the cores). Wall time, CPU time
   of riskframe and all its processes, peak RSS of riskframe's own process and of the largest
   worker.
2. One run's overhead: the same small job (a detector that counts the classes of the demo's
   training set) called in this process and in a fresh worker, the worker server preloaded with
   what the demo's detectors import (scikit-learn, cleanlab, matplotlib) or with nothing.
3. Staging: a 1,000,000 x 64 float64 dataset loaded and validated, staged as ``.npy`` for the
   workers and mapped back; the parent's RSS before and after it drops its loaded copy, and the
   size of what travels with each job.
4. With ``--backdoor``: the torch-heavy case of the backdoor policy test ("retraining on the
   filtered data removes the backdoor", 4 runs) in riskframe's process one at a time, and in
   workers two at a time (each worker's threads held to its share of the cores). Minutes.

Run: ``.venv/bin/python benchmarks/isolation.py [--repeat 3] [--skip-demo] [--rows 1000000]
[--backdoor]`` (after ``make demo`` has generated the example's data).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.results import DetectorResult

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples/poisoned-digits"
MEASURED = """\
import json, resource, sys, time
from riskframe.cli import main
started, cpu = time.perf_counter(), time.process_time()
code = main(sys.argv[1:])
wall = time.perf_counter() - started
from riskframe.engine.workers import shared_server
shared_server().close()  # waits for the worker server, so that its CPU time and its workers' count below
me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": wall, "cpu": me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime,
                  "rss_mb": me.ru_maxrss / 1024, "child_rss_mb": children.ru_maxrss / 1024}), file=sys.stderr)
"""


def demo(repeat: int) -> None:
    variants = {"local, 1 at a time (before)": ["--executor", "local", "--jobs", "1"],
                "process, 1 at a time": ["--executor", "process", "--jobs", "1"],
                f"process, --jobs {os.cpu_count()} (default)": ["--executor", "process"]}
    args = [str(EXAMPLE / "pipeline.yaml"), "--policy", str(ROOT / "policies/data-poisoning.yaml"), "-q",
            "--format", "json,md,html"]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeat):
            for name, extra in variants.items():  # alternated: load on the machine hits every variant alike
                done = subprocess.run([sys.executable, "-c", MEASURED, "assess", *args, "--out", out, *extra],
                                      capture_output=True, text=True, cwd=ROOT, check=False)
                figures = json.loads(done.stderr.strip().splitlines()[-1])
                assert figures["code"] == 1, done.stderr  # the demo's gate fails
                runs[name].append(figures)
    print(f"\n## The demo's assessment (8 runs), median of {repeat}\n")
    print("| executor | wall s | CPU s (all processes) | riskframe peak RSS MB | largest worker MB |")
    print("|---|---|---|---|---|")
    for name, figures in runs.items():
        med = {key: statistics.median(f[key] for f in figures) for key in ("wall", "cpu", "rss_mb", "child_rss_mb")}
        worker = f"{med['child_rss_mb']:.0f}" if "process" in name else "-"
        print(f"| {name} | {med['wall']:.2f} | {med['cpu']:.2f} | {med['rss_mb']:.0f} | {worker} |")


def overhead(repeat: int) -> None:
    from riskframe.detectors.context import ArtifactStore
    from riskframe.detectors.registry import default_registry
    from riskframe.engine.job import Job
    from riskframe.engine.limits import Limits
    from riskframe.engine.staging import stage
    from riskframe.engine.workers import WorkerServer, call_in_worker
    from riskframe.spec.load import load_pipeline

    pipeline = load_pipeline(EXAMPLE / "pipeline.yaml")
    stage_ = pipeline.stage("prepare")
    train = next(a for a in stage_.artifacts if a.name == "train")
    store = ArtifactStore(pipeline.base_dir)
    store.dataset(train)
    heavy = sorted({m for name in ("label-issues", "class-outliers") for m in default_registry()[name].imports})
    # Workers find a class by its module's name; run as a script, this module is __main__ to this
    # process only, so the job uses the class of this file imported under its own name.
    detector = importlib.import_module(Path(__file__).stem).CountClasses
    print(f"\n## One run's overhead, median of {repeat * 10}\n")
    print("| where | ms per run | overhead ms |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        staged = stage(store, Path(folder))
        job = Job(detector, detector.Params(), stage_, {"dataset": (train,)}, staged, Limits(timeout=60))
        local = _median_ms(job, repeat * 10)
        print(f"| this process | {local:.2f} | |")
        for label, preload in (("fresh worker, server preloaded with the demo's imports", heavy),
                               ("fresh worker, server preloaded with nothing", [])):
            server = WorkerServer()
            server.preload(["riskframe.engine.job", detector.__module__, *preload])
            call_in_worker(job, limits=job.limits, server=server)  # waits out the server's imports
            ms = _median_ms(lambda: call_in_worker(job, limits=job.limits, server=server), repeat * 10)  # noqa: B023
            print(f"| {label} | {ms:.2f} | {ms - local:.2f} |")
            server.close()


def staging(rows: int) -> None:
    from riskframe.detectors.context import ArtifactStore
    from riskframe.engine.staging import stage
    from riskframe.spec.pipeline import Artifact

    print(f"\n## Staging {rows:,} x 64 float64 (one dataset)\n")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rng = np.random.default_rng(0)
        np.save(root / "X.npy", rng.normal(size=(rows, 64)))
        np.save(root / "y.npy", rng.integers(0, 10, size=rows))
        del rng
        artifact = Artifact(name="big", type="dataset", path="X.npy", format="npy", labels="y.npy")
        store = ArtifactStore(root)
        started = time.perf_counter()
        store.dataset(artifact)
        loaded_s, loaded_mb = time.perf_counter() - started, _rss_mb()
        (root / "staged").mkdir()
        started = time.perf_counter()
        staged = stage(store, root / "staged")
        staged_s = time.perf_counter() - started
        started = time.perf_counter()
        store.replace(staged.open())
        mapped_s = time.perf_counter() - started
        print("| step | s | parent RSS MB after |")
        print("|---|---|---|")
        print(f"| load and validate (the parent, once) | {loaded_s:.2f} | {loaded_mb:.0f} |")
        print(f"| stage as .npy | {staged_s:.2f} | {_rss_mb():.0f} |")
        print(f"| map back, drop the loaded copy | {mapped_s:.3f} | {_rss_mb():.0f} |")
        print(f"\nWhat travels with each job: {len(pickle.dumps(staged)):,} bytes "
              f"(the arrays: {store.dataset(artifact).features.nbytes / 2**20:,.0f} MiB, on disk).")


BACKDOOR_CASE = """\
import json, resource, sys, time
from riskframe.engine.assess import assess
from riskframe.engine.policy_tests import load_policy_test
test = load_policy_test("policies/tests/backdoor_test.yaml")
case = test.cases[1]
started = time.perf_counter()
assess(test.resolve(case.pipeline), [test.resolve(p) for p in test.policies],
       controls_dirs=[test.resolve(c) for c in test.controls], today=case.today,
       executor=sys.argv[1], jobs=int(sys.argv[2]))
wall = time.perf_counter() - started
from riskframe.engine.workers import shared_server
shared_server().close()
me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime}))
"""


def backdoor() -> None:
    print("\n## The backdoor policy test's retraining case (torch, 4 runs)\n")
    print("| executor | wall s | CPU s (all processes) |")
    print("|---|---|---|")
    for label, executor, jobs in (("local, 1 at a time (before)", "local", 1), ("process, 2 at a time", "process", 2)):
        done = subprocess.run([sys.executable, "-c", BACKDOOR_CASE, executor, str(jobs)], capture_output=True,
                              text=True, cwd=ROOT, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"| {label} | {figures['wall']:.1f} | {figures['cpu']:.1f} |")


def _median_ms(call, n: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


class CountClasses(Detector):
    """The small job of the overhead measurement: counts the classes of a dataset."""

    name = "count-classes"
    title = "Counts the classes"
    requires = ("dataset",)
    Params = DetectorParams

    def run(self, ctx, params):  # type: ignore[no-untyped-def]
        counts = np.bincount(ctx.dataset().labels)
        return DetectorResult(status="pass", score=0.0, summary=f"{counts.size} classes.",
                              metrics={"classes": float(counts.size)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--backdoor", action="store_true", help="also the torch-heavy policy test case (minutes)")
    args = parser.parse_args()
    if not (EXAMPLE / "data/train.npz").exists():
        raise SystemExit("run `make demo` first: it generates the example's data")
    if not args.skip_demo:
        demo(args.repeat)
    overhead(args.repeat)
    staging(args.rows)
    if args.backdoor:
        backdoor()


if __name__ == "__main__":
    main()
