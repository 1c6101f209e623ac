"""Can a label check vouch for this data at all? Reasons it cannot, in words.

A label-flip screen judges each label by what models trained on the *other* samples predict for
it. That says nothing when

- the models learnt nothing: scrambled labels, or features that carry no information about them,
  leave out-of-fold accuracy at the rate of always guessing the largest class, and no single label
  then looks more wrong than another (a dataset with every label randomised would pass);
- a feature column *is* the label: the models read it and agree with every flip;
- a feature column numbers the rows: the models learn the file's order, and in a file sorted by
  label (or by outcome, as a survival table often is) its stretches read as the labels;
- a feature column numbers entities (patients, households) whose rows stand together: split across
  folds, one row's label is read off the other rows of its entity (:func:`entity_numbers`).

Exact duplicate rows are the opposite problem, solved in the folds rather than reported: a copy
of a flipped row in a training fold vouches for the flip, so identical rows are kept in one fold
(:func:`duplicate_groups`), unless a group is too large for one (:func:`fold_groups`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Agreement:
    """How well out-of-fold predictions match the given labels, and what chance would give."""

    accuracy: float  # out-of-fold accuracy of the averaged probabilities
    majority: float  # share of the largest class: the accuracy of always guessing it
    p_value: float  # no class's probability ranks its rows above the others (see agreement)

    def doubt(self, alpha: float) -> str:
        """Why the labels cannot be judged at all ('' when they can).

        Disagreement alone is no reason: classes that overlap disagree with any model, and the
        label screen measures that overlap (:mod:`riskframe.detectors.labels._natural`).

        >>> Agreement(0.12, 0.10, 0.2).doubt(0.001)[:58]
        'The models learnt nothing from the features about the labe'
        """
        if self.p_value <= alpha:
            return ""
        return (f"The models learnt nothing from the features about the labels (their out-of-fold probabilities "
                f"rank the labels no better than chance; accuracy {self.accuracy:.1%}, always guessing "
                f"the largest class {self.majority:.1%}): the labels are scrambled, the features carry no label "
                "information, or most of a class's labels were changed (flips poured into a small class can do "
                "that), so no flip can be told apart and the labels cannot be vouched for.")


# Above this many pairs of rows the Kolmogorov-Smirnov p-value is the asymptotic one: the exact one
# costs a second or more there, and scipy gives up on it with a warning.
KS_EXACT_MAX_PAIRS = 10**7
# A Mann-Whitney p-value (Bonferroni's) below this settles that the models learnt something.
KS_NEEDLESS_BELOW = 1e-6


def agreement(labels: np.ndarray, probs: np.ndarray) -> Agreement:
    """:class:`Agreement` of out-of-fold ``probs`` (N, K) with class codes ``labels`` (N,).

    The test asks whether the probabilities carry anything about the labels: for each class, are
    the rows labelled with it given a higher probability of it than the other rows? Two one-sided
    tests of that, Bonferroni over both and the classes (one class for two):

    - Mann-Whitney U sees a class whose rows lean to it as a whole;
    - Kolmogorov-Smirnov sees a class only part of whose rows the models are sure of: flips poured
      into a small class until most of its labels are wrong leave its true rows plainly ranked and
      the flips among the other class's rows (Boston's Charles River dummy, 57 flips into a class
      of 35: p = 0.010 with Mann-Whitney alone, 0.0007 with both; clean Heating, whose models
      learn little: 0.065, still nothing).

    Not accuracy against the largest class: on a dataset of one class to twenty, models that rank
    most of the small class first are barely more accurate than always guessing the large one
    (94.7% against 92.0% on breast cancer with 4% of the labels flipped), and on a choice dataset
    whose models never predict a small class their probabilities may still rank it.
    """
    n = labels.size
    counts = np.bincount(labels, minlength=probs.shape[1])
    majority = float(counts.max() / n)
    accuracy = float(np.mean(probs.argmax(axis=1) == labels))
    # With two classes the tests of the second are the first's: each row's probabilities sum to one,
    # so one class's values are the other's reversed (counting them twice halved the tests' power:
    # 43 flips poured into a class of 17 read as 'learnt nothing' at p = 0.010).
    classes = [c for c in range(1 if probs.shape[1] == 2 else probs.shape[1]) if 0 < counts[c] < n]
    tests = 2 * len(classes)  # Bonferroni: both tests of every class
    p_values = [_ranked_higher(labels, probs, c, "mann-whitney") for c in classes]
    # Kolmogorov-Smirnov only where Mann-Whitney leaves doubt: on data the models learnt from,
    # its p-value is far below any alpha, and at a million rows the second test's sorts would
    # cost a second of CPU.
    if p_values and tests * min(p_values) > KS_NEEDLESS_BELOW:
        p_values += [_ranked_higher(labels, probs, c, "kolmogorov-smirnov") for c in classes]
    p_value = min(1.0, tests * min(p_values)) if p_values else 1.0
    return Agreement(accuracy, majority, p_value)


def _ranked_higher(labels: np.ndarray, probs: np.ndarray, c: int,
                   test: Literal["mann-whitney", "kolmogorov-smirnov"]) -> float:
    """p-value of the one-sided ``test`` that the rows labelled ``c`` get higher probabilities of it
    than the other rows."""
    from scipy.stats import ks_2samp, mannwhitneyu

    labelled = labels == c
    mine, others = probs[labelled, c], probs[~labelled, c]  # copies, sorted in place
    # The tests read only ranks, which the order within a sample leaves alone; scipy's stable sort
    # of the two joined then merges two runs (a million rows: 1.0 s of CPU for the five classes'
    # Mann-Whitney, 0.3 s sorted; the same statistics and p-values).
    mine.sort()
    others.sort()
    if test == "mann-whitney":
        return float(mannwhitneyu(mine, others, alternative="greater").pvalue)
    # "less": the class's own rows have the lower distribution function, so the higher values.
    exact = mine.size * others.size <= KS_EXACT_MAX_PAIRS
    return float(ks_2samp(mine, others, alternative="less", method="exact" if exact else "asymp").pvalue)


# Rows a column's values are first looked at (see label_copies and row_numbers).
_PREFIX_ROWS = 4_096
# Rows hashed at once (see _may_repeat).
_HASH_ROWS = 16_384


def label_copies(features: np.ndarray, labels: np.ndarray) -> list[int]:
    """Feature columns that determine the label: each of their values goes with one label only,
    and they take no more values than there are labels (a copy or a recoding of the label, not a
    continuous feature that happens to be unique per row).

    >>> label_copies(np.array([[0.3, 7.0], [0.1, 1.0], [0.2, 7.0]]), np.array([1, 0, 1]))
    [1]
    """
    n_labels = np.unique(labels).size
    copies = []
    for column in range(features.shape[1]):
        # A column with more values than labels in its first rows already is no copy: that look
        # spares sorting a million-row column that is plainly continuous.
        if np.unique(features[:_PREFIX_ROWS, column]).size > n_labels:
            continue
        values, codes = np.unique(features[:, column], return_inverse=True)
        if values.size > n_labels or values.size < 2:
            continue
        pairs = np.unique(codes.ravel() * n_labels + labels)
        if pairs.size == values.size:  # no value of this column goes with two labels
            copies.append(column)
    return copies


def row_numbers(features: np.ndarray) -> list[int]:
    """Feature columns that number the rows: ``k, k+1, k+2, ...`` down the file, a row index or an
    id written out with the data.

    Such a column tells the models where a row sits in the file, nothing about the sample. In a
    file sorted by outcome it reads as the labels in stretches, and the labels that break a
    stretch look flipped: a table of residents' deaths whose ``obs`` column counts its rows fails
    the label screen with it (31 labels, p = 3e-6) and shows no sign of flips without it.

    >>> row_numbers(np.array([[1.0, 0.5], [2.0, 0.1], [3.0, 0.9]]))
    [0]
    >>> row_numbers(np.array([[1.0], [3.0], [2.0]]))
    []
    """
    return _columns_where(features, lambda values, whole: np.array_equal(values - values[0], np.arange(values.size)))


# What makes a column an entity number (see entity_numbers): at least this many entities, at most
# this many rows each on average, steps of 0 or 1 between consecutive rows at least this often,
# and at least this share of the numbers from the first to the last in use.
ENTITY_MIN_COUNT = 20
ENTITY_MAX_MEAN_ROWS = 10
ENTITY_MIN_UNIT_STEPS = 0.95
ENTITY_MIN_COVERAGE = 0.9


def entity_numbers(features: np.ndarray) -> list[int]:
    """Feature columns that number entities in file order: ``1, 1, 2, 2, 2, 3, ...``, the id of a
    patient, household or tree whose rows stand together, the table sorted by it.

    The rows of one entity share much of what the label depends on (a patient's treatment arm is
    on both of the patient's rows). Split across folds, one row's label is read off the other's,
    through the id itself or the features the rows share: a randomised trial with two rows per
    patient and its patient ``id`` as a feature failed the label screen with "labels changed at
    random in 17.6%"; with each patient's rows in one fold, the models learnt nothing about the
    arm, as they should. Such a column keeps its entities' rows together in the folds and is left
    out of the models.

    What counts: whole numbers from 0 or 1, never decreasing down the file, consecutive rows
    stepping by 0 or 1 (:data:`ENTITY_MIN_UNIT_STEPS`: rows left out for missing values leave a few
    larger steps) through most numbers up to the last (:data:`ENTITY_MIN_COVERAGE`), at least
    :data:`ENTITY_MIN_COUNT` of them, with some rows sharing one and at most
    :data:`ENTITY_MAX_MEAN_ROWS` rows a number on average. Of the 174 clean tables of
    benchmarks/clean_sweep.py, 19 have such a column, every one an id (subject, litter, tree,
    household, patent); a table sorted by age does not count (ages start above 1, and 43 ages over
    53 years leave too many out).

    >>> ids = np.repeat(np.arange(1.0, 31.0), 2)
    >>> entity_numbers(np.column_stack([np.linspace(0, 1, ids.size), ids]))
    [1]
    >>> entity_numbers(np.arange(1.0, 61.0)[:, None])  # a row number: see row_numbers
    []
    """
    return _columns_where(features, _counts_entities)


def _counts_entities(values: np.ndarray, whole: bool) -> bool:
    """:func:`entity_numbers`' test of one column's ``values``; of its first rows only (not
    ``whole``), without the count of entities, which the rest of the column adds to."""
    if values[0] not in (0, 1):
        return False
    steps = np.diff(values)
    if (steps < 0).any() or not (steps == 0).any() or (values != np.round(values)).any():
        return False
    distinct = int((steps != 0).sum()) + 1  # sorted: a new number at every step that is not 0
    return ((not whole or distinct >= ENTITY_MIN_COUNT)
            and values.size / distinct <= ENTITY_MAX_MEAN_ROWS
            and float(((steps == 0) | (steps == 1)).mean()) >= ENTITY_MIN_UNIT_STEPS
            and distinct / (float(values[-1] - values[0]) + 1.0) >= ENTITY_MIN_COVERAGE)


def _columns_where(features: np.ndarray, holds: Callable[[np.ndarray, bool], bool]) -> list[int]:
    """Feature columns whose values ``holds(values, whole)`` accepts, with at least two rows. Each
    column's first rows are looked at first (``whole`` False unless they are every row): a
    measurement shows itself there, sparing a pass over a million rows."""
    n = features.shape[0]
    if n < 2:
        return []
    whole = n <= _PREFIX_ROWS
    return [column for column in range(features.shape[1])
            if holds(features[:_PREFIX_ROWS, column], whole) and (whole or holds(features[:, column], True))]


def duplicate_groups(features: np.ndarray) -> np.ndarray | None:
    """One group id per row, equal for identical rows; ``None`` when every row is unique."""
    if not _may_repeat(features):
        return None
    rows = np.ascontiguousarray(features).view(np.dtype((np.void, features.dtype.itemsize * features.shape[1])))
    _, groups = np.unique(rows.ravel(), return_inverse=True)
    return None if np.unique(groups).size == features.shape[0] else groups.ravel()


def _may_repeat(features: np.ndarray) -> bool:
    """False when no two rows can be identical: their 64-bit hashes all differ (a sort of N
    integers, where sorting N rows as bytes takes seconds at a million rows). Rows of 8- or 4-byte
    values (float64, float32) are hashed; others are assumed to repeat."""
    words = {8: np.uint64, 4: np.uint32}.get(features.dtype.itemsize)
    if words is None or features.ndim != 2:
        return True
    bits = features.view(words) if features.flags.c_contiguous else np.ascontiguousarray(features).view(words)
    digest = np.zeros(features.shape[0], dtype=np.uint64)
    # A slice of rows at a time, whose digests stay in the cache across the columns (a million
    # rows of 20 columns: 0.08 s at once, 0.03 s in slices; the same digests).
    for start in range(0, digest.size, _HASH_ROWS):
        part, rows = digest[start:start + _HASH_ROWS], bits[start:start + _HASH_ROWS]
        for column in range(bits.shape[1]):  # FNV-style: multiply, then mix in the column's bits
            part *= np.uint64(0x100000001B3)
            part ^= rows[:, column]
    digest.sort()
    return bool((digest[1:] == digest[:-1]).any())


def joined_groups(duplicates: np.ndarray | None, entities: np.ndarray | None) -> np.ndarray | None:
    """Groups of rows that must be judged together: identical rows, and the rows of one declared
    entity, joined (two entities sharing an identical row become one group)."""
    if duplicates is None or entities is None:
        return entities if duplicates is None else duplicates
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = duplicates.size
    # Rows are nodes 0..n-1; each duplicate group and each entity is one more node linked to its rows.
    _, dup = np.unique(duplicates, return_inverse=True)
    _, ent = np.unique(entities, return_inverse=True)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    hubs = np.concatenate([n + dup.ravel(), n + dup.max() + 1 + ent.ravel()])
    size = int(hubs.max()) + 1
    graph = coo_matrix((np.ones(rows.size), (rows, hubs)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels[:n], dtype=np.int64)


def fold_groups(joined: np.ndarray | None, entities: np.ndarray | None, max_rows: int) -> np.ndarray | None:
    """The groups the folds keep together: ``joined`` (:func:`joined_groups`), except that a group of
    more than ``max_rows`` rows (a fold's share) is split back into its declared entities, or into
    single rows when none are declared.

    Such a group cannot sit in one fold without leaving the others nearly empty, and the models
    then learn nothing: purchases that share a week's prices link every household of a brand-choice
    panel into one group (13,701 of 13,705 rows), and a table of three categorical columns has
    twelve distinct rows. Declared entities still never straddle folds; copies of a row may, so
    in such a group the training folds hold copies of the row's own label (the other rows of the
    group stay ambiguity, which is judged on ``joined``).
    """
    if joined is None:
        return None
    _, codes, sizes = np.unique(joined, return_inverse=True, return_counts=True)
    split = sizes[codes.ravel()] > max_rows
    if not split.any():
        return joined
    if entities is None:
        parts = np.arange(joined.size)
    else:
        _, parts = np.unique(entities, return_inverse=True)
    groups = np.asarray(joined, dtype=np.int64).copy()
    groups[split] = int(groups.max()) + 1 + parts.ravel()[split]  # new ids, above every old one
    # A group that is one declared entity is not split: the user asked for it to stay whole.
    return joined if np.unique(groups).size == sizes.size else groups


# Rows a representation check looks at: enough for the binomial test to see any real signal,
# few enough that it costs a second on the largest representation files.
_REPRESENTATION_SAMPLE = 5_000


def representation_doubt(representations: np.ndarray, labels: np.ndarray, seed: int, alpha: float = 0.001) -> str:
    """Why representations cannot stand for the dataset's samples ('' when they can).

    Representations of a trained model predict the labels they were trained with, poisoned ones
    included; constant, random or row-shuffled ones predict nothing, and a backdoor screen on them
    would find nothing and pass.
    """
    from riskframe.detectors.labels._oof import out_of_fold_probabilities, usable_folds

    rows = np.random.default_rng(seed).permutation(labels.size)[:_REPRESENTATION_SAMPLE]
    _, codes = np.unique(labels[rows], return_inverse=True)
    if np.bincount(codes).min() < 2:  # a class too small to cross-validate: keep the classes that can be
        keep = np.bincount(codes)[codes] >= 2
        rows, codes = rows[keep], np.unique(codes[keep], return_inverse=True)[1]
    if np.unique(codes).size < 2:
        return ""
    probs = out_of_fold_probabilities(np.asarray(representations[rows], dtype=float), codes, int(codes.max()) + 1,
                                      members=("logistic",), folds=usable_folds(codes, 3), seed=seed)
    agreed = agreement(codes, probs)
    if agreed.p_value <= alpha:
        return ""
    return (f"The representations say nothing about the labels (a linear model's out-of-fold probabilities from "
            f"them rank the labels no better than chance; accuracy {agreed.accuracy:.1%}, always "
            f"guessing the largest class {agreed.majority:.1%}): they are not this dataset's, their rows do not match "
            "its rows, or their model learnt nothing, so the screen cannot vouch for the data.")
