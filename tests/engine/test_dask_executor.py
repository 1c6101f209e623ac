"""The dask executor on a real ``LocalCluster`` (two worker processes, one thread each, loopback):
the assessment the local executor gives, byte for byte apart from timings; every fault contained
under its limits inside the Dask task; a Dask worker killed mid-run is retried, or is an ``error``
that fails the gate; nothing is left running once the executor closes."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.registry import Registry
from riskframe.engine.assess import assess
from riskframe.errors import WorkerError
from riskframe.results import DetectorResult
from tests.engine.faulty_workspace import write_workspace
from tests.engine.test_executors import stable
from tests.engine.test_workers import gone, wait_for_file

pytest.importorskip("distributed")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="limits and signals as on Linux")

from riskframe.engine.dask_executor import DaskExecutor  # noqa: E402 - after the skip: it needs distributed

ROOT = Path(__file__).resolve().parents[2]


class SlowPass(Detector):
    """Writes its process's pid to ``marker``, sleeps ``seconds``, passes: a run to kill mid-way."""

    name = "slow-pass"
    title = "Passes slowly"
    requires = ("dataset",)

    class Params(DetectorParams):
        marker: str
        seconds: float = Field(default=4.0, gt=0)

    def run(self, ctx, params):
        with open(params.marker, "a") as marker:
            marker.write(f"{os.getpid()}\n")
        time.sleep(params.seconds)
        return DetectorResult(status="pass", score=0.0, summary=f"Slept {params.seconds:g} s.")


@pytest.fixture(scope="module")
def cluster(plugin):
    with closed_without_leftovers(DaskExecutor(n_workers=2), servers=True) as executor:
        yield executor


class closed_without_leftovers:
    """Shut the executor down on leaving, then check that every process of its cluster has ended:
    the Dask workers and everything they started (worker servers, runs)."""

    def __init__(self, executor: DaskExecutor, *, servers: bool = False) -> None:
        self.executor, self.servers = executor, servers

    def __enter__(self) -> DaskExecutor:
        return self.executor

    def __exit__(self, *exc: object) -> None:
        import psutil

        pids = [pid for pid in self.executor.client.run(os.getpid).values()]
        processes = [psutil.Process(pid) for pid in pids]
        processes += [child for p in list(processes) for child in p.children(recursive=True)]
        watched = [p.pid for p in processes]
        self.executor.shutdown(wait=False, cancel_futures=True)
        if exc == (None, None, None):
            assert pids and (len(watched) > len(pids) or not self.servers)  # with servers: workers that ran
            assert [pid for pid in watched if not gone(pid, within=30)] == []


def workspace_with(tmp_path: Path, marker: Path, seconds: float) -> tuple[Path, Path, Path]:
    ws = write_workspace(tmp_path, ["slow-pass"], timeout=120, with_=f"{{marker: '{marker}', seconds: {seconds}}}")
    return ws.pipeline, ws.policy, ws.controls


def dask_worker_of(run_pid: int) -> int:
    """The Dask worker process a run belongs to: the run's parent is its worker server, whose parent
    is the Dask worker."""
    import psutil

    return psutil.Process(run_pid).parent().parent().pid


def assess_in_background(pipeline, policy, controls, registry, executor) -> tuple[threading.Thread, list]:
    got: list = []
    thread = threading.Thread(target=lambda: got.append(assess(pipeline, policy, controls_dirs=[controls],
                                                               registry=registry, executor=executor)))
    thread.start()
    return thread, got


def test_dask_gives_the_assessment_the_local_executor_gives(workspace, registry, cluster):
    workspace.write_policy(("R1", "balance", "high"), ("R2", "crash", "low"), ("R3", "exit", "low"))

    def run(executor):
        return stable(assess(workspace.pipeline, [workspace.policy], controls_dirs=[workspace.controls],
                             registry=registry, executor=executor))

    assert run(cluster) == run("local")


def test_the_bundled_example_under_the_supply_chain_policy_is_byte_identical_on_dask(cluster):
    example = ROOT / "examples/poisoned-digits"
    if not (example / "data/train.npz").exists():
        pytest.skip("run examples/poisoned-digits/make_example.py first (make demo)")

    def run(executor):
        return stable(assess(example / "pipeline.yaml", [ROOT / "policies/supply-chain.yaml"], executor=executor))

    assert run(cluster) == run("local")


@pytest.mark.slow
def test_the_bundled_example_with_real_detectors_and_pictures_is_byte_identical_on_dask(cluster):
    example = ROOT / "examples/poisoned-digits"
    if not (example / "data/train.npz").exists():
        pytest.skip("run examples/poisoned-digits/make_example.py first (make demo)")

    def run(executor):
        return stable(assess(example / "pipeline.yaml", [ROOT / "policies/data-poisoning.yaml"], executor=executor))

    on_dask = run(cluster)
    assert '"attachments": [{' in on_dask  # PNG pictures travel back from the Dask workers as text
    assert on_dask == run("local")


@pytest.mark.slow
def test_every_fault_is_contained_under_its_limits_inside_the_dask_task(plugin, cluster, tmp_path):
    # Filling 300 MiB can take over 2 s on a loaded machine: the memory limit, not the timeout, must end it.
    ws = write_workspace(tmp_path, ["holds-the-gil", "allocates-without-bound", "segfaults", "exits-zero", "probe"],
                         timeouts={"allocates-without-bound": 60})

    assessment = assess(ws.pipeline, ws.policy, controls_dirs=[ws.controls], registry=plugin, executor=cluster)

    by = {r.control: r for r in assessment.results}
    assert {c: r.status for c, r in by.items()} == {"holds-the-gil": "error", "allocates-without-bound": "error",
                                                    "segfaults": "error", "exits-zero": "error", "probe": "pass"}
    assert by["holds-the-gil"].summary == (
        "Detector 'holds-the-gil' did not finish within the control's timeout of 2 s and was stopped (its worker "
        "process killed). Counted as a failure (fail closed).")
    assert by["allocates-without-bound"].summary.startswith(
        "Detector 'allocates-without-bound' ran out of memory under its memory limit of 300 MiB (MemoryError")
    assert by["segfaults"].evidence["signal"] == "SIGSEGV"
    assert by["exits-zero"].evidence["exit_code"] == 0
    assert assessment.gate.decision == "fail"


def test_a_run_without_a_memory_limit_gets_its_dask_workers_share(cluster):
    limits = [w["memory_limit"] for w in cluster.client.scheduler_info()["workers"].values()]
    assert cluster.default_memory() == min(limits) > 0  # one thread per worker: the whole limit


@pytest.mark.slow
def test_a_dask_worker_killed_mid_run_is_retried_on_another_and_the_run_completes(tmp_path):
    registry = Registry()
    registry.register(SlowPass)
    marker = tmp_path / "runs.txt"
    pipeline, policy, controls = workspace_with(tmp_path, marker, seconds=4)

    with closed_without_leftovers(DaskExecutor(n_workers=2)) as executor:
        thread, got = assess_in_background(pipeline, policy, controls, registry, executor)
        first_run = int(wait_for_file(marker, within=60).split()[0])
        os.kill(dask_worker_of(first_run), signal.SIGKILL)
        thread.join(120)

    assert gone(first_run)  # the run died with its Dask worker (through its worker server)
    [result] = got[0].results
    assert result.status == "pass" and result.summary == "Slept 4 s."
    assert len(marker.read_text().split()) == 2  # run twice: the second time on a Dask worker that lived
    assert got[0].gate.decision == "pass"


@pytest.mark.slow
def test_a_run_whose_dask_worker_dies_past_the_retries_is_an_error_and_the_gate_fails_closed(tmp_path):
    registry = Registry()
    registry.register(SlowPass)
    marker = tmp_path / "runs.txt"
    pipeline, policy, controls = workspace_with(tmp_path, marker, seconds=60)

    no_retries = {"scheduler_kwargs": {"allowed_failures": 0}}
    with closed_without_leftovers(DaskExecutor(n_workers=2, cluster_options=no_retries)) as executor:
        thread, got = assess_in_background(pipeline, policy, controls, registry, executor)
        first_run = int(wait_for_file(marker, within=60).split()[0])
        started = time.monotonic()
        os.kill(dask_worker_of(first_run), signal.SIGKILL)
        thread.join(120)

    assert time.monotonic() - started < 30  # not the run's 60 s: the loss is reported at once
    [result] = got[0].results
    assert result.status == "error"
    assert result.summary == (
        "Detector 'slow-pass' lost its Dask worker once (the worker process died while running it: killed, out of "
        "memory, or its machine gone) and was not tried again. Counted as a failure (fail closed).")
    assert result.evidence["dask"] == "KilledWorker" and result.evidence["last_worker"].startswith("tcp://127.0.0.1:")
    assert got[0].gate.decision == "fail"
    assert len(marker.read_text().split()) == 1


def test_the_staged_arrays_reach_the_workers_as_files_not_in_the_tasks(cluster, tmp_path):
    """What the client ships per run is the job's declarations: its size does not grow with the data."""
    import cloudpickle

    from riskframe.detectors.context import ArtifactStore
    from riskframe.engine.job import Job
    from riskframe.engine.staging import stage
    from riskframe.spec.load import load_pipeline

    np.savez(tmp_path / "raw.npz", X=np.zeros((200_000, 8)), y=np.arange(200_000) % 2)
    (tmp_path / "pipeline.yaml").write_text(
        "apiVersion: riskframe/v1\nkind: Pipeline\nmetadata: {name: big}\nstages:\n  - name: ingest\n"
        "    kind: data-understanding\n    artifacts:\n      - {name: raw, type: dataset, path: raw.npz}\n")
    pipeline = load_pipeline(tmp_path / "pipeline.yaml")
    store = ArtifactStore(pipeline.base_dir)
    raw = pipeline.stages[0].artifacts[0]
    store.dataset(raw)
    staged = stage(store, tmp_path)
    job = Job(SlowPass, SlowPass.Params(marker="m"), pipeline.stages[0], {"dataset": (raw,)}, staged)

    assert len(cloudpickle.dumps(job)) < 20_000 < (tmp_path / "raw.npz").stat().st_size // 500


def test_assess_all_on_dask_gives_what_it_gives_locally(workspace, registry, cluster):
    from riskframe.engine.assess_all import assess_all

    workspace.write_policy(("R1", "balance", "high"), ("R2", "crash", "low"))
    twin = workspace.root / "twin.yaml"
    twin.write_text(workspace.pipeline.read_text().replace("name: tiny", "name: twin"))

    def run(executor):
        portfolio = assess_all([workspace.pipeline, twin], [workspace.policy], controls_dirs=[workspace.controls],
                               registry=registry, executor=executor)
        return [stable(a.assessment) for a in portfolio.assessed], portfolio.computed_runs

    assert run(cluster) == run("local")


@pytest.mark.slow
def test_stopping_kills_the_runs_still_going_on_a_cluster_it_does_not_own(tmp_path):
    """Ctrl-C, with a cluster that outlives riskframe: Dask cannot stop a running task, riskframe
    kills its run on the worker."""
    from distributed import LocalCluster

    from tests.engine.test_executors import write_pid_and_hang

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as other:
        executor = DaskExecutor(other.scheduler_address, staging_dir=tmp_path)
        future = executor.submit(write_pid_and_hang, str(tmp_path / "run.pid"))
        pid = int(wait_for_file(tmp_path / "run.pid", within=60))

        executor.shutdown(wait=False, cancel_futures=True)

        assert gone(pid)
        with pytest.raises(WorkerError, match=r"^was cancelled on the Dask cluster before it finished$"):
            future.result(timeout=10)
