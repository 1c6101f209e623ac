"""``class-outliers``: samples that do not look like the rest of their class.

The beginner's poisoning screen done properly: profile every class (size, how far its mean sits
from the overall mean, its spread), fit one IsolationForest per class on standardised features
(seeded), and flag the samples a class's forest isolates unusually fast.

Thresholding. IsolationForest's ``contamination="auto"`` flags every sample whose anomaly score
exceeds 0.5, about 12% of every digit class whatever the data hold (precision 0.24-0.29 on label
flips). Here a sample is flagged when its score stands out *within its class*: above the class
median by ``mad_threshold`` robust standard deviations (1.4826 x the median absolute deviation),
and above 0.5, the score of a sample of average depth. On clean digits that flags about 0.6%.

What it is for: foreign or corrupted samples (a 7 filed among the 1s, a blank image, a feature
vector from another distribution). It is not a label-flip detector: a targeted flip puts a
*cluster* of similar samples in the class, which isolation forests mask; ``label-issues`` is the
control for that. The benchmark reports both honestly.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from riskframe.data.datasets import Dataset
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.errors import NotApplicableError
from riskframe.results import Attachment, DetectorResult

AVERAGE_DEPTH_SCORE = 0.5  # IsolationForest's anomaly score of a sample of average path length
HISTOGRAM_BINS = np.linspace(0.0, 1.0, 21)
# A class fails on its own share only from this many flagged samples: one or two strays in a
# class of 20 are chance, not a crowd.
MIN_CLASS_OUTLIERS = 3


class ClassOutliersParams(DetectorParams):
    """Parameters of ``class-outliers``.

    ``max_outlier_fraction`` (2%) and ``max_class_outlier_fraction`` (5%) sit well above what the
    threshold flags on clean data (about 0.6% overall, under 2% in any digit class), so a failure
    means a class holds more strays than careful collection leaves.
    """

    n_estimators: int = Field(default=100, ge=10, le=2000, description="trees per class forest")
    mad_threshold: float = Field(
        default=4.0,
        ge=1.0,
        le=50.0,
        description="robust standard deviations above the class median an outlier's score must reach",
    )
    warn_outlier_fraction: float = Field(
        default=0.01, ge=0.0, le=1.0, description="warn above this share of flagged samples"
    )
    max_outlier_fraction: float = Field(
        default=0.02, ge=0.0, le=1.0, description="fail above this share of flagged samples"
    )
    max_class_outlier_fraction: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="fail when any one class has more of its samples flagged (and at least 3 of them)",
    )
    min_class_samples: int = Field(default=10, ge=3, le=10_000, description="classes with fewer samples are skipped")
    max_images: int = Field(default=40, ge=0, le=400, description="flagged samples shown as pictures")

    @model_validator(mode="after")
    def _warn_below_fail(self) -> ClassOutliersParams:
        if self.warn_outlier_fraction > self.max_outlier_fraction:
            raise ValueError(
                f"warn_outlier_fraction ({self.warn_outlier_fraction}) must not exceed "
                f"max_outlier_fraction ({self.max_outlier_fraction})"
            )
        return self


class ClassOutliers(Detector):
    """Samples isolated within their own class (IsolationForest per class)."""

    name: ClassVar[str] = "class-outliers"
    title: ClassVar[str] = "Class-wise profiles and per-class IsolationForest outliers"
    requires = ("dataset",)
    optional = ("representations",)
    Params = ClassOutliersParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0059")
    imports: ClassVar[tuple[str, ...]] = (
        "sklearn.ensemble", "sklearn.preprocessing", "sklearn.pipeline", "riskframe.figures:warm_up",
    )

    def run(self, ctx: Any, params: Any) -> DetectorResult:
        """Score every sample within its class and flag the ones that stand out."""
        dataset: Dataset = ctx.dataset()
        source = "representations" if ctx.has("representations") else "dataset features"
        features = ctx.representations() if ctx.has("representations") else dataset.features
        scores, cutoffs, skipped = class_outlier_scores(features, dataset.labels, params, ctx.seed)
        flagged_mask = np.isfinite(cutoffs[dataset.labels]) & (scores > cutoffs[dataset.labels])
        flagged = np.flatnonzero(flagged_mask)
        flagged = flagged[np.argsort(-scores[flagged], kind="stable")]
        profiles = class_profiles(features, dataset, scores, flagged_mask, cutoffs)
        share = flagged.size / dataset.n_samples
        worst = max(profiles, key=lambda p: p["flagged_share"])
        status = _status(share, worst, params)
        return DetectorResult(
            status=status,
            score=float(min(1.0, share / (2.0 * max(params.max_outlier_fraction, 1e-9)))),
            summary=_summary(flagged.size, share, worst, dataset.n_samples),
            metrics={
                "outlier_fraction": share,
                "flagged_samples": float(flagged.size),
                "max_class_outlier_fraction": float(worst["flagged_share"]),
            },
            evidence={
                "flagged_indices": flagged.tolist(),
                "scores": [round(float(s), 4) for s in scores[flagged]],
                "labels": [dataset.classes[c].item() for c in dataset.labels[flagged]],
                "class_profiles": profiles,
                "score_histogram": _histogram(scores, flagged_mask),
                "skipped_classes": [
                    {
                        "label": dataset.classes[c].item(),
                        "samples": int(np.sum(dataset.labels == c)),
                        "reason": f"fewer than min_class_samples={params.min_class_samples} samples",
                    }
                    for c in skipped
                ],
                "features": source,
            },
            attachments=_attachments(dataset, scores, flagged, flagged_mask, params.max_images),
        )


def class_outlier_scores(
    features: np.ndarray, labels: np.ndarray, params: Any, seed: int
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Per-sample anomaly scores in [0, 1] (1 = isolated at once) and each class's cutoff.

    Returns
    -------
    scores : numpy.ndarray
        IsolationForest anomaly score of each sample within its class; 0 for skipped classes.
    cutoffs : numpy.ndarray
        Per class code: the score above which a sample is flagged; ``inf`` for skipped classes.
    skipped : list of int
        Codes of the classes too small to profile.
    """
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]

    n_classes = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=n_classes)
    if (counts >= params.min_class_samples).sum() == 0:
        raise NotApplicableError(
            f"class-outliers needs a class with at least {params.min_class_samples} "
            f"samples (min_class_samples); the largest has {int(counts.max())}"
        )
    standardised = StandardScaler().fit_transform(features)
    scores = np.zeros(labels.size)
    cutoffs = np.full(n_classes, np.inf)
    skipped: list[int] = []
    with threadpool_limits(limits=1):
        for code in range(n_classes):
            members = np.flatnonzero(labels == code)
            if members.size < params.min_class_samples:
                skipped.append(code)
                continue
            forest = IsolationForest(n_estimators=params.n_estimators, random_state=seed)
            forest.fit(standardised[members])
            # sklearn's score_samples is the *negated* anomaly score of Liu et al.: 1 = worst here.
            scores[members] = -forest.score_samples(standardised[members])
            cutoffs[code] = _robust_cutoff(scores[members], params.mad_threshold)
    return scores, cutoffs, skipped


def _robust_cutoff(scores: np.ndarray, k: float) -> float:
    median = float(np.median(scores))
    spread = 1.4826 * float(np.median(np.abs(scores - median)))
    return max(AVERAGE_DEPTH_SCORE, median + k * spread)


def class_profiles(
    features: np.ndarray, dataset: Dataset, scores: np.ndarray, flagged: np.ndarray, cutoffs: np.ndarray
) -> list[dict[str, Any]]:
    """One row per class: size, mean norm and variance (standardised), score level, flagged share."""
    centred = (features - features.mean(axis=0)) / np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
    rows = []
    for code in range(dataset.n_classes):
        members = dataset.labels == code
        count = int(members.sum())
        rows.append(
            {
                "label": dataset.classes[code].item(),
                "count": count,
                "mean_norm": round(float(np.linalg.norm(centred[members].mean(axis=0))), 4),
                "mean_variance": round(float(centred[members].var(axis=0).mean()), 4),
                "median_score": round(float(np.median(scores[members])), 4),
                "cutoff": round(float(cutoffs[code]), 4) if np.isfinite(cutoffs[code]) else None,
                "flagged": int(flagged[members].sum()),
                "flagged_share": round(float(flagged[members].sum() / max(count, 1)), 4),
            }
        )
    return rows


def _status(share: float, worst: dict[str, Any], params: Any) -> Literal["pass", "warn", "fail"]:
    crowded = worst["flagged"] >= MIN_CLASS_OUTLIERS and worst["flagged_share"] > params.max_class_outlier_fraction
    if share > params.max_outlier_fraction or crowded:
        return "fail"
    return "warn" if share > params.warn_outlier_fraction else "pass"


def _summary(count: int, share: float, worst: dict[str, Any], n: int) -> str:
    if count == 0:
        return f"No sample stands out within its class ({n} samples profiled)"
    return (
        f"{count} of {n} samples ({share:.1%}) stand out within their class; most in class "
        f"{worst['label']} ({worst['flagged']} of {worst['count']}, {worst['flagged_share']:.1%})"
    )


def _histogram(scores: np.ndarray, flagged: np.ndarray) -> dict[str, Any]:
    return {
        "bins": [round(float(b), 2) for b in HISTOGRAM_BINS],
        "flagged": np.histogram(scores[flagged], HISTOGRAM_BINS)[0].tolist(),
        "kept": np.histogram(scores[~flagged], HISTOGRAM_BINS)[0].tolist(),
    }


def _attachments(
    dataset: Dataset, scores: np.ndarray, flagged: np.ndarray, mask: np.ndarray, max_images: int
) -> list[Attachment]:
    from riskframe.figures import histogram_png, image_grid_png, png_attachment

    out = [
        png_attachment(
            "score-histogram.png",
            histogram_png(
                {"kept": scores[~mask], "flagged": scores[mask]},
                HISTOGRAM_BINS,
                title="class-outliers anomaly scores (1 = isolated at once)",
            ),
            "Anomaly scores, flagged vs kept",
        )
    ]
    shown = flagged[:max_images]
    if dataset.images is not None and shown.size:
        captions = [f"#{i}: {dataset.classes[dataset.labels[i]].item()}\nscore {scores[i]:.2f}" for i in shown]
        out.append(
            png_attachment(
                "flagged-samples.png",
                image_grid_png(dataset.images[shown], captions),
                f"The {shown.size} most isolated of {flagged.size} flagged samples: index, label, anomaly score",
            )
        )
    return out
