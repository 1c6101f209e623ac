"""Reading datasets in their own formats: streaming digests, Parquet and csv tables, image folders.

1. Digests: a ``--digest-mib`` file of random bytes (default 1 GiB) hashed by riskframe's streaming
   sha256 (:func:`riskframe.io.digests.sha256_file`, what every artifact and shard digest uses), by
   coreutils ``sha256sum`` and by ``openssl dgst -sha256``, alternated ``--repeat`` times from a warm
   page cache (median).
2. Tables: ``--rows`` rows (default 1,000,000) of 8 numeric features, 2 text features, an id and a
   string label, as Parquet (row groups of 131,072 rows) and as csv. riskframe's loader (columns by
   name, text coded, every check, row locations) against the raw library reading the same columns
   into numpy: ``pyarrow.parquet.read_table`` and ``pyarrow.csv.read_csv`` (multi-threaded C++), and
   Python's csv module for the csv. Each in a fresh interpreter: wall time and peak RSS.
3. Images: ``--images`` PNG files (default 10,000, 32 x 32 colour, 10 class folders) read by
   riskframe's image-folder loader and by a plain Pillow loop into one array.

4. ``--digest-path PATH`` (repeatable): the artifact digest of a file or folder you have (the
   example of examples/large-data, say), riskframe's :func:`riskframe.io.digests.sha256_path`
   against the shell: ``sha256sum FILE``, or for a folder the pipeline docs/pipeline.md gives,
   ``find -L . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum``,
   from a warm page cache, alternated ``--repeat`` times (median, and best: on a shared machine
   the best of each is the least disturbed); the digests must agree.

Run: ``nice -n 10 .venv/bin/python benchmarks/data_formats.py [--digest-mib 1024] [--rows 1000000]
[--images 10000] [--repeat 3] [--digest-path PATH ...]`` (needs the parquet extra).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Each measured reader runs in a fresh interpreter; it prints its wall time, after the imports.
PRELUDE = """\
import json, sys, time
from pathlib import Path
import numpy as np
"""
# The peak RSS is this process's VmHWM: ru_maxrss would carry over the benchmark's own peak, which
# Linux keeps across the fork and exec that started this interpreter.
EPILOGUE = """
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"wall": wall, "rss_mb": hwm / 1024, "rows": rows}))
"""
READERS = {
    "riskframe, parquet": """
from riskframe.data.datasets import load_dataset
from riskframe.spec.pipeline import Artifact
import pyarrow.parquet
started = time.perf_counter()
ds = load_dataset(Artifact(name="t", type="dataset", path="table.parquet", labels="species", id_column="id"),
                  Path(sys.argv[1]))
wall, rows = time.perf_counter() - started, ds.n_samples
""",
    "pyarrow.parquet.read_table, to numpy": """
import pyarrow.parquet as pq, pyarrow.compute as pc
started = time.perf_counter()
t = pq.read_table(Path(sys.argv[1]) / "table.parquet")
numbers = [t[c].to_numpy() for c in t.column_names if c.startswith("x")]
texts = [pc.dictionary_encode(t[c]).combine_chunks().indices.to_numpy() for c in ("island", "sex")]
features = np.column_stack(numbers + texts)
labels = pc.dictionary_encode(t["species"]).combine_chunks().indices.to_numpy()
ids = t["id"].to_numpy()
wall, rows = time.perf_counter() - started, len(labels)
""",
    "riskframe, csv": """
from riskframe.data.datasets import load_dataset
from riskframe.spec.pipeline import Artifact
started = time.perf_counter()
ds = load_dataset(Artifact(name="t", type="dataset", path="table.csv", labels="species", id_column="id"),
                  Path(sys.argv[1]))
wall, rows = time.perf_counter() - started, ds.n_samples
""",
    "pyarrow.csv.read_csv, to numpy": """
import pyarrow.csv as pcsv, pyarrow.compute as pc
started = time.perf_counter()
t = pcsv.read_csv(Path(sys.argv[1]) / "table.csv")
numbers = [t[c].to_numpy() for c in t.column_names if c.startswith("x")]
texts = [pc.dictionary_encode(t[c]).combine_chunks().indices.to_numpy() for c in ("island", "sex")]
features = np.column_stack(numbers + texts)
labels = pc.dictionary_encode(t["species"]).combine_chunks().indices.to_numpy()
wall, rows = time.perf_counter() - started, len(labels)
""",
    "Python csv module, to numpy": """
import csv
started = time.perf_counter()
with open(Path(sys.argv[1]) / "table.csv", newline="") as f:
    r = csv.reader(f); header = next(r); rows_ = list(r)
features = np.array([[float(v) for v in row[1:9]] for row in rows_])
codes = {}; labels = np.array([codes.setdefault(row[-1], len(codes)) for row in rows_])
wall, rows = time.perf_counter() - started, len(labels)
""",
    "riskframe, image folder": """
from riskframe.data.datasets import load_dataset
from riskframe.spec.pipeline import Artifact
started = time.perf_counter()
ds = load_dataset(Artifact(name="t", type="dataset", path="images", format="images"), Path(sys.argv[1]))
wall, rows = time.perf_counter() - started, ds.n_samples
""",
    "Pillow loop, to one array": """
from PIL import Image
started = time.perf_counter()
files = sorted((Path(sys.argv[1]) / "images").glob("*/*.png"))
images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
labels = [f.parent.name for f in files]
wall, rows = time.perf_counter() - started, len(images)
""",
}


def measure(reader: str, folder: Path) -> dict[str, float]:
    code = PRELUDE + READERS[reader] + EPILOGUE
    out = subprocess.run([sys.executable, "-c", code, str(folder)], check=True, capture_output=True, text=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def digests(mib: int, repeat: int, folder: Path) -> None:
    from riskframe.io.digests import sha256_file

    path = folder / "big.bin"
    rng = np.random.default_rng(0)
    with path.open("wb") as handle:
        for _ in range(mib):
            handle.write(rng.bytes(1 << 20))
    subprocess.run(["cat", str(path)], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
    commands = {"sha256sum": ["sha256sum", str(path)],
                "openssl dgst -sha256": ["openssl", "dgst", "-sha256", str(path)]}
    times: dict[str, list[float]] = {name: [] for name in [*commands, "riskframe sha256_file"]}
    for _ in range(repeat):
        for name, command in commands.items():
            started = time.perf_counter()
            theirs = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[-1]
            times[name].append(time.perf_counter() - started)
        started = time.perf_counter()
        ours = sha256_file(path)
        times["riskframe sha256_file"].append(time.perf_counter() - started)
        assert ours == theirs
    print(f"\n## Streaming digests: {mib} MiB, median of {repeat}\n")
    print("| digest | seconds | MiB/s | vs sha256sum |\n|---|---|---|---|")
    base = statistics.median(times["sha256sum"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {mib / median:.0f} | {base / median:.0%} |")
    path.unlink()


FOLDER_DIGEST = "find -L . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum"


def path_digests(paths: list[Path], repeat: int) -> None:
    """riskframe's digest of each file or folder against sha256sum's, from a warm page cache."""
    from riskframe.io.digests import sha256_path

    print(f"\n## Artifact digests of files and folders, median (best) of {repeat}\n")
    print("| artifact | size MiB | files | sha256sum, s | riskframe, s | riskframe's speed vs sha256sum |\n"
          "|---|---|---|---|---|---|")
    for path in paths:
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        mib = sum(p.stat().st_size for p in files) / (1 << 20)
        subprocess.run(["cat", *map(str, files)], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
        shell = (["sh", "-c", FOLDER_DIGEST] if path.is_dir() else ["sha256sum", str(path)])
        theirs_s, ours_s = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            theirs = subprocess.run(shell, check=True, capture_output=True, text=True,
                                    cwd=path if path.is_dir() else None).stdout.split()[0]
            theirs_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            ours = sha256_path(path)
            ours_s.append(time.perf_counter() - started)
            assert ours == theirs, (path, ours, theirs)
        base, mine = statistics.median(theirs_s), statistics.median(ours_s)
        print(f"| {path.name}{'/' if path.is_dir() else ''} | {mib:.0f} | {len(files):,} | {base:.2f} "
              f"({min(theirs_s):.2f}) | {mine:.2f} ({min(ours_s):.2f}) | {base / mine:.0%} "
              f"({min(theirs_s) / min(ours_s):.0%}) |", flush=True)


def write_table(rows: int, folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    species = rng.integers(0, 3, rows)
    columns: dict[str, object] = {"id": [f"P-{i:07d}" for i in range(rows)]}
    for j in range(8):
        columns[f"x{j}"] = np.round(rng.normal(species * (j % 3), 1.0), 3)
    columns["island"] = np.array(["Biscoe", "Dream", "Torgersen"])[rng.integers(0, 3, rows)]
    columns["sex"] = np.array(["female", "male"])[rng.integers(0, 2, rows)]
    columns["species"] = np.array(["Adelie", "Chinstrap", "Gentoo"])[species]
    table = pa.table(columns)
    pq.write_table(table, folder / "table.parquet", row_group_size=131_072)
    pcsv.write_csv(table, folder / "table.csv", pcsv.WriteOptions(quoting_style="none"))


def write_images(count: int, folder: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        target = folder / "images" / f"class{i % 10}"
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(target / f"{i:06d}.png")


def table(title: str, readers: list[str], folder: Path, repeat: int) -> None:
    print(f"\n## {title}, median of {repeat} (fresh interpreter each)\n")
    print("| reader | seconds | peak RSS MiB | rows |\n|---|---|---|---|")
    for reader in readers:
        runs = [measure(reader, folder) for _ in range(repeat)]
        print(f"| {reader} | {statistics.median(r['wall'] for r in runs):.2f} | "
              f"{statistics.median(r['rss_mb'] for r in runs):.0f} | {int(runs[0]['rows']):,} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digest-mib", type=int, default=1024)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--digest-path", type=Path, action="append", default=[],
                        help="a file or folder to digest against sha256sum (repeatable)")
    args = parser.parse_args()
    if args.digest_path:
        path_digests(args.digest_path, args.repeat)
    with tempfile.TemporaryDirectory(prefix="riskframe-formats-") as tmp:
        folder = Path(tmp)
        if args.digest_mib:
            digests(args.digest_mib, args.repeat, folder)
        if args.rows:
            write_table(args.rows, folder)
            sizes = {p.suffix: os.path.getsize(p) / (1 << 20) for p in folder.glob("table.*")}
            table(f"Tables: {args.rows:,} rows, 8 numeric + 2 text features, id, string label (parquet "
                  f"{sizes['.parquet']:.0f} MiB, csv {sizes['.csv']:.0f} MiB)",
                  ["riskframe, parquet", "pyarrow.parquet.read_table, to numpy", "riskframe, csv",
                   "pyarrow.csv.read_csv, to numpy", "Python csv module, to numpy"], folder, args.repeat)
        if args.images:
            write_images(args.images, folder)
            table(f"Image folder: {args.images:,} PNG files of 32 x 32 colour pixels, 10 classes",
                  ["riskframe, image folder", "Pillow loop, to one array"], folder, args.repeat)


if __name__ == "__main__":
    main()
