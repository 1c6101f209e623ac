"""Unsafe-model-file scan benchmark: riskframe.scanning next to modelscan and fickling.

Part 1, detection. The corpus of ``devtools.scanning.corpus`` (the one the tests use): malicious
pickles for every gadget family issue 4 lists, and one payload wrapped in every container (raw
pickle protocols 0-5, PyTorch zip, legacy torch, joblib plain/zlib/gzip, npy and npz object
arrays, zip, zip in zip, TorchScript with a malicious constants.pkl, gzip, pickle+zip polyglot,
skops), two Keras v3 archives (a Lambda layer with marshalled bytecode, as the security review
found called SAFE; a Dense activation naming ``os.system``), evasions (memo-routed and computed
STACK_GLOBAL, INST/OBJ/EXT opcodes, attribute and dunder chains, BUILD on a global, a second
pickle); the files issue 11's review walked past the scan (``devtools.scanning.hostile``:
``.npy`` object dtypes spelled otherwise, joblib wrappers with repeated keys, a shadowed method,
a frame or bytes ``pickle.load`` reads as opcodes, two zip archives in one file, pickles whose
first opcode is not PROTO, pickles that look like GGUF or a tar, a legacy torch tar); and benign
files (numpy arrays, OrderedDicts, scikit-learn pipelines, random forests, k-NN and gradient
boosting via joblib, torch state dicts zip and legacy, whole ``torch.nn`` modules zip and legacy,
TorchScript, safetensors, ONNX, npy/npz, skops). Each tool scans each file; a file counts as
flagged when the tool reports any issue (riskframe: verdict ``unsafe``; modelscan: any issue;
fickling: ``scan_file`` severity above LIKELY_SAFE). Errors count as not flagged and are listed.

modelscan's "no issue" on a file it failed to parse or did not scan (joblib files, where its
``pickletools.genops`` stops at the first array's bytes; npy; skops) is counted as an error (E),
not as a clean verdict.

Part 2, speed and memory. Larger benign files (a 256 MB torch state dict, a 200 MB numpy pickle,
a 10 MB opcode-dense dict pickle, a 40 MB random forest via joblib, a 1 GB pickle): wall time and
MB/s per tool, the ratio to modelscan, and each tool's peak resident memory on the 1 GB file
(measured in a child process with ``resource.getrusage``).

Part 3, floods of no-op opcodes (the resource-exhaustion case of issue 11): 1 GiB of pickle that
does nothing (``N0`` pairs; a mix of every kind the fast path skips), plain and as a ~1 MB gzip
file that inflates to it; riskframe's MiB/s of pickle walked (target: at least 50), modelscan on
the first 64 MiB for comparison, and the opcode budget stopping a flood the fast path does not
cover.

A canary file, which every payload would create if anything loaded it, must not exist at the end.

Run: ``.venv/bin/python benchmarks/model_scan.py [--quick]`` (``pip install -e '.[bench]'``
first; a missing tool is skipped with a note). About 8 minutes on 2 cores; ``--quick`` skips the
1 GB files.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

Tool = Callable[[Path], bool]


def riskframe_tool() -> Tool:
    from riskframe.scanning import scan_file

    return lambda path: scan_file(path).verdict == "unsafe"


def modelscan_tool() -> Tool | None:
    try:
        from modelscan.modelscan import ModelScan
    except ImportError:
        return None

    def scan(path: Path) -> bool:
        result = ModelScan().scan(path)
        if result.get("issues"):
            return True
        if result.get("errors") or not result["summary"]["scanned"]["total_scanned"]:
            # modelscan's "no issue" on a file it could not parse or did not scan is not a verdict
            problem = (result.get("errors") or [{"description": "not scanned (format not supported)"}])[0]
            raise RuntimeError(problem["description"])
        return False
    return scan


def fickling_tool() -> Tool | None:
    try:
        import fickling
        from fickling.analysis import Severity
    except ImportError:
        return None

    def scan(path: Path) -> bool:
        return fickling.scan_file(str(path), graceful=True).severity > Severity.LIKELY_SAFE
    return scan


def tools() -> dict[str, Tool]:
    found = {"riskframe": riskframe_tool(), "modelscan": modelscan_tool(), "fickling": fickling_tool()}
    for name, tool in found.items():
        if tool is None:
            print(f"note: {name} is not installed; skipped (pip install {name})")
    return {name: tool for name, tool in found.items() if tool is not None}


def _quietly(tool: Tool, path: Path) -> tuple[bool | None, float, str]:
    import contextlib
    import io
    import logging

    logging.disable(logging.CRITICAL)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            flagged = tool(path)
        return flagged, time.perf_counter() - start, ""
    except Exception as exc:  # a tool crashing on a file is a result to report, not a benchmark failure
        return None, time.perf_counter() - start, f"{type(exc).__name__}: {str(exc)[:60]}"


def detection(folder: Path, canary: Path, scanners: dict[str, Tool]) -> None:
    from devtools.scanning.corpus import build_corpus
    from devtools.scanning.hostile import build_hostile

    samples = build_corpus(folder, canary) + [s for s, _ in build_hostile(folder, canary.parent / "ran")]
    malicious = [s for s in samples if s.malicious]
    benign = [s for s in samples if not s.malicious]
    print(f"\n## Detection: {len(malicious)} malicious, {len(benign)} benign files\n")
    outcomes: dict[str, dict[str, tuple[bool | None, float, str]]] = {}
    for name, tool in scanners.items():
        outcomes[name] = {s.name: _quietly(tool, folder / s.name) for s in samples}
    common = [s.name for s in samples if not any(outcomes[n][s.name][2] for n in outcomes)]
    size = sum((folder / name).stat().st_size for name in common) / 1e6
    print("| tool | malicious caught | benign flagged (false alarms) | errors | time on the "
          f"{len(common)} files every tool scanned (ms) | MB/s there |")
    print("|---|---|---|---|---|---|")
    for name, results in outcomes.items():
        caught = sum(bool(results[s.name][0]) for s in malicious)
        false = sum(bool(results[s.name][0]) for s in benign)
        errors = sum(bool(results[s.name][2]) for s in samples)
        seconds = sum(min(results[f][1], _quietly(scanners[name], folder / f)[1]) for f in common)
        print(f"| {name} | {caught}/{len(malicious)} | {false}/{len(benign)} | {errors} | {seconds * 1000:.0f} | "
              f"{size / seconds:.2f} |")
    print("\nPer file (x = flagged, . = not flagged, E = error):\n")
    names = list(outcomes)
    print("| file | kind | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for sample in samples:
        marks = []
        for name in names:
            flagged, _, error = outcomes[name][sample.name]
            marks.append("E" if error else "x" if flagged else ".")
        kind = f"{'MALICIOUS' if sample.malicious else 'benign'}: {sample.label}"
        print(f"| {sample.name} | {kind} | " + " | ".join(marks) + " |")
    missed = [s.name for s in malicious if not outcomes["riskframe"][s.name][0]]
    alarms = [s.name for s in benign if outcomes["riskframe"][s.name][0]]
    print(f"\nriskframe target: every malicious file caught ({'met' if not missed else f'MISSED {missed}'}), "
          f"no benign file flagged ({'met' if not alarms else f'FLAGGED {alarms}'})")


def _big_files(folder: Path, quick: bool) -> dict[str, Path]:
    import pickle

    import joblib
    import numpy as np
    import torch
    from sklearn.ensemble import RandomForestClassifier

    torch.set_num_threads(1)
    files = {}
    files["torch state dict 256 MB"] = folder / "state.pt"
    torch.save({f"layer{i}.weight": torch.zeros(8 << 20) for i in range(8)}, files["torch state dict 256 MB"])
    files["numpy pickle 200 MB"] = folder / "array.pkl"
    files["numpy pickle 200 MB"].write_bytes(pickle.dumps(np.zeros(25_000_000), protocol=4))
    files["dense dict pickle 10 MB"] = folder / "dense.pkl"
    dense = {f"k{i}": [i, float(i), "v" * (i % 7)] for i in range(300_000)}
    files["dense dict pickle 10 MB"].write_bytes(pickle.dumps(dense, protocol=4))
    rng = np.random.RandomState(0)
    features = rng.normal(size=(20_000, 20))
    forest = RandomForestClassifier(n_estimators=40, n_jobs=1, random_state=0)
    files["random forest joblib"] = folder / "forest.joblib"
    joblib.dump(forest.fit(features, features[:, 0] > 0), files["random forest joblib"])
    if not quick:
        files["numpy pickle 1 GB"] = folder / "huge.pkl"
        with files["numpy pickle 1 GB"].open("wb") as fp:
            pickle.dump(np.zeros(1 << 27), fp, protocol=4)
    return files


_FICKLING_MAX_MB = 300


def speed(folder: Path, scanners: dict[str, Tool], quick: bool) -> None:
    files = _big_files(folder, quick)
    print("\n## Speed: wall time (s) and MB/s per file\n")
    names = list(scanners)
    print("| file | MB | " + " | ".join(f"{n} s | {n} MB/s" for n in names) + " | riskframe / modelscan speed |")
    print("|---|---|" + "---|---|" * len(names) + "---|")
    for label, path in files.items():
        size = path.stat().st_size / 1e6
        cells, rates = [], {}
        for name, tool in scanners.items():
            if name == "fickling" and size > _FICKLING_MAX_MB:
                cells.append("skipped | -")  # it reads the whole file and builds an AST: many GB of RAM
                continue
            runs = [_quietly(tool, path) for _ in range(1 if size > 300 else 5)]
            flagged, seconds, error = min(runs, key=lambda run: run[1])  # best of 5 below 300 MB
            rates[name] = size / seconds if not error else float("nan")
            shown = "E" if error else f"{'FLAGGED ' if flagged else ''}{seconds:.2f}"
            cells.append(f"{shown} | {rates[name]:.0f}")
        ratio = f"{rates['riskframe'] / rates['modelscan']:.1f}x" if "modelscan" in rates else "-"
        print(f"| {label} | {size:.0f} | " + " | ".join(cells) + f" | {ratio} |")
    if "numpy pickle 1 GB" in files:
        memory(files["numpy pickle 1 GB"], [n for n in names if n != "fickling"])


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
_CHILD = """
import re, sys, time
sys.path.insert(0, {bench!r})
import model_scan
tool = getattr(model_scan, {factory!r})()
before = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
start = time.perf_counter()
tool(__import__("pathlib").Path({path!r}))
after = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(time.perf_counter() - start, before, after)
"""


def memory(path: Path, names: list[str]) -> None:
    print(f"\n## Peak resident memory scanning the {path.stat().st_size / 1e9:.2f} GB pickle (child process)\n")
    print("| tool | peak RSS after imports (MB) | peak RSS during the scan (MB) | time (s) |")
    print("|---|---|---|---|")
    for name in names:
        code = _CHILD.format(bench=str(Path(__file__).parent), factory=f"{name}_tool", path=str(path))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        try:
            seconds, before, after = out.stdout.split()[-3:]
            print(f"| {name} | {int(before) / 1024:.0f} | {int(after) / 1024:.0f} | {float(seconds):.2f} |")
        except ValueError:
            print(f"| {name} | failed: {out.stderr.strip().splitlines()[-1:]} | - | - |")


_FLOODS = {  # no-op opcode runs: a constant pushed and popped, MARK/POP_MARK, PROTO, a frame of nothing
    "N0 pairs": b"N0",
    "a mix of every kind": b"N0(1K\x050\x880G" + bytes(8) + b"0]0\x80\x04\x95" + bytes(8) + b"J\x01\x02\x03\x040",
}


def _flood(path: Path, unit: bytes, size: int, compress: bool = False) -> None:
    import gzip

    chunk = unit * ((1 << 20) // len(unit))
    with (gzip.open(path, "wb", compresslevel=9) if compress else path.open("wb")) as fp:
        fp.write(b"\x80\x04")
        for _ in range(size // len(chunk)):
            fp.write(chunk)
        fp.write(b"N.")


def floods(folder: Path, scanners: dict[str, Tool], quick: bool) -> None:
    from riskframe.scanning import ScanLimits, scan_file

    size = (64 if quick else 1024) << 20
    print(f"\n## Floods of no-op opcodes: {size >> 20} MiB of pickle walked\n")
    print("| file | on disk (MB) | riskframe verdict | riskframe s | riskframe MiB/s "
          "| modelscan MiB/s (first 64 MiB) |")
    print("|---|---|---|---|---|---|")
    for label, unit in _FLOODS.items():
        for compress in (False, True):
            path = folder / f"flood-{len(unit)}.pkl{'.gz' if compress else ''}"  # modelscan goes by the suffix
            _flood(path, unit, size, compress)
            start = time.perf_counter()
            scan = scan_file(path)
            seconds = time.perf_counter() - start
            other = "-"
            if "modelscan" in scanners and not compress:
                sample = folder / "flood-sample.pkl"
                _flood(sample, unit, 64 << 20)
                _, ms_seconds, error = _quietly(scanners["modelscan"], sample)
                other = "E" if error else f"{64 / ms_seconds:.1f}"
            print(f"| {label}{' (gzip)' if compress else ''} | {path.stat().st_size / 1e6:.1f} | {scan.verdict} | "
                  f"{seconds:.1f} | {size / seconds / (1 << 20):.0f} | {other} |")
            path.unlink()
    slow = folder / "slow-flood.pkl"
    slow.write_bytes(b"\x80\x04" + b"K\x01\x850" * 5_000_000 + b"N.")  # BININT1, TUPLE1, POP: one by one
    start = time.perf_counter()
    scan = scan_file(slow, limits=ScanLimits(max_opcodes=3_000_000))
    seconds = time.perf_counter() - start
    reason = scan.findings[0].reason.split(";")[0] if scan.findings else "no finding"
    print(f"\nA 20 MB flood the fast path does not cover (BININT1, TUPLE1, POP), with a budget of 3,000,000 "
          f"opcodes: {scan.verdict} after {seconds:.1f} s ({3e6 / seconds / 1e6:.2f} M opcodes/s): {reason}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1 GB files")
    args = parser.parse_args()
    scanners = tools()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        canary = root / "CANARY_PAYLOAD_RAN"
        detection(root / "corpus", canary, scanners)
        speed(root, scanners, args.quick)
        floods(root, scanners, args.quick)
        ran = canary.exists() or any((root / "ran").iterdir())
        print(f"\ncanaries: {'CREATED - something ran a payload' if ran else 'never created'}")


if __name__ == "__main__":
    main()
