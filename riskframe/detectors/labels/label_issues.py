"""``label-issues``: find labels flipped on purpose, beyond what the data's own noise explains.

How it works:

1. Out-of-fold probabilities from an ensemble (two logistic regressions, kNN, RBF SVM and, on
   tabular data, gradient boosting; stratified K-fold, seeded, identical rows and the rows of one declared
   entity (``groups:``) kept in one fold so that a copy cannot vouch for a flipped label; feature
   columns that are the label, or that number the rows, left out, and so are columns that
   number entities, whose rows are kept in one fold too). On large data the ensemble,
   the rows each member is fitted on and the rows the tests see are bounded
   (:mod:`riskframe.detectors.labels._scale`).
2. :mod:`riskframe.detectors.labels._natural` calibrates them into the dataset's *natural* label noise
   (class overlap, ambiguous identical rows) and tests two departures from it: flips spread over
   the classes, and a targeted class pair (7 -> 1). :mod:`riskframe.detectors.labels._flips` keeps the
   significant ones, flags the samples most likely flipped and estimates how many were.
3. When a targeted pair is confirmed, the models are fitted again with its flagged samples kept
   out of training, and the pair is measured again: models trained on the flips partly learnt
   them, which hides some flips and lowers the estimate.
4. The detection limits: the smallest flips the tests would see on this data, from the natural
   model (what the labels would look like with a share flipped, against what it explains). The
   models partly learn the flips they are trained on, so the limits are then tried: a flip of the
   largest class into the second, twice the pair's limit, is made and the models fitted again
   (:mod:`riskframe.detectors.labels._absorption`); if the test does not see it, the result states
   no limit for a class relabelled as another, and says why.
5. The review list: the flagged samples, then the labels most likely flipped under a free fit of
   spread flips, as many as maximise the list's expected F1 (or, where that fit expects
   less than one half, the labels cleanlab's low-normalized-margin filter finds implausible).
   Flips too few to tell from the data's own noise are still among them; the list is for a person
   to look at, never evidence.

Three outcomes. ``fail``: flips beyond the natural noise, named, counted, with an interval.
``pass``: no such evidence, and the data lets the screen see flips as small as the policy asks
(``max_poison_fraction``); the result states the detection limit. ``warn``: no evidence, but the
data cannot support that verdict (the limit is above what the policy asks, or the models learnt
nothing from the features); ``inconclusive: fail`` makes that a failure.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from riskframe.data.datasets import Dataset
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.labels import flip_evidence
from riskframe.detectors.labels._absorption import probe_targeted_flip
from riskframe.detectors.labels._detection_limits import Limits
from riskframe.detectors.labels._flips import FlipFindings, FlipSettings, analyse_flips, components_tested
from riskframe.detectors.labels._oof import (
    QUADRATIC_MAX_SAMPLES,
    QUADRATIC_MEMBERS,
    members_for,
    out_of_fold_probabilities,
    usable_folds,
)
from riskframe.detectors.labels._scale import DEFAULT_SCALE, Scale
from riskframe.detectors.labels.vouch import (
    agreement,
    duplicate_groups,
    entity_numbers,
    fold_groups,
    joined_groups,
    label_copies,
    row_numbers,
)
from riskframe.errors import NotApplicableError
from riskframe.results import DetectorResult

# The models count as having learnt something from the features when their probabilities rank the
# labels better than chance at this level. Not the verdict's alpha: "they learnt nothing" voids every
# other sentence, and flips poured into a small class weaken the ranking (breast cancer at one class
# to twenty, 43 of the large class relabelled into the small one of 17: p = 0.002; Boston's Charles
# River dummy, 57 into 35: p = 0.0007; see vouch.agreement); nor 0.05: scrambled labellings of the
# digits come as low as 0.04 (six measured), and would be judged as if the models knew the classes.
LEARNT_ALPHA = 0.01
# The models' agreement with the labels is measured on a second thread while the flips are analysed,
# up to this many rows; above it, its sorted copies of the probabilities (about 40 bytes a row) would
# add to the analysis's own peak (at ten million rows, 390 MB over the 4 GiB the screen keeps under).
AGREEMENT_ALONGSIDE_MAX_ROWS = 2_000_000


class LabelIssuesParams(DetectorParams):
    """Parameters of ``label-issues``.

    The status thresholds are shares of the whole dataset and apply to flips the test finds
    *beyond* the dataset's natural noise, which it measures itself (class overlap, ambiguous
    identical rows): false alarms are held off by that model and by ``alpha``, not by the
    thresholds. ``max_poison_fraction`` (1%) is what relabelling 10% of one class of ten amounts
    to; it is also what the data must let the screen see for a ``pass`` (the scikit-learn digits
    let it see 0.6%; most tabular datasets of a few hundred rows, 3-10%). A targeted pair fails
    whatever its size (``fail_on_targeted``).
    """

    model: Literal["ensemble", "logistic", "knn", "svm", "boosting"] = Field(
        default="ensemble",
        description="out-of-fold model: the ensemble (logistic at C=0.1 and C=1, knn, svm, and boosting on "
                    "tabular data; the two logistic and boosting above 20,000 rows), or one",
    )
    folds: int = Field(default=5, ge=2, le=20, description="stratified folds (reduced to the smallest class size)")
    alpha: float = Field(
        default=0.001, gt=0.0, lt=0.5,
        description="significance level of the tests for flips beyond the natural noise (Bonferroni over the "
                    "spread component and every class pair)",
    )
    natural_noise_rate: float = Field(
        default=0.005, ge=0.0, le=0.2,
        description="annotation noise counted as natural beyond the measured class overlap: this share of the "
                    "dataset (spread flips) or of a class (a pair), and never fewer than natural_flips samples",
    )
    natural_flips: int = Field(default=1, ge=0, le=1000,
                               description="this many implausible labels are natural in any dataset or class pair")
    warn_poison_fraction: float = Field(
        default=0.002, ge=0.0, le=1.0, description="warn above this estimated poisoned share"
    )
    max_poison_fraction: float = Field(
        default=0.01, ge=0.0, le=1.0,
        description="fail above this estimated poisoned share; warn when the data could not show it",
    )
    fail_on_targeted: bool = Field(default=True, description="fail whenever a targeted class pair is found")
    inconclusive: Literal["warn", "fail"] = Field(
        default="warn",
        description="status when the data cannot support the verdict the policy asks for",
    )
    # At least 4, so that every training fold keeps 3 samples of each class (the svm's calibration
    # needs 3) once the folds shrink to the smallest class.
    min_class_samples: int = Field(
        default=10, ge=4, le=10_000, description="classes with fewer samples are skipped (too few to learn out of fold)"
    )
    max_images: int = Field(default=40, ge=0, le=400, description="flagged samples shown as pictures")

    @model_validator(mode="after")
    def _warn_below_fail(self) -> LabelIssuesParams:
        if self.warn_poison_fraction > self.max_poison_fraction:
            raise ValueError(
                f"warn_poison_fraction ({self.warn_poison_fraction}) must not exceed "
                f"max_poison_fraction ({self.max_poison_fraction})"
            )
        return self


class LabelIssues(Detector[LabelIssuesParams]):
    """Labels flipped on purpose: targeted class pairs and spread flips beyond the natural noise."""

    name: ClassVar[str] = "label-issues"
    title: ClassVar[str] = "Flipped labels beyond the data's own noise: class pairs, poisoned share, detection limit"
    requires = ("dataset",)
    Params = LabelIssuesParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0019", "AML.T0059")
    imports: ClassVar[tuple[str, ...]] = (
        "sklearn.base", "sklearn.model_selection", "sklearn.linear_model", "sklearn.neighbors",
        "sklearn.svm", "sklearn.ensemble", "sklearn.preprocessing", "sklearn.pipeline", "cleanlab.rank",
        "cleanlab.filter",
        "scipy.stats", "scipy.optimize", "riskframe.detectors.figures:warm_up",
    )

    def run(self, ctx: RunContext, params: LabelIssuesParams) -> DetectorResult:
        """Flag flipped labels in the bound dataset; see the module docstring for the method."""
        view = self.analyse(ctx.dataset(), params, ctx.seed)
        status, score = view.verdict(params)
        return DetectorResult(
            status=status,
            score=score,
            summary=view.summary(params),
            metrics=view.metrics(params),
            evidence=view.evidence(),
            attachments=view.attachments(params.max_images),
        )

    def analyse(self, dataset: Dataset, params: LabelIssuesParams, seed: int = 0, scale: Scale = DEFAULT_SCALE,
                members: tuple[str, ...] | None = None) -> flip_evidence.FlipView:
        """The analysis behind :meth:`run`, with every sample's score (for benchmarks and notebooks).

        ``scale`` bounds the rows each step looks at on large datasets (see
        :mod:`riskframe.detectors.labels._scale`; :data:`~riskframe.detectors.labels._scale.EVERY_ROW`
        looks at all of them); ``members`` replaces the ensemble chosen by ``params.model`` and the
        dataset's size (benchmarks compare both sides of a line with it).

        >>> view = LabelIssues().analyse(ctx.dataset(), LabelIssues.Params())  # doctest: +SKIP
        >>> view.sample_scores().shape  # doctest: +SKIP
        (1797,)
        """
        analysed, skipped = _analysable(dataset, params.min_class_samples)
        class_codes, codes = np.unique(dataset.labels[analysed], return_inverse=True)
        # Every row analysed (the usual case): the dataset's own array, not a copy of it.
        features = dataset.features if analysed.size == dataset.n_samples else dataset.features[analysed]
        copies = label_copies(features, codes)
        # Counted on every row: a row left out (a class too small) breaks the count, not the column.
        numbers = [c for c in row_numbers(dataset.features) if c not in copies]
        ids = [c for c in entity_numbers(dataset.features) if c not in copies]
        left_out = copies + numbers + ids
        if len(left_out) == features.shape[1]:
            raise ValueError(f"every feature column ({features.shape[1]}) determines the label or numbers the rows "
                             "or entities: there is nothing to check the labels against")
        numbered_entities = [features[:, c] for c in ids]
        if left_out:
            # The models would read the label from the first, the file's order from the second, a
            # row's entity's other labels from the third.
            features = np.delete(features, left_out, axis=1)
        entities = None if dataset.groups is None else dataset.groups[analysed]
        duplicates = duplicate_groups(features)
        joined = joined_groups(duplicates, entities)
        # An entity number keeps its entity's rows in one fold. Unlike declared entities, its rows'
        # labels are not judged beside each other: a litter's rats carry different treatments.
        in_folds = entities
        for numbered in numbered_entities if entities is None else []:
            in_folds = numbered if in_folds is None else joined_groups(in_folds, numbered)
        joined_in_folds = joined if in_folds is entities else joined_groups(duplicates, in_folds)
        together = fold_groups(joined_in_folds, in_folds, max(1, codes.size // params.folds))
        # A group too large for a fold that joins entities is linked only through chains of
        # identical rows across them (a week's prices, shared by every household); each row is
        # judged beside its own entity's other labels. Identical rows without entities stay ambiguity.
        groups = joined if entities is None else together
        fit = _Fit(features, codes, together, params, seed, images=dataset.images is not None, scale=scale,
                   members=members)
        probs = fit.probabilities(codes)
        settings = _settings(params, scale, seed, fit.workers)
        alongside = fit.workers > 1 and fit.n_rows <= AGREEMENT_ALONGSIDE_MAX_ROWS
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="label-agreement") as pool:
            agreed_soon = pool.submit(agreement, codes, probs) if alongside else None  # both only read probs
            findings = analyse_flips(codes, probs, settings, groups)
            agreed = agreement(codes, probs) if agreed_soon is None else agreed_soon.result()
        same_features = _same_features(groups)
        doubt = agreed.doubt(LEARNT_ALPHA) or same_features
        purified, probe = 0, None
        if doubt:
            # The labels the models doubt most stay listed for review unless no row differs from another.
            findings = findings.discarded(keep_review=not same_features)
        else:
            if findings.confirmed and findings.targeted:
                findings, purified = _purified(fit, codes, groups, findings, settings)
            probe = probe_targeted_flip(codes, findings.limits, findings.allowances[1], settings.alpha,
                                        components_tested(fit.n_classes), fit.seed, fit.probabilities_of)
        method = {
            "model": params.model,
            "members": list(fit.members),
            "left_out_for_size": fit.left_out_for_size(params.model),
            "folds": fit.folds,
            "folds_requested": fit.requested_folds,
            "folds_at_once": min(fit.workers, fit.folds),
            "threads": fit.workers,
            "analysed_samples": int(analysed.size),
            **scale.describe(int(analysed.size), fit.folds),
            "out_of_fold_accuracy": round(agreed.accuracy, 4),
            "majority_class_rate": round(agreed.majority, 4),
            "temperature": round(findings.temperature, 4),
            "label_columns_left_out": copies,
            "row_number_columns_left_out": numbers,
            "entity_number_columns_left_out": ids,
            "duplicate_rows_kept_in_one_fold": 0 if together is None else int(analysed.size - np.unique(together).size),
            "rows_of_groups_too_large_for_a_fold": _split_rows(joined_in_folds, together),
            "ambiguous_rows": findings.ambiguous,
            "purified_from_training": purified,
            "targeted_flip_tried": None if probe is None else probe.describe(),
        }
        limits = findings.limits
        if probe is not None and not probe.seen:  # the formula's pair limits assume what the probe disproved
            limits = Limits(limits.spread, np.full_like(limits.pairs, np.inf))
        return flip_evidence.FlipView(dataset, analysed, class_codes, findings, limits, skipped, method,
                                       [doubt] if doubt else [], probe)


class _Fit:
    """The out-of-fold fit of one dataset: which models, how many folds."""

    def __init__(self, features: np.ndarray, codes: np.ndarray, groups: np.ndarray | None, params: LabelIssuesParams,
                 seed: int, images: bool, scale: Scale, members: tuple[str, ...] | None) -> None:
        self.features, self.groups, self.seed, self.train_rows = features, groups, seed, scale.train_rows
        self.n_classes, self.n_rows = int(codes.max()) + 1, int(codes.size)
        # What the data allows; fewer on large data, where every fold fits a sample of the same size.
        self.requested_folds = usable_folds(codes, params.folds, groups)
        self.folds = scale.folds(self.requested_folds, self.n_rows)
        self.members = members or members_for(params.model, int(codes.size), images)
        # Threads for the fits, the slices of rows to predict and the tests: not bounded by the folds.
        self.workers = scale.threads

    def left_out_for_size(self, model: str) -> list[str]:
        """Members of the ensemble left out because of the dataset's size (their cost grows with
        the square of the rows)."""
        if model != "ensemble" or self.n_rows <= QUADRATIC_MAX_SAMPLES:
            return []
        return [m for m in QUADRATIC_MEMBERS if m not in self.members]

    def probabilities(self, labels: np.ndarray, train_mask: np.ndarray | None = None) -> np.ndarray:
        return out_of_fold_probabilities(self.features, labels, self.n_classes, members=self.members,
                                         folds=self.folds, seed=self.seed, groups=self.groups, train_mask=train_mask,
                                         train_rows=self.train_rows, workers=self.workers)

    def probabilities_of(self, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Out-of-fold probabilities of ``rows`` alone, given their ``labels``, with the same models
        on at most three folds (what the models learn of a flip depends on its share in the
        training folds, which the number of folds does not change; three cost half of five)."""
        groups = None if self.groups is None else self.groups[rows]
        folds = usable_folds(labels, min(self.requested_folds, 3), groups)
        return out_of_fold_probabilities(self.features[rows], labels, self.n_classes, members=self.members,
                                         folds=folds, seed=self.seed, groups=groups,
                                         train_rows=self.train_rows, workers=self.workers)



def _split_rows(groups: np.ndarray | None, together: np.ndarray | None) -> int:
    """Rows :func:`fold_groups` took out of a group too large for a fold (it gives them new ids,
    above every joined one)."""
    if groups is None or together is None or together is groups:
        return 0
    return int((together > groups.max()).sum())


def _same_features(groups: np.ndarray | None) -> str:
    if groups is not None and np.unique(groups).size < 2:
        return ("Every analysed row has the same features: the labels cannot be judged from them, so no flip "
                "can be told apart.")
    return ""


def _purified(fit: _Fit, codes: np.ndarray, groups: np.ndarray | None, findings: FlipFindings,
              settings: FlipSettings) -> tuple[FlipFindings, int]:
    """A confirmed targeted pair, measured again with its flagged samples kept out of *training*.

    Models trained with a quarter of the 7s labelled 1 have partly learnt that 7-shaped means 1,
    so the flips look milder than they are and the pair's share is underestimated (1.9% of the
    dataset for a true 2.5%); without them in training they look plainly wrong again. Only once a
    pair is confirmed: the verdict is already made, and purifying clean data would sharpen its
    natural confusions into false flips.
    """
    keep = np.ones(codes.size, dtype=bool)
    keep[findings.flagged] = False
    again = analyse_flips(codes, fit.probabilities(codes, keep), settings, groups)
    before = {c.component for c in findings.components}
    if not (again.confirmed and before <= {c.component for c in again.components}):
        return findings, 0
    return again, int(findings.flagged.size)


def _settings(params: LabelIssuesParams, scale: Scale, seed: int, workers: int) -> FlipSettings:
    return FlipSettings(alpha=params.alpha, allowance=params.natural_noise_rate, natural_flips=params.natural_flips,
                        tested_rows=scale.natural_rows, seed=seed, workers=workers)


def _analysable(dataset: Dataset, min_samples: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Indices of samples in classes large enough to learn out of fold, and the skipped classes."""
    counts = np.bincount(dataset.labels, minlength=dataset.n_classes)
    small = np.flatnonzero(counts < min_samples)
    skipped = [
        {
            "label": dataset.classes[c].item(),
            "samples": int(counts[c]),
            "reason": f"{int(counts[c])} samples, fewer than min_class_samples={min_samples}: "
            "too few to learn the class out of fold",
        }
        for c in small
    ]
    if counts.size - small.size < 2:
        sizes = ", ".join(
            f"{label}: {count}" for label, count in zip(dataset.classes.tolist(), counts.tolist(), strict=True)
        )
        raise NotApplicableError(
            f"label-issues needs two classes with at least {min_samples} samples each "
            f"(min_class_samples); class sizes are {sizes}"
        )
    return np.flatnonzero(~np.isin(dataset.labels, small)), skipped
