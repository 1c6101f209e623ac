"""Issue 11, end to end: hostile documents and datasets through the real command line, in a separate
process (what CI runs: exit code, bytes on stderr, wall time, peak memory) and in process.

Every one is a located error and exit 2: ``file:line:col: field: message`` where there is a line,
never a traceback, a hang or memory past the budget, and never a byte of the file it refused. Every
hostile file is generated here, in ``tmp_path``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from riskframe.cli import main

ROOT = Path(__file__).resolve().parents[1]
POLICY = str(ROOT / "policies/data-poisoning.yaml")
SECRET = "root:$6$c2VjcmV0:19000:0:99999:7:::"
# Peak memory of the command line with numpy, scikit-learn and the catalogs loaded is about 250 MB.
MEMORY_CEILING_MB = 700


def riskframe(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
              ) -> tuple[int, str, str, float]:
    """Run ``python -m riskframe ARGS`` in its own process: exit code, stdout, stderr, and the
    process's peak resident memory in MB (Linux)."""
    # VmHWM is this process's own high-water mark; ru_maxrss would include the test runner's, which
    # Linux carries over into a child across fork and exec.
    probe = ("import sys, runpy\n"
             "sys.argv = ['riskframe', *sys.argv[1:]]\n"
             "try:\n    runpy.run_module('riskframe', run_name='__main__')\n"
             "finally:\n"
             "    peak = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
             "    print(f'peak-rss-kb={peak}', file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe, *args], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, **(env or {})})
    err_lines = result.stderr.splitlines()
    peak = int(err_lines[-1].removeprefix("peak-rss-kb=")) / 1024
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout, "\n".join(err_lines[:-1]), peak


PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {{name: hostile}}
{roots}stages:
  - name: ingest
    kind: data-understanding
    artifacts:
      - {{name: raw, type: dataset, path: {path}, {format}{features}labels: y}}
"""


def write_pipeline(folder: Path, path: str, fmt: str = "", roots: str = "") -> Path:
    """A pipeline of one dataset at ``path`` (an npz's arrays X and y, a csv's label column y)."""
    pipeline = folder / "pipeline.yaml"
    csv = fmt == "csv" or path.endswith(".csv")
    pipeline.write_text(PIPELINE.format(path=path, format=f"format: {fmt}, " if fmt else "",
                                        features="" if csv else "features: X, ",
                                        roots=f"data_roots: [{roots}]\n" if roots else ""))
    return pipeline


def assess_in_process(pipeline: Path, capsys) -> tuple[int, str]:
    code = main(["assess", str(pipeline), "--policy", POLICY, "-q", "--out", str(pipeline.parent / "out")])
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and not (pipeline.parent / "out").exists()
    return code, err


# YAML --------------------------------------------------------------------------------------------

def _deep(kind: str, style: str, levels: int = 500) -> str:
    head = f"apiVersion: riskframe/v1\nkind: {kind}\nmetadata: {{name: deep}}\n"
    if style == "flow":
        return head + "stages: " + "[" * levels + "]" * levels + "\n"
    lines = ["requirements:"] + ["  " * (i + 1) + "- " + "x:" for i in range(levels)]
    return head + "\n".join(lines) + " 1\n"


@pytest.mark.parametrize(("kind", "style", "where"), [
    ("Pipeline", "flow", "4:72: stages[0]"),
    ("Policy", "block", "36:67: requirements[0]"),
])
def test_yaml_nested_500_levels_is_a_located_error(tmp_path, kind, style, where):
    (tmp_path / "deep.yaml").write_text(_deep(kind, style))

    code, out, err, _ = riskframe("validate", "deep.yaml", cwd=tmp_path)

    assert (code, out) == (2, "")
    assert err == f"deep.yaml:{where}: nested deeper than 64 levels; refused"


@pytest.mark.parametrize(("character", "message"), [
    ("\x00", 'character U+0000 is not allowed in a YAML file; to mean it, write the escape "\\x00" in a '
             "double-quoted string"),
    ("\x1b", 'character U+001B is not allowed in a YAML file; to mean it, write the escape "\\x1b" in a '
             "double-quoted string"),
    ("\ufffe", "character U+FFFE is not allowed in a YAML file"),
])
def test_a_forbidden_character_in_yaml_is_located(tmp_path, character, message):
    (tmp_path / "policy.yaml").write_text(f"apiVersion: riskframe/v1\nkind: Policy\nmetadata: {{name: a{character}b}}\n",
                                          encoding="utf-8")

    code, _, err, _ = riskframe("validate", "policy.yaml", cwd=tmp_path)

    assert code == 2
    assert err == f"policy.yaml:3:19: invalid YAML: {message}"


def test_a_fifo_named_as_a_document_is_never_opened(tmp_path):
    os.mkfifo(tmp_path / "policy.yaml")

    started = time.monotonic()
    code, _, err, _ = riskframe("validate", "policy.yaml", cwd=tmp_path, timeout=60)

    assert code == 2 and time.monotonic() - started < 30
    assert err == "policy.yaml: is not a regular file (a FIFO, socket or device); a document is a YAML file"


# Datasets ----------------------------------------------------------------------------------------

def npz_with_header(path: Path, shape: tuple[int, ...], data: bytes = b"") -> None:
    """An npz whose 'X' declares ``shape`` float64 over ``data``, and a real 'y'."""
    header = io.BytesIO()
    npy_format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    labels = io.BytesIO()
    np.save(labels, np.repeat([0, 1], 5))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", header.getvalue() + data)
        archive.writestr("y.npy", labels.getvalue())


def test_an_npz_header_declaring_47_gib_is_refused_without_allocating(tmp_path):
    npz_with_header(tmp_path / "raw.npz", (6_300_000_000, 1))
    write_pipeline(tmp_path, "raw.npz")

    code, _, err, peak = riskframe("assess", "pipeline.yaml", "--policy", POLICY, "-q", cwd=tmp_path)

    assert code == 2
    assert err == ("pipeline.yaml:8:51: stages[0].artifacts[0].features: raw.npz: array 'X' is damaged or truncated: "
                   "its header declares 6300000000 x 1 float64 (50400000000 bytes of data) but the file holds 0")
    assert peak < MEMORY_CEILING_MB


@pytest.mark.slow  # compresses 2 GiB of zeros once (about 5 s)
def test_a_2mb_npz_that_inflates_to_2gib_is_refused_within_the_budget(tmp_path):
    rows = (2 << 30) // (64 * 8)
    with zipfile.ZipFile(tmp_path / "raw.npz", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("X.npy", "w", force_zip64=True) as member:
            npy_format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": (rows, 64)})
            block = bytes(64 << 20)
            for _ in range((2 << 30) // len(block)):
                member.write(block)
        labels = io.BytesIO()
        np.save(labels, np.zeros(rows, dtype=np.int8))
        archive.writestr("y.npy", labels.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    assert (tmp_path / "raw.npz").stat().st_size < 3 << 20
    write_pipeline(tmp_path, "raw.npz")

    code, _, err, peak = riskframe("assess", "pipeline.yaml", "--policy", POLICY, "-q", cwd=tmp_path)

    assert code == 2
    assert err == ("pipeline.yaml:8:36: stages[0].artifacts[0].path: raw.npz: features (4194304 x 64 float64) would "
                   "take 2.1 GiB in memory once loaded, more than the dataset memory budget of 2.0 GiB; refused "
                   "before reading it (set RISKFRAME_MAX_DATASET_MEMORY to change the budget)")
    assert peak < MEMORY_CEILING_MB


@pytest.mark.slow  # over 3 s (issue 13's fast lane)
def test_the_budget_is_configurable_and_refuses_before_reading(tmp_path):
    np.savez_compressed(tmp_path / "raw.npz", X=np.zeros((20_000, 100)), y=np.repeat([0, 1], 10_000))
    write_pipeline(tmp_path, "raw.npz")

    code, _, err, _ = riskframe("assess", "pipeline.yaml", "--policy", POLICY, "-q", cwd=tmp_path,
                                env={"RISKFRAME_MAX_DATASET_MEMORY": "8MiB"})

    assert code == 2
    assert err == ("pipeline.yaml:8:36: stages[0].artifacts[0].path: raw.npz: features (20000 x 100 float64) would "
                   "take 15.7 MiB in memory once loaded, more than the dataset memory budget of 8.0 MiB; refused "
                   "before reading it (set RISKFRAME_MAX_DATASET_MEMORY to change the budget)")

    code, _, err, _ = riskframe("assess", "pipeline.yaml", "--policy", POLICY, "-q", cwd=tmp_path,
                                env={"RISKFRAME_MAX_DATASET_MEMORY": "lots"})
    assert (code, err) == (2, "RISKFRAME_MAX_DATASET_MEMORY: must be a size such as 4GiB, 500MB or 1073741824. "
                              "Got 'lots' instead.")


def test_a_csv_is_refused_at_the_line_where_it_outgrows_the_budget(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RISKFRAME_MAX_DATASET_MEMORY", "1kB")
    (tmp_path / "raw.csv").write_text("a,b,y\n" + "1,2,0\n" * 100)
    pipeline = write_pipeline(tmp_path, "raw.csv")

    code, err = assess_in_process(pipeline, capsys)

    assert code == 2
    assert err == (f"{pipeline}:8:36: stages[0].artifacts[0].path: raw.csv: 21 rows of 2 features would take 1008 B "
                   "in memory once loaded, more than the dataset memory budget of 1000 B; refused at line 22, before "
                   "reading the rest (set RISKFRAME_MAX_DATASET_MEMORY to change the budget)")


@pytest.mark.parametrize("command", ["validate", "assess"])
def test_a_fifo_as_a_dataset_is_refused_unopened(tmp_path, command):
    os.mkfifo(tmp_path / "raw.npz")
    write_pipeline(tmp_path, "raw.npz")
    extra = ("--policy", POLICY, "-q") if command == "assess" else ()

    started = time.monotonic()
    code, _, err, _ = riskframe(command, "pipeline.yaml", *extra, cwd=tmp_path, timeout=60)

    assert code == 2 and time.monotonic() - started < 30
    assert err == (f"pipeline.yaml:8:36: stages[0].artifacts[0].path: {tmp_path.resolve()}/raw.npz is not a regular "
                   "file (a FIFO, socket or device); riskframe reads only regular files and folders, and never opens "
                   "one of these")


def test_a_device_is_refused_even_inside_a_data_root(tmp_path, capsys):
    pipeline = write_pipeline(tmp_path, "/dev/zero", roots="/dev")

    code, err = assess_in_process(pipeline, capsys)

    assert code == 2
    assert err == (f"{pipeline}:9:36: stages[0].artifacts[0].path: /dev/zero is not a regular file (a FIFO, socket or "
                   "device); riskframe reads only regular files and folders, and never opens one of these")


# Paths -------------------------------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path) -> Path:
    """A secret outside the pipeline's folder (``tmp_path/project``), as text and as a real npz."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "shadow").write_text(SECRET + "\n")
    np.savez(folder / "data.npz", X=np.ones((10, 2)), y=np.repeat([0, 1], 5))
    (tmp_path / "project").mkdir()
    return folder


@pytest.mark.parametrize(("path", "fmt", "shown"), [
    ("{outside}/shadow", "csv", "{outside}/shadow is outside"),
    ("../elsewhere/shadow", "npz", "../elsewhere/shadow resolves to {outside}/shadow, outside"),
    ("link.npz", "", "link.npz resolves to {outside}/shadow, outside"),
])
def test_an_artifact_path_outside_the_pipelines_folder_is_refused_unread(tmp_path, outside, capsys, path, fmt, shown):
    project = tmp_path / "project"
    (project / "link.npz").symlink_to(outside / "shadow")
    pipeline = write_pipeline(project, path.format(outside=outside), fmt)

    for command in ("validate", "assess"):
        code = main([command, str(pipeline), *(("--policy", POLICY, "-q", "--out", str(project / "out"))
                                               if command == "assess" else ())])
        err = capsys.readouterr().err.strip()
        assert code == 2 and "Traceback" not in err
        assert err.startswith(f"{pipeline}:8:")
        assert f"stages[0].artifacts[0].path: {shown.format(outside=outside)} the pipeline's folder ({project}); " \
               "riskframe reads artifacts only there: list the folder under data_roots: in the pipeline to allow it" \
               in err
        assert "c2VjcmV0" not in err


def test_a_data_root_lets_the_pipeline_read_a_folder_outside_its_own(tmp_path, outside, capsys):
    project = tmp_path / "project"
    pipeline = write_pipeline(project, "../elsewhere/data.npz", roots="../elsewhere")

    assert main(["validate", str(pipeline)]) == 0
    assert capsys.readouterr().out.startswith(f"ok: {pipeline} (Pipeline hostile, 1 stages)")

    write_pipeline(project, "../elsewhere/data.npz", roots="../nowhere")
    assert main(["validate", str(pipeline)]) == 2
    assert capsys.readouterr().err.strip().startswith(
        f"{pipeline}:4:14: data_roots[0]: no such folder: {project}/../nowhere")


def test_a_file_that_is_not_what_its_format_says_is_not_echoed(tmp_path, capsys):
    (tmp_path / "raw.npz").write_text(SECRET + "\n")
    pipeline = write_pipeline(tmp_path, "raw.npz")

    code, err = assess_in_process(pipeline, capsys)

    assert code == 2
    assert err == f"{pipeline}:8:36: stages[0].artifacts[0].path: raw.npz is not an npz file (it does not start as one)"


def test_a_csv_full_of_secrets_is_never_quoted(tmp_path, capsys):
    (tmp_path / "raw.csv").write_text(f"{SECRET},y\n1,0\n{SECRET},1\n")
    pipeline = write_pipeline(tmp_path, "raw.csv", "csv")

    code, err = assess_in_process(pipeline, capsys)

    assert code == 2
    assert err == (f"{pipeline}:8:9: stages[0].artifacts[0].features: raw.csv: line 3, column 1: the column holds "
                   "numbers from its first row, and this value is not one (a column of categories must hold text "
                   "from its first row)")
    assert "c2VjcmV0" not in err


def test_reading_a_fifo_would_block_so_the_guard_is_real(tmp_path):
    """The control for the FIFO tests: opening one for reading does block until a writer comes."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    opened = threading.Event()
    reader = threading.Thread(target=lambda: (fifo.open("rb").close(), opened.set()), daemon=True)
    reader.start()
    assert not opened.wait(0.5)
    with fifo.open("wb"):  # release the reader
        pass
    assert opened.wait(5)
