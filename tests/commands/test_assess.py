"""``riskframe assess``: whatever a detector does, the reports are written and the exit code tells
the truth; Ctrl-C stops every worker; one --out folder serves one run at a time."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from riskframe.cli import main
from riskframe.commands.out_folder import held
from tests.engine.faulty_workspace import CLASSES, install_plugin, write_workspace
from tests.engine.test_workers import gone, wait_for_file

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="limits and signals as on Linux")


# ``python -m riskframe`` with Ctrl-C as at a terminal. A shell that starts the tests in the
# background (``make test &`` without job control) hands its commands SIGINT ignored, and Python
# then sets no KeyboardInterrupt handler: riskframe would rightly ignore the tests' Ctrl-C.
AT_A_TERMINAL = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                 "sys.argv[0] = 'riskframe'; runpy.run_module('riskframe', run_name='__main__')")


def riskframe(args: list[str], site: Path, cwd: Path, *, ctrl_c: bool = False) -> subprocess.Popen[str]:
    """``python -m riskframe`` with the plugin folder ``site`` installed (on its path); with
    ``ctrl_c``, SIGINT raises KeyboardInterrupt in it however the tests were started."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    start = ["-c", AT_A_TERMINAL] if ctrl_c else ["-m", "riskframe"]
    return subprocess.Popen([sys.executable, *start, *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@linux_only
@pytest.mark.slow  # a fresh interpreter, and the 2 s timeout of the GIL-holding detector
def test_whatever_plugin_detectors_do_the_reports_are_written_and_the_exit_is_1(tmp_path):
    install_plugin(tmp_path / "site")
    ws = write_workspace(tmp_path / "ws", list(CLASSES))
    args = ["assess", "pipeline.yaml", "--policy", "policy.yaml", "--controls", "controls", "--out", "out",
            "--format", "json,md", "--jobs", "2"]

    process = riskframe(args, tmp_path / "site", ws.root)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 1, stderr
    assert stdout.startswith("Gate: FAIL (fail_on: high)\n")
    assert "Reports: out/assessment.json, out/report.md" in stdout
    results = {r["control"]: r for r in json.loads((ws.root / "out/assessment.json").read_text())["results"]}
    assert {c: r["status"] for c, r in results.items()} == {
        "exits-zero": "error", "holds-the-gil": "error", "allocates-without-bound": "error", "segfaults": "error",
        "changes-its-surroundings": "error", "leaves-a-thread": "error", "probe": "pass"}
    assert results["probe"]["evidence"]["cwd"] == str(ws.root)  # no run moved another, or the reports
    assert "ended its worker process with exit code 0" in (ws.root / "out/report.md").read_text()


def assess_held_by_a_worker(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """``riskframe assess`` (Ctrl-C as at a terminal) of one detector that holds its worker's GIL
    for good, its timeout 600 s; the process, and the file the worker writes its pid to once it runs."""
    install_plugin(tmp_path / "site")
    pid_file = tmp_path / "worker.pid"
    ws = write_workspace(tmp_path / "ws", ["holds-the-gil"], timeout=600, with_=f"{{pid_file: {pid_file}}}")
    process = riskframe(["assess", "pipeline.yaml", "--policy", "policy.yaml", "--controls", "controls",
                         "--out", "out"], tmp_path / "site", ws.root, ctrl_c=True)
    return process, pid_file


@pytest.mark.slow  # over 3 s (issue 13's fast lane)
@linux_only
def test_ctrl_c_stops_riskframe_promptly_and_leaves_no_process_behind(tmp_path):
    process, pid_file = assess_held_by_a_worker(tmp_path)
    try:
        worker = int(wait_for_file(pid_file, within=60))
        servers = [int(p) for p in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert time.monotonic() - started < 10
    assert process.returncode == 130 and stderr.endswith("riskframe: interrupted\n")
    assert len(servers) == 1  # riskframe's only child: its worker server (workers are the server's)
    assert gone(worker) and gone(servers[0])
    assert not (tmp_path / "ws/out").exists()  # created for the run, empty: removed again


def thread_kill(pid: int, thread: int, sig: int) -> None:
    """Send ``sig`` to one thread of process ``pid`` (glibc's ``tgkill``)."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).tgkill(pid, thread, sig) != 0:
        raise OSError(ctypes.get_errno(), "tgkill failed")


@pytest.mark.slow  # a fresh interpreter and a worker
@linux_only
def test_ctrl_c_taken_by_another_thread_still_stops_riskframe_promptly(tmp_path):
    """The kernel may hand a process's SIGINT to any of its threads. Python then raises
    KeyboardInterrupt only when the main thread runs again, so a main thread asleep in a wait
    without a timeout sat until the run ended (here: 600 s)."""
    process, pid_file = assess_held_by_a_worker(tmp_path)
    try:
        worker = int(wait_for_file(pid_file, within=60))
        others = [int(t) for t in os.listdir(f"/proc/{process.pid}/task") if int(t) != process.pid]
        thread_kill(process.pid, others[0], signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 130 and stderr.endswith("riskframe: interrupted\n")
    assert gone(worker)


POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: integrity}
requirements:
  - id: R1
    title: Files are the files their producer published
    severity: high
    threats: [AML.T0019]
    controls:
      - control: artifact-integrity
"""


def small_workspace(root: Path) -> Path:
    """A pipeline with one pinned file, assessed in a blink by the built-in artifact-digest detector."""
    root.mkdir()
    (root / "notes.txt").write_text("hello\n")
    digest = hashlib.sha256(b"hello\n").hexdigest()
    (root / "pipeline.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: Pipeline
        metadata: {{name: small}}
        stages:
          - name: ingest
            kind: data-understanding
            artifacts:
              - {{name: notes, type: files, path: notes.txt, sha256: {digest}}}
        """))
    (root / "policy.yaml").write_text(POLICY)
    return root


def test_a_second_run_into_a_folder_in_use_stops_at_once_with_exit_2(tmp_path, capsys):
    root = small_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    with held(out):
        code = main(["assess", str(root / "pipeline.yaml"), "--policy", str(root / "policy.yaml"), "--out", str(out)])
        assert list(out.iterdir()) == []  # the second run wrote nothing
    assert code == 2
    assert capsys.readouterr().err == (f"--out {out}: another riskframe run is writing its reports there; wait "
                                       "for it to finish, or choose another folder\n")


def test_a_rerun_into_the_same_folder_replaces_the_reports_and_names_what_it_left(tmp_path, capsys):
    root = small_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    args = ["assess", str(root / "pipeline.yaml"), "--policy", str(root / "policy.yaml"), "--out", str(out)]
    assert main([*args, "--format", "json,md"]) == 0
    capsys.readouterr()

    assert main([*args, "--format", "json", "--executor", "local"]) == 0

    assert capsys.readouterr().err == (f"riskframe: note: {out.as_posix()} also holds report.md, which this run did "
                                       "not write (not in --format): older reports, not of this assessment\n")
    assert sorted(p.name for p in out.iterdir()) == ["assessment.json", "report.md"]


def test_the_default_out_folder_is_named_after_the_pipeline(tmp_path, monkeypatch, capsys):
    root = small_workspace(tmp_path / "ws")
    monkeypatch.chdir(tmp_path)
    assert main(["assess", str(root / "pipeline.yaml"), "--policy", str(root / "policy.yaml"), "-q"]) == 0
    assert "Reports: reports/small/assessment.json, reports/small/report.md, reports/small/report.html" in \
        capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--executor", "thread"], "argument --executor: invalid choice: 'thread' (choose from 'process', 'local', 'dask')"),
    (["--jobs", "0"], "argument --jobs/-j: must be at least 1. Got 0 instead."),
])
def test_executor_and_jobs_are_checked_as_usage(tmp_path, capsys, args, message):
    root = small_workspace(tmp_path / "ws")
    with pytest.raises(SystemExit) as info:
        main(["assess", str(root / "pipeline.yaml"), "--policy", str(root / "policy.yaml"), *args])
    assert info.value.code == 2
    assert capsys.readouterr().err.rstrip().endswith(message)


def test_the_executor_choices_are_the_engines():
    from riskframe.cli import build_parser
    from riskframe.engine.executors import EXECUTORS

    assess = build_parser()._subparsers._group_actions[0].choices["assess"]  # type: ignore[union-attr]
    executor = next(a for a in assess._actions if a.dest == "executor")
    assert tuple(executor.choices) == EXECUTORS and executor.default == "process"
