"""Label screening at scale: ``label-issues`` against the raw cleanlab pipeline, 10^4 to 10^7 rows.

The data: ``make_classification`` (20 features, 10 informative, 5 classes, one cluster per class,
``class_sep`` 1.5), 3% of the labels given a random other label (seeded), written as an ``.npz`` of
float32 features (as a user with millions of rows stores them: riskframe keeps float32 as float32).
Each measurement runs in a child process of its own; its peak memory is that of the child's
process tree (the child and every process it starts, sampled from /proc every 0.1 s and summed;
raw cleanlab's ``n_jobs=2`` workers included) and the largest of the child's own peak (``VmHWM``:
the interpreter, the libraries, the data and the work) and its waited-for children's ``ru_maxrss``:

- **riskframe**: the ``label-issues`` detector as ``riskframe assess`` runs it (the dataset read and
  validated through the artifact store, the analysis, the verdict, metrics, evidence and figures),
  its folds on every core the process may use;
- **raw cleanlab**: what a security engineer writes by hand: 5-fold logistic-regression
  out-of-fold probabilities (``cross_val_predict``, scikit-learn's defaults) and
  ``cleanlab.filter.find_label_issues``; once on one process (``n_jobs=None``), once with
  ``n_jobs=2`` (both cores for the folds).

Prints wall time, CPU time (the child and the processes it waited for), peak memory, F1 of the
flagged rows and the verdict per size; the ratio of the screen's wall time to raw cleanlab's with
``n_jobs=2``. ``--huge`` adds 10^7 rows (by hand: about 30 minutes; ``--raw-max-rows`` leaves raw
cleanlab out above a size; ``--repeat N`` measures each size N times, riskframe and raw cleanlab
in turn, for a loaded machine; ``--no-one-process`` leaves out raw cleanlab on one process).
``--lines`` shows the verdicts on both sides of the lines where the method changes with size
(the ensemble without kNN and svm above 20,000 rows; training and test samples above 50,000; the
fewest folds that hold the training sample, two from 99,999 rows, against five):
clean data, 3% random flips and 12% of one class flipped to another, each analysed both ways on
the same rows. ``--assess`` runs ``riskframe assess`` end to end on a 1,000,000-row npz with the
bundled data-poisoning policy through the command line (``--assess-rows`` other sizes), and reports
its exit code, the results and the peak memory of its process tree.

Run: ``nice -n 10 .venv/bin/python -W ignore benchmarks/scale.py [--rows 10000,100000,1000000]
[--huge] [--raw-max-rows N] [--repeat N] [--no-one-process] [--lines [--only-line I]] [--assess]
[--assess-rows 1000000,10000000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FLIPPED_SHARE = 0.03
TARGETED_SHARE = 0.12


def make_data(rows: int, seed: int = 0, flips: str = "random") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels with flips, and the indices flipped."""
    from sklearn.datasets import make_classification

    features, labels = make_classification(n_samples=rows, n_features=20, n_informative=10, n_classes=5,
                                           n_clusters_per_class=1, class_sep=1.5, flip_y=0.0, random_state=seed)
    rng = np.random.default_rng(seed + 1)
    flipped = labels.copy()
    if flips == "random":
        chosen = np.sort(rng.choice(rows, size=round(FLIPPED_SHARE * rows), replace=False))
        flipped[chosen] = (labels[chosen] + rng.integers(1, 5, size=chosen.size)) % 5
    elif flips == "targeted":  # 12% of class 0 labelled 1
        members = np.flatnonzero(labels == 0)
        chosen = np.sort(rng.choice(members, size=round(TARGETED_SHARE * members.size), replace=False))
        flipped[chosen] = 1
    else:
        chosen = np.zeros(0, dtype=np.int64)
    return features, flipped.astype(np.int64), chosen


def f1(flagged: np.ndarray, truth: np.ndarray) -> float:
    hits = np.intersect1d(flagged, truth).size
    if not hits:
        return 0.0
    precision, recall = hits / flagged.size, hits / truth.size
    return 2 * precision * recall / (precision + recall)


# -- the children -------------------------------------------------------------------------------

def child_riskframe(path: Path, out: Path) -> dict[str, object]:
    from riskframe.detectors.context import ArtifactStore, RunContext
    from riskframe.detectors.labels.label_issues import LabelIssues
    from riskframe.spec.pipeline import Artifact, Stage

    artifact = Artifact(name="train", type="dataset", path=path.name, format="npz", features="X", labels="y")
    stage = Stage(name="train", kind="data-preparation", artifacts=[artifact])
    ctx = RunContext(stage=stage, bindings={"dataset": (artifact,)}, store=ArtifactStore(path.parent), seed=0)
    detector, params = LabelIssues(), LabelIssues.Params()
    view = detector.analyse(ctx.dataset(), params, ctx.seed)
    status, _ = view.verdict(params)
    view.summary(params), view.metrics(params), view.evidence(), view.attachments(params.max_images)
    np.save(out, view.flagged)
    return {"status": status, "method": view.method}


def child_cleanlab(path: Path, out: Path, jobs: int | None) -> dict[str, object]:
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with np.load(path) as data:
        features, labels = data["X"], data["y"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probs = cross_val_predict(model, features, labels, cv=StratifiedKFold(5, shuffle=True, random_state=0),
                              method="predict_proba", n_jobs=jobs)
    np.save(out, np.flatnonzero(find_label_issues(labels, probs)))
    return {}


def child(argv: list[str]) -> None:
    kind, path, out = argv[0], Path(argv[1]), Path(argv[2])
    started = time.perf_counter()
    extra = child_riskframe(path, out) if kind == "riskframe" else child_cleanlab(path, out, int(argv[3]) or None)
    extra["seconds"] = time.perf_counter() - started
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    extra["cpu_seconds"] = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
    # This process's own peak is its VmHWM: its ru_maxrss would carry over the parent's peak (the
    # data it made), which Linux keeps across the fork and exec that started this interpreter.
    hwm = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    extra["peak_mib"] = max(hwm, children.ru_maxrss) / 1024
    print(json.dumps(extra))


class TreeMemory:
    """The largest summed RSS of a process and all its descendants, sampled every ``every`` s
    from /proc (Linux) while the process runs."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every, self.peak_mib = pid, every, 0.0
        self.largest_mib = 0.0  # the largest single process
        self.cpu: dict[int, float] = {}  # CPU seconds of each process of the tree, as last seen
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak_mib

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            pids = _tree(self.pid)
            sizes = [_rss_kib(pid) / 1024 for pid in pids]
            self.peak_mib = max(self.peak_mib, sum(sizes))
            self.largest_mib = max(self.largest_mib, *sizes)
            for pid in pids:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), _cpu_seconds(pid))

    @property
    def cpu_seconds(self) -> float:
        """CPU time of every process of the tree, up to its last sample."""
        return sum(self.cpu.values())


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        at = todo.pop()
        found.append(at)
        for task in Path(f"/proc/{at}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the task ended between the listing and the read
                todo.extend(int(c) for c in task.read_text().split())
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(kind: str, path: Path, *extra: str) -> dict[str, object]:
    out = path.with_suffix(f".{kind}.npy")
    process = subprocess.Popen([sys.executable, "-W", "ignore", __file__, "--child", kind, str(path), str(out), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = TreeMemory(process.pid)
    stdout, stderr = process.communicate()
    tree_mib = tree.stop()
    if process.returncode != 0:
        return {"error": stderr.strip().splitlines()[-1:], "seconds": float("nan"), "peak_mib": float("nan"),
                "tree_mib": tree_mib, "tree_cpu": tree.cpu_seconds}
    result: dict[str, object] = json.loads(stdout.strip().splitlines()[-1])
    result["flagged"] = np.load(out)
    result["tree_mib"], result["tree_cpu"] = tree_mib, tree.cpu_seconds
    return result


# -- the table ----------------------------------------------------------------------------------

def sizes_table(rows: list[int], folder: Path, raw_max_rows: int | None = None, repeat: int = 1,
                one_process: bool = True) -> None:
    print("Each cell: wall time (CPU time of the process tree), peak RSS of the process tree summed "
          "(the child's own peak, VmHWM); load average (1 min) before each measurement")
    print("| rows | riskframe label-issues | raw cleanlab, 1 process | raw cleanlab, n_jobs=2 | F1 riskframe / raw | "
          "riskframe / raw (n_jobs=2) wall | verdict | method |")
    print("|---|---|---|---|---|---|---|---|")
    skipped: dict[str, object] = {"skipped": True}
    for n in rows:
        features, labels, truth = make_data(n)
        path = folder / f"scale_{n}.npz"
        np.savez(path, X=features.astype(np.float32), y=labels)
        del features
        with_raw = raw_max_rows is None or n <= raw_max_rows
        for turn in range(repeat):
            # On a loaded machine the load drifts: each turn starts with the other side.
            if turn % 2:
                raw2 = _loaded(measure, "cleanlab", path, "2") if with_raw else skipped
                ours = _loaded(measure, "riskframe", path)
            else:
                ours = _loaded(measure, "riskframe", path)
                raw2 = _loaded(measure, "cleanlab", path, "2") if with_raw else skipped
            raw = _loaded(measure, "cleanlab", path, "0") if with_raw and one_process else skipped
            method = ours.get("method", {})
            shown = {k: method[k] for k in ("members", "folds", "folds_at_once", "training_rows_per_fold",
                                            "tested_rows") if isinstance(method, dict) and k in method}
            ratio = f"{ours['seconds'] / raw2['seconds']:.2f}x" if with_raw else "-"  # type: ignore[operator]
            print(f"| {n:,} | {_cell(ours)} | {_cell(raw)} | {_cell(raw2)} | "
                  f"{_f1(ours, truth)} / {_f1(raw2, truth)} | {ratio} | "
                  f"{ours.get('status', ours.get('error'))} | {json.dumps(shown)} |", flush=True)
        path.unlink()


def _loaded(fn, *args):  # type: ignore[no-untyped-def]
    """``fn(*args)`` with the load average (1 minute) at its start."""
    load = os.getloadavg()[0]
    result = fn(*args)
    result["load"] = load
    return result


def _cell(result: dict[str, object]) -> str:
    if result.get("skipped"):
        return "not run"
    cpu = result.get("tree_cpu", float("nan"))
    return (f"{result['seconds']:.1f} s ({cpu:.0f} s CPU), {result['tree_mib']:,.0f} MiB "
            f"({result['peak_mib']:,.0f}); load {result['load']:.1f}")


def _f1(result: dict[str, object], truth: np.ndarray) -> str:
    flagged = result.get("flagged")
    return "-" if flagged is None else f"{f1(np.asarray(flagged), truth):.2f}"


def lines_table(seed: int = 0, only: int | None = None) -> None:
    """Verdicts on both sides of each line where the method changes with size, on the same rows."""
    from riskframe.data.datasets import Dataset
    from riskframe.detectors.labels._scale import DEFAULT_SCALE, EVERY_ROW, Scale
    from riskframe.detectors.labels.label_issues import LabelIssues

    params = LabelIssues.Params()
    cases = [
        (f"{25_000:,} rows: ensemble without / with kNN and svm", 25_000,
         [("without", {}), ("with", {"members": ("logistic", "knn", "svm", "boosting")})]),
        (f"{200_000:,} rows: training and tests on 50,000-row samples / on every row", 200_000,
         [("samples", {"scale": DEFAULT_SCALE}), ("every row", {"scale": EVERY_ROW})]),
        (f"{200_000:,} rows: 2 folds (the fewest that hold a 50,000-row sample) / 5 folds", 200_000,
         [("2 folds", {"scale": DEFAULT_SCALE}), ("5 folds", {"scale": Scale(fewest_folds=False)})]),
    ]
    print("| line | labels | verdict, F1, estimated share, seconds: one side | the other side |")
    print("|---|---|---|---|")
    for title, n, sides in cases if only is None else cases[only:only + 1]:
        for flips in ("clean", "random", "targeted"):
            features, labels, truth = make_data(n, seed, flips)
            dataset = Dataset("scale", Path("scale.npz"), features, labels, np.arange(5))
            cells = []
            for name, options in sides:
                started = time.perf_counter()
                view = LabelIssues().analyse(dataset, params, seed, **options)  # type: ignore[arg-type]
                status, _ = view.verdict(params)
                seconds = time.perf_counter() - started
                score = f"F1 {f1(view.flagged, truth):.2f}" if truth.size else f"flags {view.flagged.size}"
                cells.append(f"{name}: {status}, {score}, {view.fraction[0]:.2%}, {seconds:.0f} s")
            print(f"| {title} | {flips} | {' | '.join(cells)} |", flush=True)


def assess_once(rows: int, folder: Path) -> None:
    """``riskframe assess`` on a ``rows``-row npz through the command line: exit code, time, memory."""
    features, labels, _ = make_data(rows)
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    np.savez(data / "train.npz", X=features.astype(np.float32), y=labels)
    del features
    (folder / "pipeline.yaml").write_text(
        "apiVersion: riskframe/v1\nkind: Pipeline\nmetadata: {name: scale, owner: ml@example.org}\nstages:\n"
        "  - name: prepare\n    kind: data-preparation\n    artifacts:\n"
        "      - {name: train, type: dataset, path: data/train.npz, format: npz, features: X, labels: y}\n")
    riskframe = Path(sys.executable).with_name("riskframe")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen([str(riskframe), "assess", str(folder / "pipeline.yaml"), "--policy",
                                str(ROOT / "policies/data-poisoning.yaml"), "--out", str(folder / "out"), "--format",
                                "json", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = TreeMemory(process.pid)
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    tree.stop()
    statuses = ""
    report = folder / "out" / "assessment.json"
    if report.exists():
        results = json.loads(report.read_text())["results"]
        statuses = "; ".join(f"{r['control']}: {r['status']}{_took(r)}" for r in results)
    print(f"riskframe assess, {rows:,} rows, data-poisoning policy (load {load:.1f}): exit {process.returncode}, "
          f"{seconds:.0f} s, {tree.cpu_seconds:.0f} s CPU; process tree {tree.peak_mib:,.0f} MiB, its largest "
          f"process {tree.largest_mib:,.0f} MiB; {statuses}\n", flush=True)
    if process.returncode not in (0, 1):
        print(stderr[-2000:])


def _took(result: dict[str, object]) -> str:
    seconds = result.get("duration_s")
    return f" ({seconds:.0f} s)" if isinstance(seconds, float | int) else ""


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000", help="comma-separated dataset sizes")
    parser.add_argument("--huge", action="store_true", help="add 10,000,000 rows (by hand: about 30 minutes)")
    parser.add_argument("--raw-max-rows", type=int, default=None, help="raw cleanlab only up to this many rows")
    parser.add_argument("--assess-rows", default="1000000", help="comma-separated sizes for --assess")
    parser.add_argument("--lines", action="store_true", help="verdicts on both sides of each line")
    parser.add_argument("--only-line", type=int, default=None, help="with --lines: only this line (0, 1, 2)")
    parser.add_argument("--assess", action="store_true", help="riskframe assess on 1,000,000 rows, end to end")
    parser.add_argument("--skip-sizes", action="store_true", help="only --lines and --assess")
    parser.add_argument("--repeat", type=int, default=1, help="measure each size this many times, in turn")
    parser.add_argument("--no-one-process", action="store_true", help="leave out raw cleanlab on one process")
    args = parser.parse_args()
    rows = [int(r) for r in args.rows.split(",")] + ([10_000_000] if args.huge else [])
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.assess:
            for n in (int(r) for r in args.assess_rows.split(",")):
                assess_once(n, Path(tmp) / f"assess-{n}")
        if not args.skip_sizes:
            sizes_table(rows, Path(tmp), args.raw_max_rows, args.repeat, not args.no_one_process)
        if args.lines:
            print()
            lines_table(only=args.only_line)


if __name__ == "__main__":
    main()
