"""Hostile-input benchmark: what riskframe's loaders do with each hostile document or dataset of
issue 11, next to what the raw library does with the same bytes, each in a fresh process.

For every input: the outcome (a located refusal, a crash, a hang), the wall time and the process's
peak resident memory (``VmHWM``), riskframe's loader (``parse_yaml``, ``load_dataset``) first,
then the library alone (``yaml.load`` with libyaml's safe loader, ``numpy.load`` with
``allow_pickle=False``, ``open``). Then what hardening costs on good inputs: parsing the 2,000-stage
pipeline of ``policy_scale.py`` and loading a large valid dataset, against the raw library.

Every file is generated in a temporary folder. The 2 GiB rows make the raw library allocate 2 GiB
(and 4 GiB with the copy to float64): run it on a machine with 8 GiB free, with ``nice``.

Run: ``nice -n 10 .venv/bin/python benchmarks/hostile_inputs.py [--dataset-mib 512]``.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 20.0

# Each snippet runs in its own interpreter and prints "outcome"; the harness adds time and memory.
# Peak memory is VmHWM, the high-water mark of this process's own memory (ru_maxrss would include
# the benchmark's, inherited across fork and exec); time runs from start(), after the imports.
PRELUDE = """
import sys, time
started = time.perf_counter()
def start():
    global started
    started = time.perf_counter()
def done(outcome):
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    print(f"{outcome}|{time.perf_counter() - started:.3f}|{rss:.0f}")
try:
{body}
except BaseException as exc:
    done(f"{type(exc).__name__}: {str(exc).splitlines()[0][:70] if str(exc) else ''}")
"""

RISKFRAME_YAML = """
    from riskframe.errors import DocumentError
    from riskframe.spec.yaml_source import load_yaml
    start()
    try:
        load_yaml(sys.argv[1])
        done("loaded")
    except DocumentError as exc:
        done("refused: " + str(exc).split(": ", 1)[1][:70])
"""
RAW_YAML = """
    import yaml
    start()
    yaml.load(open(sys.argv[1], encoding="utf-8").read(), Loader=yaml.CSafeLoader)
    done("loaded")
"""
RISKFRAME_NPZ = """
    from pathlib import Path
    from riskframe.data.datasets import load_dataset
    from riskframe.errors import ArtifactError
    from riskframe.spec.pipeline import Artifact
    path = Path(sys.argv[1])
    start()
    try:
        load_dataset(Artifact(name="raw", type="dataset", path=path.name, format="npz"), path.parent)
        done("loaded")
    except ArtifactError as exc:
        done("refused: " + str(exc)[:70])
"""
RAW_NPZ = """
    import numpy as np
    start()
    with np.load(sys.argv[1], allow_pickle=False) as data:
        features = data["X"].reshape(len(data["y"]), -1).astype(np.float64, copy=False)
        ok = bool(np.isfinite(features).all())
    done(f"loaded (finite: {ok})")
"""
RAW_OPEN = """
    open(sys.argv[1], "rb").read(8)
    done("read")
"""


def run(body: str, path: Path) -> tuple[str, str, str]:
    code = PRELUDE.replace("{body}", textwrap.indent(textwrap.dedent(body).strip("\n"), "    "))
    try:
        result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                                timeout=TIMEOUT, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return f"hangs (killed after {TIMEOUT:.0f} s)", f">{TIMEOUT:.0f}", "-"
    lines = result.stdout.strip().splitlines()
    if not lines:
        crash = result.stderr.strip().splitlines()[-1][:70] if result.stderr.strip() else f"exit {result.returncode}"
        return f"crashed: {crash}", "-", "-"
    outcome, seconds, rss = lines[-1].split("|")
    return outcome, seconds, rss


def npz(path: Path, shape: tuple[int, ...], data: bytes | None = None, chunks: int = 0, labels_rows: int = 0) -> Path:
    """An npz whose X declares ``shape`` float64; its data is ``data``, or ``chunks`` x 64 MiB of
    zeros, deflated; y holds ``labels_rows`` int8 labels (default: one per row)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("X.npy", "w", force_zip64=True) as member:
            npy_format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": shape})
            if data is not None:
                member.write(data)
            block = bytes(64 << 20)
            for _ in range(chunks):
                member.write(block)
        labels = io.BytesIO()
        np.save(labels, (np.arange(labels_rows or shape[0]) % 2).astype(np.int8))
        archive.writestr("y.npy", labels.getvalue())
    return path


def hostile_files(folder: Path) -> list[tuple[str, Path, str, str]]:
    """(name, file, riskframe's snippet, the raw library's snippet)."""
    deep = folder / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    escape = folder / "escape.yaml"
    escape.write_text("a: 1\nb: \x1b[31mred\n")
    header = npz(folder / "header-47gib.npz", (6_300_000_000, 1), data=b"", labels_rows=10)
    bomb = npz(folder / "inflates-2gib.npz", ((2 << 30) // (64 * 8), 64), chunks=32)
    fifo = folder / "dataset.npz.fifo"
    os.mkfifo(fifo)
    return [
        ("YAML nested 5,000 levels", deep, RISKFRAME_YAML, RAW_YAML),
        ("YAML with an ESC byte", escape, RISKFRAME_YAML, RAW_YAML),
        ("npz header declaring 47 GiB", header, RISKFRAME_NPZ, RAW_NPZ),
        (f"npz of {bomb.stat().st_size / 2**20:.1f} MiB inflating to 2 GiB", bomb, RISKFRAME_NPZ, RAW_NPZ),
        ("a FIFO as the dataset", fifo, RISKFRAME_NPZ, RAW_OPEN),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset-mib", type=int, default=512, help="size of the valid dataset (float64 MiB)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        print("| input | loader | outcome | wall s | peak RSS MB |")
        print("|---|---|---|---|---|")
        for title, path, ours, raw in hostile_files(folder):
            for loader, body in (("riskframe", ours), ("raw library", raw)):
                outcome, seconds, rss = run(body, path)
                print(f"| {title} | {loader} | {outcome.replace('|', '/')} | {seconds} | {rss} |")

        sys.path.insert(0, str(ROOT / "benchmarks"))
        from policy_scale import pipeline_yaml

        scale = folder / "pipeline-2000.yaml"
        scale.write_text(pipeline_yaml(2000))
        rows = args.dataset_mib * 2**20 // (64 * 8)
        good = folder / "good.npz"
        np.savez(good, X=np.random.default_rng(0).normal(size=(rows, 64)), y=np.arange(rows) % 2)
        print()
        print("| good input | loader | outcome | wall s | peak RSS MB |")
        print("|---|---|---|---|---|")
        for title, path, ours, raw in (
            ("2,000-stage pipeline (0.36 MB)", scale, RISKFRAME_YAML, RAW_YAML),
            (f"{args.dataset_mib} MiB float64 npz dataset ({rows} x 64)", good, RISKFRAME_NPZ, RAW_NPZ),
        ):
            for loader, body in (("riskframe", ours), ("raw library", raw)):
                outcome, seconds, rss = run(body, path)
                print(f"| {title} | {loader} | {outcome.replace('|', '/')} | {seconds} | {rss} |")


if __name__ == "__main__":
    main()
