"""Drift detection at every sample size: riskframe's ``drift`` next to raw scipy and Evidently.

    nice -n 10 python benchmarks/drift.py [--runs 200] [--evidently-runs 20] [--quick] [--from-cell K]
        [--evidently-max-cells N] [--cell SCENARIO:N:COLUMNS ...] [--methods riskframe,scipy,evidently]

Each run draws a reference and a current sample of ``n`` rows (both fresh, so the reference's own
noise is part of what a test must tolerate) with 1 column (numeric) or 50 (40 numeric standard
normal, 10 categorical of 5 values with shares 40/30/15/10/5%), and labels of two classes at 50%.
Scenarios: ``unchanged``; ``0.5 sd`` (the first numeric column's mean moves by half a standard
deviation); ``0.02 sd`` (by a fiftieth: statistically real at large n, practically nothing).

Methods, on the same data in the same run:

- ``riskframe``: the ``drift`` detector's statistics with its defaults (alpha 0.05, Holm over every
  column, each class's columns and the labels, min_effect 0.1): the profile of the reference, then
  the current table against it. An alarm: any change reported.
- ``scipy``: raw two-sample tests per column at p < 0.05, no correction (KS for numeric columns,
  chi-squared on the value counts for categorical ones). An alarm: any column flagged.
- ``Evidently``: ``DataDriftPreset()`` with its defaults (KS / chi-squared at n <= 1000, normed
  Wasserstein / Jensen-Shannon at 0.1 above). Its dataset-level verdict (``dataset drift``: at least
  half the columns drifted) and, as a second reading, any column drifted.

The table gives the alarm rate per cell with a 95% Wilson interval, and seconds per run. Needs the
``bench`` extra for Evidently (``pip install -e '.[bench]'``); without it the Evidently columns are
left empty.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskframe.data.tables import Column, Table
from riskframe.detectors.drift.compare import compare_table
from riskframe.detectors.drift.profile import profile_table

CATEGORIES = ("a", "b", "c", "d", "e")
SHARES = (0.40, 0.30, 0.15, 0.10, 0.05)
SIZES = (500, 5_000, 50_000, 500_000)
SCENARIOS = {"unchanged": 0.0, "0.5 sd": 0.5, "0.02 sd": 0.02}


@dataclass
class Sample:
    numeric: np.ndarray  # (n, k) float
    categorical: np.ndarray  # (n, m) int codes into CATEGORIES
    labels: np.ndarray

    def table(self) -> Table:
        columns = [Column(f"x{j}", self.numeric[:, j]) for j in range(self.numeric.shape[1])]
        columns += [Column(f"c{j}", self.categorical[:, j].astype(np.int64), CATEGORIES)
                    for j in range(self.categorical.shape[1])]
        return Table("bench", Path("bench.npz"), tuple(columns), self.labels, self.labels.size)

    def frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd

        data = {f"x{j}": self.numeric[:, j] for j in range(self.numeric.shape[1])}
        data |= {f"c{j}": np.asarray(CATEGORIES)[self.categorical[:, j]] for j in range(self.categorical.shape[1])}
        return pd.DataFrame(data)


def draw(rng: np.random.Generator, n: int, columns: int, shift: float = 0.0) -> Sample:
    numeric_count, categorical_count = (1, 0) if columns == 1 else (40, 10)
    numeric = rng.standard_normal((n, numeric_count))
    numeric[:, 0] += shift
    categorical = rng.choice(len(CATEGORIES), size=(n, categorical_count), p=SHARES)
    return Sample(numeric, categorical, rng.integers(0, 2, n))


# The methods: each returns whether it raised a dataset-level alarm (and a second reading) ----------

def riskframe_alarm(reference: Sample, current: Sample) -> tuple[bool, bool]:
    report = compare_table(profile_table(reference.table()), current.table())
    return report.drifted, report.drifted


def scipy_alarm(reference: Sample, current: Sample) -> tuple[bool, bool]:
    from scipy.stats import chi2_contingency, ks_2samp

    flags = [ks_2samp(reference.numeric[:, j], current.numeric[:, j]).pvalue < 0.05
             for j in range(reference.numeric.shape[1])]
    for j in range(reference.categorical.shape[1]):
        table = np.array([np.bincount(s.categorical[:, j], minlength=len(CATEGORIES)) for s in (reference, current)])
        flags.append(chi2_contingency(table[:, table.sum(axis=0) > 0]).pvalue < 0.05)
    return any(flags), any(flags)


def evidently_alarm(reference: Sample, current: Sample) -> tuple[bool, bool]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = reference.frame(), current.frame()
    definition = DataDefinition(numerical_columns=[c for c in ref.columns if c.startswith("x")],
                                categorical_columns=[c for c in ref.columns if c.startswith("c")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=definition),
                                                   Dataset.from_pandas(ref, data_definition=definition))
    drifted = snapshot.dict()["metrics"][0]["value"]  # DriftedColumnsCount(drift_share=0.5)
    return bool(drifted["share"] >= 0.5), bool(drifted["count"] > 0)


METHODS: dict[str, Callable[[Sample, Sample], tuple[bool, bool]]] = {
    "riskframe": riskframe_alarm, "scipy": scipy_alarm, "evidently": evidently_alarm,
}


@dataclass
class Tally:
    runs: int = 0
    alarms: int = 0
    second: int = 0
    seconds: float = 0.0

    def rate(self, second: bool = False) -> str:
        if self.runs == 0:
            return "-"
        hits = self.second if second else self.alarms
        low, high = wilson(hits, self.runs)
        return f"{hits / self.runs:.1%} [{low:.0%}, {high:.0%}]"


def wilson(hits: int, runs: int, z: float = 1.96) -> tuple[float, float]:
    p = hits / runs
    centre = (p + z * z / (2 * runs)) / (1 + z * z / runs)
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs)) / (1 + z * z / runs)
    return max(0.0, centre - half), min(1.0, centre + half)


def runs_for(n: int, columns: int, budget: int, least: int = 10) -> int:
    """Fewer runs where one run is slow: half at 50,000 x 50 and 500,000 x 1, an eighth at 500,000 x 50."""
    cells = n * columns
    return max(least, budget if cells <= 250_000 else budget // 2 if cells <= 2_500_000 else budget // 8)


def cells(quick: bool) -> list[tuple[str, int, int]]:
    sizes = SIZES[:2] if quick else SIZES
    out = [(s, n, d) for s in ("unchanged", "0.5 sd") for n in sizes for d in (1, 50)]
    out += [("0.02 sd", sizes[-1], d) for d in (1, 50)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per cell of riskframe and scipy (fewer at 500k)")
    parser.add_argument("--evidently-runs", type=int, default=20, help="runs per cell of Evidently (fewer at 500k)")
    parser.add_argument("--quick", action="store_true", help="n = 500 and 5,000 only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--from-cell", type=int, default=0, metavar="K",
                        help="start at the K-th row of the table (0-based), e.g. to finish an interrupted run")
    parser.add_argument("--evidently-max-cells", type=int, default=25_000_000, metavar="N",
                        help="leave Evidently out of cells of more than N rows x columns (several minutes a run at "
                             "500,000 x 50 here)")
    parser.add_argument("--cell", action="append", default=[], metavar="SCENARIO:N:COLUMNS",
                        help="only this cell, e.g. 'unchanged:500:50' (repeatable)")
    parser.add_argument("--methods", default="riskframe,scipy,evidently", help="comma-separated methods to run")
    args = parser.parse_args()
    chosen = [m.strip() for m in args.methods.split(",")]
    if unknown := [m for m in chosen if m not in METHODS]:
        parser.error(f"--methods: unknown {', '.join(unknown)} (choose from {', '.join(METHODS)})")
    for name in [m for m in METHODS if m not in chosen]:
        del METHODS[name]
    try:
        wanted = [(s, int(n), int(d)) for s, n, d in (c.split(":") for c in args.cell)]
    except ValueError:
        parser.error("--cell: expected SCENARIO:N:COLUMNS, e.g. 'unchanged:500:50'")
    if [d for _, _, d in wanted if d not in (1, 50)]:
        parser.error("--cell: COLUMNS is 1 or 50")
    if unknown := [s for s, _, _ in wanted if s not in SCENARIOS]:
        parser.error(f"--cell: unknown scenario {', '.join(unknown)} (choose from {', '.join(SCENARIOS)})")
    try:
        import evidently  # noqa: F401
        evidently_ok = "evidently" in METHODS
    except ImportError:
        evidently_ok = False
    rng = np.random.default_rng(args.seed if args.from_cell == 0 else [args.seed, args.from_cell])
    print("| scenario | n | columns | runs (rf / scipy / Ev.) | riskframe | scipy KS/chi2, any column | "
          "Evidently dataset drift | Evidently any column | s/run riskframe | s/run Evidently |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for scenario, n, columns in wanted or cells(args.quick)[args.from_cell:]:
        runs = runs_for(n, columns, args.runs)
        # Evidently takes about 45 s a run at 50,000 x 50 and several minutes at 500,000 x 50 here
        ev_runs = (runs_for(n, columns, args.evidently_runs // 2, least=1) if n * columns > 250_000
                   else args.evidently_runs) if evidently_ok else 0
        ev_runs = min(ev_runs, runs) if n * columns <= args.evidently_max_cells else 0
        tallies = {name: Tally() for name in ("riskframe", "scipy", "evidently")}
        for run in range(runs):
            reference, current = draw(rng, n, columns), draw(rng, n, columns, SCENARIOS[scenario])
            for name, method in METHODS.items():
                if name == "evidently" and run >= ev_runs:
                    continue
                started = time.perf_counter()
                first, second = method(reference, current)
                tally = tallies[name]
                tally.seconds += time.perf_counter() - started
                tally.runs += 1
                tally.alarms += first
                tally.second += second
        rf, sp, ev = tallies["riskframe"], tallies["scipy"], tallies["evidently"]
        rf_time = f"{rf.seconds / rf.runs:.2f}" if rf.runs else "-"
        ev_time = f"{ev.seconds / ev.runs:.2f}" if ev.runs else "-"
        print(f"| {scenario} | {n:,} | {columns} | {rf.runs} / {sp.runs} / {ev.runs} | {rf.rate()} | {sp.rate()} | "
              f"{ev.rate()} | {ev.rate(second=True)} | {rf_time} | {ev_time} |", flush=True)


if __name__ == "__main__":
    main()
