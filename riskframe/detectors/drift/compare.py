"""Drift of a table against its reference profile, per column, per class and in the labels: pure.

Every comparison is a chi-squared test of homogeneity on counts (:mod:`.stats`): a numeric column
over the reference's deciles (the whole table's, or each class's own), a categorical one over its
domain plus one cell for values the reference never had, the labels over the classes. A change is
*reported* only when it is both

- **significant** after a multiple-testing correction over every test of the table (Holm by
  default: unchanged data raises an alarm in at most ``alpha`` of tables, however many columns and
  classes; or Benjamini-Hochberg), and
- **practically large**: its effect (Cohen's w, about the mean shift in reference standard
  deviations for a numeric column) reaches ``min_effect``, so that a trivial shift is not reported
  however large the sample.

Each column's reported changes are then read as the forensic answer reads them:

- **class-conditional**: the column moved in some classes and the other classes together did not
  move (their pooled effect is under ``min_effect``); a shift confined to some
  classes is what poisoning looks like (ATLAS AML.T0020);
- **global**: the column moved in the table as a whole, or in every class, or in the other classes
  too: ordinary drift;
- **label shift** is tested on its own: classes whose share changed. A column that moved in the
  table but in no class, while the labels shifted, is explained by the label shift.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from riskframe.data.tables import Column, Table
from riskframe.detectors.drift.profile import ColumnProfile, ColumnStats, Profile, bin_counts, domain_counts
from riskframe.detectors.drift.stats import Comparison, Correction, adjust_p_values, compare_counts, detectable_effect

Pattern = Literal["global", "class-conditional", "explained-by-label-shift"]


@dataclass(frozen=True)
class DriftTest:
    """One comparison: a column in the whole table (``label`` None) or in one class, or the labels
    (``column`` None)."""

    column: str | None
    label: int | None
    comparison: Comparison
    mean_shift_sd: float | None = None
    p_adjusted: float = 1.0
    detectable: float = float("inf")
    reported: bool = False


@dataclass(frozen=True)
class ColumnDrift:
    """A column with reported changes, read as a pattern."""

    column: str
    pattern: Pattern
    effect: float  # the whole table's (0 when only classes moved)
    classes: tuple[int, ...]  # the classes in which it moved
    class_effects: dict[int, float]
    others_effect: float  # the other classes' effect together


@dataclass
class DriftReport:
    tests: list[DriftTest]
    columns: list[ColumnDrift]
    label_test: DriftTest | None
    untested: dict[str, str] = field(default_factory=dict)  # column -> why not
    alpha: float = 0.05
    min_effect: float = 0.1

    @property
    def label_shift(self) -> bool:
        return self.label_test is not None and self.label_test.reported

    @property
    def drifted(self) -> bool:
        return bool(self.columns) or self.label_shift

    @property
    def detection_limit(self) -> float:
        """The largest detection limit of the whole-table column tests: a shift of this effect in any
        one column would be found with 80% probability (inf when no column could be tested). Columns
        constant in the reference and the data are left out: their only possible change, a new
        value, is ``data-schema``'s to report."""
        limits = [t.detectable for t in self.tests if t.label is None and t.column is not None and t.comparison.df]
        return max(limits) if limits else float("inf")

    @property
    def max_effect(self) -> float:
        return max((t.comparison.effect for t in self.tests if t.reported), default=0.0)


def compare_table(profile: Profile, table: Table, *, alpha: float = 0.05, min_effect: float = 0.1,
                  correction: Correction = "holm", per_class: bool = True) -> DriftReport:
    """Test ``table`` against ``profile``: every column, every class's columns, the labels.

    Examples
    --------
    >>> report = compare_table(profile, table)  # doctest: +SKIP
    >>> [(c.column, c.pattern, c.classes) for c in report.columns]  # doctest: +SKIP
    [('X[27]', 'class-conditional', (3,))]
    """
    untested: dict[str, str] = {}
    raw: list[DriftTest] = []
    class_rows = _class_rows(profile, table) if per_class else {}
    by_name = {c.name: c for c in table.columns}
    for position, column_profile in enumerate(profile.columns):
        column = by_name.get(column_profile.name)
        why = _untestable(column_profile, column)
        if why is not None:
            untested[column_profile.name] = why
            continue
        assert column is not None
        raw.append(_test(column_profile, column_profile, column))
        for cls in profile.classes:
            if cls.label in class_rows:
                member = Column(column.name, column.values[class_rows[cls.label]], column.categories)
                raw.append(_test(column_profile, cls.columns[position], member, cls.label))
    label_test = _label_test(profile, table)
    if label_test is not None:
        raw.append(label_test)
    tests = _decide(raw, alpha, min_effect, correction)
    label_test = next((t for t in tests if t.column is None), None)
    report = DriftReport(tests, [], label_test, untested, alpha, min_effect)
    report.columns = list(_patterns(report, profile))
    return report


def _untestable(profile: ColumnProfile, column: Column | None) -> str | None:
    if column is None:
        return "missing from the data"
    if profile.kind == "free-text":
        return "free text (no domain to compare)"
    if (profile.type == "text") != column.is_text:
        return f"was {profile.type}, is now {'text' if column.is_text else 'numbers'}"
    if profile.kind == "numeric" and profile.numbers is None:
        return "had no values in the reference"
    return None


def _class_rows(profile: Profile, table: Table) -> dict[int, np.ndarray]:
    if table.labels is None or not profile.classes:
        return {}
    return {cls.label: table.labels == cls.label for cls in profile.classes}


def _test(column_profile: ColumnProfile, reference: ColumnStats, column: Column, label: int | None = None) -> DriftTest:
    """One column (or one class's part of it) against its reference statistics."""
    present = column.values[~column.missing]
    if column_profile.kind == "categorical" and reference.domain is not None:
        counts = domain_counts(column, reference.domain.values)
        ref = np.append(reference.domain.counts, 0)  # the last cell: values the reference never had
        new = np.append(counts, present.size - counts.sum())
        return DriftTest(column.name, label, compare_counts(ref, new, ordered=False))
    if reference.numbers is None:  # a class with no values of this column in the reference
        return DriftTest(column.name, label, compare_counts(np.zeros(1), np.array([present.size]), ordered=True))
    numbers = reference.numbers
    new = bin_counts(present, numbers.bins.edges)
    shift = ((float(present.mean()) - numbers.mean) / numbers.std
             if present.size and numbers.std > 0 else None)
    return DriftTest(column.name, label, compare_counts(np.asarray(numbers.bins.counts), new, ordered=True), shift)


def _label_test(profile: Profile, table: Table) -> DriftTest | None:
    if profile.labels is None or table.labels is None:
        return None
    known = list(profile.labels.values)
    values, counts = np.unique(table.labels, return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    new_labels = [v for v in found if v not in known]
    ref = np.array([*profile.labels.counts, *([0] * len(new_labels))])
    cur = np.array([found.get(v, 0) for v in known + new_labels])
    return DriftTest(None, None, compare_counts(ref, cur, ordered=False))


def _decide(tests: list[DriftTest], alpha: float, min_effect: float, correction: Correction) -> list[DriftTest]:
    adjusted = adjust_p_values(np.array([t.comparison.p_value for t in tests]), correction)
    level = alpha / max(1, len(tests))  # the level the first (smallest) p-value meets under Holm and BH
    decided = []
    for test, p in zip(tests, adjusted, strict=True):
        c = test.comparison
        limit = _limit(c.n_reference, c.n_new, c.df, level) if c.df else float("inf")
        reported = bool(p <= alpha and c.effect >= min_effect)
        decided.append(DriftTest(test.column, test.label, c, test.mean_shift_sd, float(p), limit, reported))
    return decided


@lru_cache(maxsize=4096)
def _limit(n_reference: int, n_new: int, df: int, level: float) -> float:
    return detectable_effect(n_reference, n_new, df, level)


def _patterns(report: DriftReport, profile: Profile) -> Iterator[ColumnDrift]:
    by_column: dict[str, list[DriftTest]] = {}
    for test in report.tests:
        if test.column is not None:
            by_column.setdefault(test.column, []).append(test)
    n_classes = len(profile.classes)
    for column, tests in by_column.items():
        whole = next(t for t in tests if t.label is None)
        per_class = [t for t in tests if t.label is not None]
        moved = tuple(t.label for t in per_class if t.reported and t.label is not None)
        if not whole.reported and not moved:
            continue
        effects = {t.label: round(t.comparison.effect, 4) for t in per_class if t.label is not None}
        others = pooled_effect([t.comparison for t in per_class if t.label not in moved])
        if moved and len(moved) < n_classes and others < report.min_effect:
            pattern: Pattern = "class-conditional"
        elif whole.reported and not moved and report.label_shift:
            pattern = "explained-by-label-shift"
        else:
            pattern = "global"
        yield ColumnDrift(column, pattern, round(whole.comparison.effect, 4) if whole.reported else 0.0, moved,
                          effects, round(others, 4))


def pooled_effect(comparisons: list[Comparison]) -> float:
    """Cohen's w of several groups together: the ``n_eff``-weighted mean of their unbiased ``w^2``
    estimates (``(X^2 - df) / n_eff``, negative ones kept, so noise averages out rather than adds up)."""
    usable = [c for c in comparisons if c.df > 0]
    weight = sum(c.n_eff for c in usable)
    if weight == 0:
        return 0.0
    return float(np.sqrt(max(0.0, sum(c.statistic - c.df for c in usable) / weight)))
