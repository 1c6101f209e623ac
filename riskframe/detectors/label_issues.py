"""``label-issues``: find labels flipped on purpose, name the class pairs, estimate the poisoned share.

How it works:

1. Out-of-fold probabilities from an ensemble (logistic regression, kNN, RBF SVM; stratified
   K-fold, seeded), scored by cleanlab: its normalized-margin label quality (converted so that
   1 = surely flipped) and its ``predicted_neq_given`` filter for the suspects.
2. :mod:`riskframe.detectors._flips` decides which suspects were poisoned: those of a targeted
   class pair, and strong ones when flips spread beyond natural label noise. It estimates how
   many samples were poisoned, with a bootstrap interval.
3. When a targeted pair is found, the out-of-fold fit is repeated with the flagged samples kept
   out of *training*, and step 2 is redone. With a quarter of the 7s labelled 1, the first pass
   has partly learnt "7-shaped means 1", so some flipped samples look only mildly wrong; without
   them in training they look plainly wrong again (recall on 7->1 at 25%: 0.93 -> 0.99).

It never passes data it cannot judge (:mod:`riskframe.detectors._vouch`): identical rows share a
fold, so a copy cannot vouch for a flipped label; feature columns that are the label are left out;
and when the models learnt nothing, or disagree with more than ``max_disagreement`` of the labels,
the run fails saying so instead of reporting "no sign of poisoning".
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from riskframe.data.datasets import Dataset
from riskframe.detectors import _flip_evidence
from riskframe.detectors._flips import FlipFindings, FlipSettings, analyse_flips
from riskframe.detectors._oof import members_for, out_of_fold_probabilities, usable_folds
from riskframe.detectors._vouch import Agreement, agreement, duplicate_groups, label_copies
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.errors import NotApplicableError
from riskframe.results import DetectorResult


class LabelIssuesParams(DetectorParams):
    """Parameters of ``label-issues``.

    The status thresholds are shares of the whole dataset, and apply to the *estimated poisoned*
    share: flips beyond natural label noise only (a targeted class pair, or spread flips
    significantly above ``natural_noise_rate``). False alarms are held off by those tests, not by
    the thresholds, so the thresholds can be low. ``max_poison_fraction`` (0.5%) is what
    relabelling 5% of one class of ten amounts to, the smallest targeted attack this detector is
    built to catch; ``warn_poison_fraction`` (0.1%, about 2 samples in 1,797) reports smaller
    excesses for a person to look at. A targeted pair fails on its own (``fail_on_targeted``):
    natural confusion does not concentrate in one pair.
    """

    model: Literal["ensemble", "logistic", "knn", "svm"] = Field(
        default="ensemble", description="out-of-fold model: the ensemble of all three, or one of them"
    )
    folds: int = Field(default=5, ge=2, le=20, description="stratified folds (reduced to the smallest class size)")
    purify: bool = Field(
        default=True, description="when a targeted pair is found, refit with the flagged samples kept out of training"
    )
    min_score: float = Field(
        default=0.75,
        gt=0.5,
        lt=1.0,
        description="score a suspect outside a targeted pair needs to count (0.75: the suggested "
        "class beats the given label by 0.5 probability)",
    )
    min_pair_share: float = Field(
        default=0.03,
        gt=0.0,
        le=1.0,
        description="smallest share of a class relabelled as one other class that reads as targeted "
        "(natural confusions between similar digits stay near 2%)",
    )
    natural_noise_rate: float = Field(
        default=0.003,
        ge=0.0,
        le=0.2,
        description="label noise careful annotation leaves, spread over pairs; not attributed to "
        "poisoning (0.3%: about what the clean scikit-learn digits show, 5-9 strong suspects in 1,797)",
    )
    alpha: float = Field(
        default=0.001, gt=0.0, lt=0.5, description="significance level of the concentration and excess tests"
    )
    warn_poison_fraction: float = Field(
        default=0.001, ge=0.0, le=1.0, description="warn above this estimated poisoned share"
    )
    max_poison_fraction: float = Field(
        default=0.005, ge=0.0, le=1.0, description="fail above this estimated poisoned share"
    )
    fail_on_targeted: bool = Field(default=True, description="fail whenever a targeted class pair is found")
    max_disagreement: float = Field(
        default=0.2, gt=0.0, le=1.0,
        description="fail when the out-of-fold models disagree with more than this share of the labels: "
                    "heavily corrupted labels, or classes that overlap too much to judge (clean digits: 1.5%)")
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


class LabelIssues(Detector):
    """Labels flipped on purpose: targeted class pairs and excess random flips."""

    name: ClassVar[str] = "label-issues"
    title: ClassVar[str] = "Flipped labels: out-of-fold ensemble disagreement, class pairs, poisoned share"
    requires = ("dataset",)
    Params = LabelIssuesParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0019", "AML.T0059")
    imports: ClassVar[tuple[str, ...]] = (
        "sklearn.base", "sklearn.model_selection", "sklearn.linear_model", "sklearn.neighbors",
        "sklearn.svm", "sklearn.preprocessing", "sklearn.pipeline", "cleanlab.rank", "cleanlab.filter",
        "scipy.stats", "riskframe.figures:warm_up",
    )

    def run(self, ctx: Any, params: Any) -> DetectorResult:
        """Flag flipped labels in the bound dataset; see the module docstring for the method."""
        view = self.analyse(ctx.dataset(), params, ctx.seed)
        fraction = view.fraction[0]
        status, score, summary = (_status(view.findings, fraction, params), _score(view.findings, fraction, params),
                                  view.summary(params.natural_noise_rate))
        if view.skipped:  # a label too rare to learn may be one an attacker added: unchecked is no pass
            unchecked = ", ".join(f"{c['label']} ({c['samples']})" for c in view.skipped)
            summary += (f". Not checked, fewer than min_class_samples={params.min_class_samples} samples: "
                        f"class{'es' if len(view.skipped) > 1 else ''} {unchecked}")
            status = "warn" if status == "pass" else status
        if view.doubts:  # a verdict the models cannot back is no pass, whatever they found
            status, score = "fail", max(score, 0.5)
            summary = " ".join(view.doubts) + f" What the screen found regardless: {summary}"
        return DetectorResult(
            status=status,
            score=score,
            summary=summary,
            metrics=view.metrics(),
            evidence=view.evidence(),
            attachments=view.attachments(params.max_images),
        )

    def analyse(self, dataset: Dataset, params: Any, seed: int = 0) -> _flip_evidence.FlipView:
        """The analysis behind :meth:`run`, with every sample's score (for benchmarks and notebooks).

        >>> view = LabelIssues().analyse(ctx.dataset(), LabelIssues.Params())  # doctest: +SKIP
        >>> view.sample_scores().shape  # doctest: +SKIP
        (1797,)
        """
        analysed, skipped = _analysable(dataset, params.min_class_samples)
        class_codes, codes = np.unique(dataset.labels[analysed], return_inverse=True)
        features = dataset.features[analysed]
        copies = label_copies(features, codes)
        if len(copies) == features.shape[1]:
            raise ValueError(f"every feature column ({len(copies)}) determines the label: there is nothing to check "
                             "the labels against")
        features = np.delete(features, copies, axis=1)  # the models would read the label from them
        groups = duplicate_groups(features)
        folds = usable_folds(codes, params.folds)
        members = members_for(params.model, int(analysed.size))
        findings, purified, agreed = _detect(features, codes, folds, members, params, seed, groups)
        method = {
            "model": params.model,
            "members": list(members),
            "folds": folds,
            "purified_from_training": purified,
            "analysed_samples": int(analysed.size),
            "out_of_fold_accuracy": round(agreed.accuracy, 4),
            "majority_class_rate": round(agreed.majority, 4),
            "label_columns_left_out": copies,
            "duplicate_rows_kept_in_one_fold": 0 if groups is None else int(analysed.size - np.unique(groups).size),
        }
        doubt = agreed.doubt(params.max_disagreement, params.alpha)
        return _flip_evidence.FlipView(dataset, analysed, class_codes, findings, skipped, method,
                                       [doubt] if doubt else [])


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


def _detect(
    features: np.ndarray, labels: np.ndarray, folds: int, members: tuple[str, ...], params: Any, seed: int,
    groups: np.ndarray | None = None,
) -> tuple[FlipFindings, int, Agreement]:
    """Both passes; returns the findings, how many flagged samples the second pass kept out of
    training, and how well the first pass's models agree with the labels."""
    n_classes = int(labels.max()) + 1
    settings = FlipSettings(
        min_score=params.min_score,
        natural_noise_rate=params.natural_noise_rate,
        min_pair_share=params.min_pair_share,
        alpha=params.alpha,
    )
    probs = out_of_fold_probabilities(features, labels, n_classes, members=members, folds=folds, seed=seed,
                                      groups=groups)
    findings = analyse_flips(labels, probs, settings, seed=seed)
    agreed = agreement(labels, probs)
    if not (params.purify and findings.targeted):
        return findings, 0, agreed
    # Only a targeted pair teaches the models the attacker's mapping; purifying when nothing is
    # targeted would also strip the hard, honest samples and make natural confusions look worse.
    train_mask = np.ones(labels.size, dtype=bool)
    train_mask[findings.flagged] = False
    probs = out_of_fold_probabilities(
        features, labels, n_classes, members=members, folds=folds, seed=seed, train_mask=train_mask, groups=groups
    )
    return analyse_flips(labels, probs, settings, seed=seed), int(findings.flagged.size), agreed


def _status(findings: FlipFindings, fraction: float, params: Any) -> Literal["pass", "warn", "fail"]:
    if (findings.targeted and params.fail_on_targeted) or fraction > params.max_poison_fraction:
        return "fail"
    return "warn" if fraction > params.warn_poison_fraction else "pass"


def _score(findings: FlipFindings, fraction: float, params: Any) -> float:
    """0 for nothing beyond natural noise, 0.5 at the fail threshold, 1 at twice it."""
    limit = max(params.max_poison_fraction, 1e-9)
    score = min(1.0, fraction / (2.0 * limit))
    if findings.targeted and params.fail_on_targeted:
        score = max(score, 0.5)
    return float(score)
