"""Provenance and signed evidence: speed against the raw libraries, and DVC agreement at scale.

    python benchmarks/provenance.py [--files 2000] [--mb 200] [--dvc /path/to/venv-with-dvc/bin/dvc]

1. DVC digests: a synthetic dataset folder (``--files`` files, ``--mb`` MB in all, nested folders).
   riskframe's ``dvc_dir_digest`` against a bare ``hashlib.md5`` pass over the same files (the
   floor: reading and hashing every byte once) and, when ``--dvc`` names a DVC executable, against
   ``dvc add --no-commit`` in a fresh repository, whose ``.dir`` digest must equal riskframe's.
2. Signed evidence: ``sign_assessment`` + ``verify_assessment`` over an assessment whose inputs are
   that folder, against a bare sha256 pass over the same files plus one Ed25519 signature.

Prints one table per part; each ratio is riskframe's time over the baseline's (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from riskframe.detectors.provenance.dvc_lock import dvc_dir_digest
from riskframe.io.digests import sha256_path


def make_tree(root: Path, files: int, megabytes: int) -> Path:
    folder = root / "data"
    rng = np.random.default_rng(0)
    size = max(1, megabytes * 1_000_000 // files)
    for index in range(files):
        path = folder / f"part-{index % 20:02d}" / f"shard-{index % 7}" / f"sample-{index:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.bytes(size))
    return folder


def timed(function, *args, repeat: int = 3):
    best, value = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        value = function(*args)
        best = min(best, time.perf_counter() - started)
    return best, value


def raw_md5(folder: Path) -> int:
    count = 0
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                hashlib.file_digest(handle, "md5")
            count += 1
    return count


def raw_sha256(folder: Path) -> int:
    count = 0
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                hashlib.file_digest(handle, "sha256")
            count += 1
    return count


def dvc_add(dvc: str, folder: Path) -> str:
    repo = folder.parent
    subprocess.run([dvc, "init", "--no-scm", "-q", "-f"], cwd=repo, check=True)
    subprocess.run([dvc, "add", "--no-commit", "-q", folder.name], cwd=repo, check=True)
    text = (repo / f"{folder.name}.dvc").read_text()
    digest = next(line.split(":", 1)[1].strip() for line in text.splitlines() if "md5:" in line)
    shutil.rmtree(repo / ".dvc")
    (repo / f"{folder.name}.dvc").unlink()
    return digest


def table(title: str, rows: list[tuple[str, float, str]], baseline: float, megabytes: float) -> None:
    print(f"\n{title}")
    print(f"{'method':<44} {'seconds':>8} {'MB/s':>8} {'ratio':>6}  note")
    for name, seconds, note in rows:
        print(f"{name:<44} {seconds:8.3f} {megabytes / seconds:8.1f} {seconds / baseline:6.2f}  {note}")


def dvc_part(folder: Path, megabytes: float, dvc: str | None) -> None:
    floor, count = timed(raw_md5, folder)
    ours, (digest, _, nfiles) = timed(dvc_dir_digest, folder)
    rows = [("hashlib.md5 over every file (floor)", floor, f"{count} files"),
            ("riskframe dvc_dir_digest", ours, f"{digest}, {nfiles} files")]
    if dvc:
        theirs, dvc_digest = timed(dvc_add, dvc, folder, repeat=1)
        same = "same digest" if dvc_digest == digest else f"DIFFERENT: {dvc_digest}"
        rows.append(("dvc add --no-commit (DVC itself)", theirs, same))
    table("DVC .dir digest of the dataset folder", rows, floor, megabytes)


def signing_part(folder: Path, megabytes: float) -> None:
    from riskframe.signing import generate_key, sign_assessment, verify_assessment
    from riskframe.signing.statement import build_statement

    key = generate_key()
    assessment = _assessment(folder)
    out = folder.parent / "reports"
    out.mkdir(exist_ok=True)
    (out / "assessment.json").write_text("{}")

    def floor() -> None:
        raw_sha256(folder)
        key.sign(b"x" * 4096)

    base, _ = timed(floor)
    sign, _ = timed(lambda: sign_assessment(assessment, out, [out / "assessment.json"], key, folder.parent))
    verify, result = timed(lambda: verify_assessment(out, key.public, folder.parent))
    subjects = len(build_statement(assessment, out, ["assessment.json"], folder.parent)["subject"])
    table("Signed evidence over the dataset folder", [
        ("sha256 over every file + one Ed25519 signature", base, "floor"),
        ("riskframe sign_assessment", sign, f"{subjects} subjects"),
        ("riskframe verify_assessment", verify, "verified" if result.ok else f"FAILED {result.problems[:1]}"),
    ], base, megabytes)


def _assessment(folder: Path):
    from riskframe.assessment import Assessment

    data = {"schema_version": "1.0", "created_at": "2024-01-01T00:00:00+00:00",
            "tool": {"version": "bench", "catalogs": {}},
            "inputs": [{"path": folder.name, "sha256": sha256_path(folder), "role": "artifact", "size": 0}],
            "pipeline": {"name": "bench", "path": "", "owner": None, "criticality": "low", "stages": []},
            "policies": [], "results": [], "stages": [], "atlas": [], "nist": [],
            "summary": {"risk_score": 0, "level": "low", "counts": {}, "requirements": 0, "stages": 0},
            "gate": {"decision": "pass", "fail_on": "high", "reasons": []}}
    return Assessment.model_validate(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--dvc", help="a dvc executable, to time it and check its digest equals riskframe's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = make_tree(Path(scratch), args.files, args.mb)
        megabytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
        print(f"dataset: {args.files} files, {megabytes:.0f} MB, in {os.cpu_count()} CPUs' page cache (warm)")
        dvc_part(folder, megabytes, args.dvc)
        signing_part(folder, megabytes)


if __name__ == "__main__":
    main()
