"""What the backdoor detectors share: per-class representation spaces, the relabel check, the
verdict per class, and the findings they report.

The pipeline every representation-based backdoor detector follows:

1. **Per-class space.** For each class with enough samples, its representations centred on the
   class mean; with ``method="robust"`` also whitened by an estimate of *natural* within-class
   covariance that the class's own samples cannot inflate: the pooled within-class covariance of
   the other classes (Ledoit-Wolf shrunk). This is SPECTRE's idea (whiten with a covariance the
   poisons cannot corrupt) adapted to many classes: MinCovDet on the class itself breaks down once
   poisons are half of it, which the 10% patch scenario reaches (144 poisons, 142 genuine 0s).
2. **Split** (the detector's own step): two groups per class, a suspect and the rest, with a
   suspicion score per sample in [0, 1] (0.5 at the boundary) and a separation statistic.
3. **Relabel check** (Chen et al.'s exclusionary reclassification, without retraining): a dirty-
   label backdoor fills the target class with samples of *other* classes carrying the trigger.
   Each sample's ``neighbours`` nearest samples among the other classes (input features) are
   looked up; the share agreeing on one label is its relabel agreement. A suspect group of
   relabelled samples averages about 0.92 on the digits; genuine groups 0.5-0.80 (natural
   sub-styles such as 1s with a base stroke included). The suspect is the group with the higher
   agreement, so a backdoor that fills half the class is still told apart from the genuine half.
4. **Verdict.** A class carries a backdoor when its split is well separated *and* the suspect
   group's relabel agreement is high. Its class score is 0.5 when the weaker criterion just meets
   its threshold and 1 when twice as far past it. A sample's score is its side-of-the-split score
   times ``min(1, 2 x class score)``: full in a backdoored class, discounted elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riskframe.errors import NotApplicableError

MAX_DIMENSIONS = 64  # representations are reduced to this many principal components first
CHANCE_AGREEMENT = 0.5  # relabel agreement that says nothing either way (the class score's zero)


@dataclass(frozen=True)
class Split:
    """A class cut in two: ``suspect`` (bool per member), ``scores`` (per member, 1 = most
    suspicious, 0.5 at the boundary) and the separation statistic of the detector."""

    suspect: np.ndarray
    scores: np.ndarray
    separation: float
    extra: dict[str, float] = field(default_factory=dict)


Splitter = Callable[[np.ndarray, int], Split]


@dataclass(frozen=True)
class ClassFinding:
    code: int
    members: np.ndarray  # dataset indices of the class's samples
    split: Split
    agreement_suspect: float
    agreement_rest: float
    suspicious: bool
    class_score: float

    @property
    def suspect_count(self) -> int:
        return int(self.split.suspect.sum())


@dataclass(frozen=True)
class BackdoorFindings:
    """The verdict over a dataset. ``flagged`` holds dataset indices, most suspicious first;
    ``sample_scores`` every sample's score (0 for skipped classes)."""

    classes: list[ClassFinding]
    skipped: list[tuple[int, int, str]]  # (class code, samples, reason)
    sample_scores: np.ndarray
    flagged: np.ndarray
    flagged_mask: np.ndarray
    agreement: np.ndarray  # per sample: relabel agreement (NaN for skipped classes)
    relabel: np.ndarray  # per sample: the class code its neighbours among other classes agree on

    @property
    def targets(self) -> list[ClassFinding]:
        """Suspicious classes, highest class score first."""
        return sorted((c for c in self.classes if c.suspicious), key=lambda c: -c.class_score)


def class_spaces(reps: np.ndarray, labels: np.ndarray, codes: list[int], method: str) -> dict[int, np.ndarray]:
    """Each class's representations, centred (``standard``) or centred and whitened (``robust``)."""
    reps = _reduced(np.asarray(reps, dtype=np.float64))
    means = {c: reps[labels == c].mean(axis=0) for c in codes}
    if method == "standard":
        return {c: reps[labels == c] - means[c] for c in codes}
    from sklearn.covariance import ledoit_wolf

    in_codes = np.isin(labels, codes)
    residuals = np.zeros_like(reps)
    for c in codes:
        residuals[labels == c] = reps[labels == c] - means[c]
    spaces = {}
    for c in codes:
        others = in_codes & (labels != c)
        covariance, _ = ledoit_wolf(residuals[others], assume_centered=True)
        spaces[c] = (reps[labels == c] - means[c]) @ _inverse_sqrt(covariance)
    return spaces


def relabel_agreement(
    features: np.ndarray, labels: np.ndarray, codes: list[int], neighbours: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per sample of the analysed classes: the largest share of its ``neighbours`` nearest samples
    of *other* analysed classes (input features, Euclidean) that share one label, and that label
    (the class it would be relabelled to). NaN and -1 for samples of other classes."""
    from sklearn.neighbors import NearestNeighbors

    agreement = np.full(labels.size, np.nan)
    relabel = np.full(labels.size, -1, dtype=np.int64)
    in_codes = np.isin(labels, codes)
    n_codes = int(labels.max()) + 1
    for c in codes:
        mine, others = labels == c, in_codes & (labels != c)
        k = min(neighbours, int(others.sum()))
        index = NearestNeighbors(n_neighbors=k).fit(features[others])
        _, found = index.kneighbors(features[mine])
        votes = labels[others][found]
        counts = np.stack([np.bincount(row, minlength=n_codes) for row in votes])
        agreement[mine] = counts.max(axis=1) / k
        relabel[mine] = counts.argmax(axis=1)
    return agreement, relabel


def analyse(
    reps: np.ndarray,
    features: np.ndarray,
    labels: np.ndarray,
    splitter: Splitter,
    params: Any,
    seed: int,
) -> BackdoorFindings:
    """Split every large-enough class, run the relabel check, and decide which carry a backdoor.

    ``params`` provides ``method``, ``min_class_samples``, ``neighbours``, ``min_separation`` and
    ``min_relabel_agreement``; ``splitter(space, seed)`` is the detector's split.
    """
    counts = np.bincount(labels)
    codes = [c for c in range(counts.size) if counts[c] >= params.min_class_samples]
    skipped = [
        (c, int(counts[c]), f"{int(counts[c])} samples, fewer than min_class_samples={params.min_class_samples}")
        for c in range(counts.size)
        if 0 < counts[c] < params.min_class_samples
    ]
    if len(codes) < 3:
        raise NotApplicableError(
            f"needs three classes with at least {params.min_class_samples} samples (min_class_samples): "
            f"the relabel check compares a suspect group with the other classes; {len(codes)} qualify"
        )
    spaces = class_spaces(reps, labels, codes, params.method)
    agreement, relabel = relabel_agreement(features, labels, codes, params.neighbours)
    sample_scores = np.zeros(labels.size)
    findings = []
    for c in codes:
        members = np.flatnonzero(labels == c)
        split = _oriented(splitter(spaces[c], seed), agreement[members])
        finding = _judge(c, members, split, agreement[members], params)
        # A sample is as suspicious as its side of the split, discounted by how far its class is
        # from being judged backdoored: the suspect side of a clean class does not rank with poisons.
        sample_scores[members] = split.scores * min(1.0, 2.0 * finding.class_score)
        findings.append(finding)
    flagged_mask = np.zeros(labels.size, dtype=bool)
    for finding in findings:
        if finding.suspicious:
            flagged_mask[finding.members[finding.split.suspect]] = True
    flagged = np.flatnonzero(flagged_mask)
    flagged = flagged[np.argsort(-sample_scores[flagged], kind="stable")]
    return BackdoorFindings(findings, skipped, sample_scores, flagged, flagged_mask, agreement, relabel)


def _oriented(split: Split, agreement: np.ndarray) -> Split:
    """Make the group with the higher relabel agreement the suspect (ties: the smaller group)."""
    suspect, rest = split.suspect, ~split.suspect
    if not suspect.any() or not rest.any():
        return split
    high, low = float(agreement[suspect].mean()), float(agreement[rest].mean())
    swap = low > high or (low == high and suspect.sum() > rest.sum())
    if not swap:
        return split
    return Split(rest, 1.0 - split.scores, split.separation, split.extra)


def _judge(code: int, members: np.ndarray, split: Split, agreement: np.ndarray, params: Any) -> ClassFinding:
    suspect = split.suspect
    mean_suspect = float(agreement[suspect].mean()) if suspect.any() else 0.0
    mean_rest = float(agreement[~suspect].mean()) if (~suspect).any() else 0.0
    by_separation = split.separation / params.min_separation
    by_agreement = (mean_suspect - CHANCE_AGREEMENT) / (params.min_relabel_agreement - CHANCE_AGREEMENT)
    weaker = min(by_separation, by_agreement)
    suspicious = bool(weaker >= 1.0 and suspect.sum() >= 2 and (~suspect).any())
    return ClassFinding(
        code, members, split, mean_suspect, mean_rest, suspicious, float(np.clip(0.5 * weaker, 0.0, 1.0))
    )


def _reduced(reps: np.ndarray) -> np.ndarray:
    """At most :data:`MAX_DIMENSIONS` principal components (exact SVD; deterministic)."""
    if reps.shape[1] <= MAX_DIMENSIONS:
        return reps
    centred = reps - reps.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced: np.ndarray = centred @ vt[:MAX_DIMENSIONS].T
    return reduced


def _inverse_sqrt(covariance: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    floor = max(float(values.max()), 1e-12) * 1e-6  # dead units: shrinkage keeps them invertible
    whitening: np.ndarray = (vectors / np.sqrt(np.maximum(values, floor))) @ vectors.T
    return whitening
