"""``class-outliers``: samples that do not look like the rest of their class.

The beginner's poisoning screen done properly: profile every class (size, how far its mean sits
from the overall mean, its spread), fit one IsolationForest per class on standardised features
(seeded), and flag the samples a class's forest isolates unusually fast.

Thresholding. IsolationForest's ``contamination="auto"`` flags every sample whose anomaly score
exceeds 0.5, about 12% of every digit class whatever the data hold (precision 0.24-0.29 on label
flips). Here a sample is flagged when its within-class score stands out: above the median of all
within-class scores by ``mad_threshold`` robust standard deviations (1.4826 x the median absolute
deviation), and above 0.5, the score of a sample of average depth. On clean digits that flags
about 0.6%.

The verdict is calibrated on each dataset. Every real dataset has a tail: 2-10% of the samples of
clean public tabular datasets (breast cancer, crabs, biopsy, company rankings) stand out within
their class, because their features are skewed, discrete or heavy-tailed. That tail is the
dataset's, not an attacker's. What foreign samples injected into one class do is make *that
class* hold more outliers than the others: each class's flagged count is tested against the
rate of the other classes (one-sided binomial, Bonferroni over classes). A class fails when it
holds significantly more, and more than ``max_class_outlier_fraction`` of its samples beyond the
rest. The result states the detection limit: the share of foreign samples a class of median size
would need to stand out, and warns when that exceeds ``max_class_outlier_fraction``.

Only samples unlike *any* class count: a sample unlike its class but typical of another (a rare
rule case of a decision table, a '7' among the 1s) is a question for ``label-issues``. What is
typical of the dataset is judged twice, by a forest of every row and by one of as many rows of
each class as the smallest has: to the first alone, a small class far from a large one would be
foreign in its entirety.

What it is for: foreign or corrupted samples (a 7 filed among the 1s, a blank image, a feature
vector from another distribution). It is not a label-flip detector: a targeted flip puts a
*cluster* of similar samples in the class, which isolation forests mask; ``label-issues`` is the
control for that. The benchmark reports both honestly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from riskframe.data.datasets import Dataset
from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.context import RunContext
from riskframe.detectors.labels.vouch import entity_numbers, row_numbers
from riskframe.errors import NotApplicableError
from riskframe.results import Attachment, DetectorResult

AVERAGE_DEPTH_SCORE = 0.5  # IsolationForest's anomaly score of a sample of average path length
HISTOGRAM_BINS = np.linspace(0.0, 1.0, 21)
# A class fails on its own share only from this many flagged samples: one or two strays in a
# class of 20 are chance, not a crowd.
MIN_CLASS_OUTLIERS = 3
DETECTION_POWER = 0.8  # the detection limit is the share seen 8 times in 10
FAR_OUT = 8.0  # robust deviations above the whole dataset's median that no class explains


class ClassOutliersParams(DetectorParams):
    """Parameters of ``class-outliers``.

    A class fails when it holds significantly more outliers than the other classes (``alpha``,
    Bonferroni over classes) and more than ``max_class_outlier_fraction`` (5%) of its samples
    beyond their rate; the dataset's own tail, shared by every class, is not a finding, and
    classes differ naturally by a few percent (malignant tumours vary more than benign ones). The
    result warns when this data could not show that share.
    """

    n_estimators: int = Field(default=100, ge=10, le=2000, description="trees per class forest")
    mad_threshold: float = Field(
        default=4.0,
        ge=1.0,
        le=50.0,
        description="robust standard deviations above the class median an outlier's score must reach",
    )
    alpha: float = Field(default=0.001, gt=0.0, lt=0.5,
                         description="significance level of a class holding more outliers than the rest")
    max_class_outlier_fraction: float = Field(
        default=0.05,
        gt=0.0,
        le=1.0,
        description="share of its samples a class may hold as outliers beyond the other classes' rate; "
                    "warn when this data could not show that share",
    )
    min_class_samples: int = Field(default=10, ge=3, le=10_000, description="classes with fewer samples are skipped")
    max_images: int = Field(default=40, ge=0, le=400, description="flagged samples shown as pictures")


class ClassOutliers(Detector[ClassOutliersParams]):
    """Samples isolated within their own class (IsolationForest per class)."""

    name: ClassVar[str] = "class-outliers"
    title: ClassVar[str] = "Class-wise profiles and per-class IsolationForest outliers"
    requires = ("dataset",)
    optional = ("representations",)
    Params = ClassOutliersParams
    techniques: ClassVar[tuple[str, ...]] = ("AML.T0020", "AML.T0059")
    imports: ClassVar[tuple[str, ...]] = (
        "sklearn.ensemble", "sklearn.preprocessing", "sklearn.pipeline", "riskframe.detectors.figures:warm_up",
    )
    contract_params: ClassVar[Mapping[str, Any]] = {"n_estimators": 10}  # the contract suite's 200 digits

    def run(self, ctx: RunContext, params: ClassOutliersParams) -> DetectorResult:
        """Score every sample within its class and flag the ones that stand out."""
        dataset: Dataset = ctx.dataset()
        source = "representations" if ctx.has("representations") else "dataset features"
        features = ctx.representations() if ctx.has("representations") else dataset.features
        numbers, ids = ([], []) if ctx.has("representations") else (row_numbers(features), entity_numbers(features))
        features = _without_place_columns(features, numbers, ids)
        scores, cutoffs, skipped = class_outlier_scores(features, dataset.labels, params, ctx.seed)
        flagged_mask = np.isfinite(cutoffs[dataset.labels]) & (scores > cutoffs[dataset.labels])
        flagged = np.flatnonzero(flagged_mask)
        flagged = flagged[np.argsort(-scores[flagged], kind="stable")]
        profiles = class_profiles(features, dataset, scores, flagged_mask, cutoffs)
        tests = crowded_classes(profiles, params.alpha, params.max_class_outlier_fraction)
        limit = detection_limit(profiles, params.alpha)
        share = flagged.size / dataset.n_samples
        crowded = [t for t in tests if t["crowded"]]
        status: Literal["pass", "warn", "fail"] = (
            "fail" if crowded else "warn" if limit > params.max_class_outlier_fraction else "pass")
        worst = max(tests, key=lambda t: t["excess"], default=None)
        return DetectorResult(
            status=status,
            score=_score(crowded, worst),
            summary=". ".join(filter(None, (_summary(flagged.size, share, dataset.n_samples, crowded, limit, params),
                                            _left_out(dataset, numbers, ids)))),
            metrics={
                "outlier_fraction": share,
                "flagged_samples": float(flagged.size),
                "max_class_outlier_fraction": max((float(p["flagged_share"]) for p in profiles), default=0.0),
                "max_class_excess": float(worst["excess"]) if worst else 0.0,
                "detectable_class_share": float(min(limit, 1.0)),
            },
            evidence={
                "flagged_indices": flagged.tolist(),
                "scores": [round(float(s), 4) for s in scores[flagged]],
                "labels": [dataset.classes[c].item() for c in dataset.labels[flagged]],
                "class_profiles": profiles,
                "class_tests": tests,
                "detectable_class_share": round(float(min(limit, 1.0)), 4),
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
                "row_number_columns_left_out": numbers,
                "entity_number_columns_left_out": ids,
            },
            attachments=_attachments(dataset, scores, flagged, flagged_mask, params.max_images),
        )


def class_outlier_scores(
    features: np.ndarray, labels: np.ndarray, params: ClassOutliersParams, seed: int
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Per-sample anomaly scores in [0, 1] (1 = isolated at once) and each class's cutoff.

    Returns
    -------
    scores : numpy.ndarray
        IsolationForest anomaly score of each sample within its class (at most 0.5 where the
        whole dataset's forest finds it ordinary; just above its class's cutoff where that forest
        finds it extreme); 0 for skipped classes.
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
        profiled = ~np.isin(labels, skipped)
        # The whole dataset seen two ways: every row, and as many rows of each class as the
        # smallest has (see _balanced); one way when the classes are the same size.
        every_row, balanced = np.flatnonzero(profiled), _balanced(labels, profiled, seed)
        overall = [-IsolationForest(n_estimators=params.n_estimators, random_state=seed)
                   .fit(standardised[rows]).score_samples(standardised)
                   for rows in ([every_row, balanced] if balanced.size < every_row.size else [every_row])]
    # A sample unlike its class but typical of the dataset is a label question (label-issues), or
    # a rare but ordinary case (a rule of a decision table): a foreign or corrupted sample is
    # unlike *any* class, so only samples the whole dataset's forests both find unusual count.
    ordinary = np.any([seen <= _robust_cutoff(seen[profiled], params.mad_threshold) for seen in overall], axis=0)
    scores[ordinary & profiled] = np.minimum(scores[ordinary & profiled], AVERAGE_DEPTH_SCORE)
    # Each class's cutoff sits above its own median, by at least the spread of every profiled
    # sample: a class whose samples are nearly identical (benign cytology, all ones) has almost no
    # spread of its own, and a cutoff from it alone would flag every sample that differs at all.
    pooled = _spread(scores[profiled])
    for code in np.setdiff1d(np.arange(n_classes), skipped):
        members = scores[labels == code]
        cutoffs[code] = max(AVERAGE_DEPTH_SCORE,
                            float(np.median(members)) + params.mad_threshold * max(_spread(members), pooled))
    # A class of a few dozen samples gives its forest too little to isolate strangers with (uniform
    # noise among 300 digits scores 0.58-0.64 in its class): a sample both of the whole dataset's
    # forests find extreme (FAR_OUT robust deviations) is unlike every class, and flagged whatever
    # its class forest says.
    far_out = np.all([seen > float(np.median(seen[profiled])) + FAR_OUT * _spread(seen[profiled])
                      for seen in overall], axis=0) & profiled
    scores[far_out] = np.maximum(scores[far_out], cutoffs[labels[far_out]] + 1e-9)
    return scores, cutoffs, skipped


def _balanced(labels: np.ndarray, profiled: np.ndarray, seed: int) -> np.ndarray:
    """Indices of as many rows of each profiled class as the smallest has (seeded).

    A forest fitted on every row is the largest class's: a class twenty times smaller, away from
    it, is rare to it, and all of that class's samples read as unlike any class (every sample of
    two clean classes of 13 and 14 rows beside one of 273 was flagged). Fitted on these rows alone,
    the forest misses rare rows of the large classes (a passenger table of 14 distinct rows: 61 of
    its survivors flagged), so a sample must look unusual to both."""
    rng = np.random.default_rng(seed)
    codes, counts = np.unique(labels[profiled], return_counts=True)
    smallest = int(counts.min())
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == code), size=smallest, replace=False)
                                   for code in codes]))


def _spread(scores: np.ndarray) -> float:
    """Robust standard deviation: 1.4826 times the median absolute deviation."""
    return 1.4826 * float(np.median(np.abs(scores - np.median(scores))))


def _robust_cutoff(scores: np.ndarray, k: float) -> float:
    return max(AVERAGE_DEPTH_SCORE, float(np.median(scores)) + k * _spread(scores))


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


def crowded_classes(profiles: list[dict[str, Any]], alpha: float, max_excess: float) -> list[dict[str, Any]]:
    """Each profiled class's flagged count tested against the other classes' rate.

    A class is crowded when it holds significantly more (one-sided binomial, Bonferroni over the
    classes tested) and more than ``max_excess`` of its samples beyond the others' rate. The rate
    of the others gets one pseudo-outlier, so that a dataset with no outlier elsewhere does not
    make one stray significant.
    """
    from scipy.stats import binom

    profiled = [p for p in profiles if p["cutoff"] is not None]
    flagged_total = sum(p["flagged"] for p in profiled)
    samples_total = sum(p["count"] for p in profiled)
    tests = []
    for p in profiled if len(profiled) > 1 else []:
        rest_rate = (flagged_total - p["flagged"] + 1) / (samples_total - p["count"] + 2)
        p_value = min(1.0, len(profiled) * float(binom.sf(p["flagged"] - 1, p["count"], rest_rate)))
        excess = p["flagged"] / p["count"] - rest_rate
        tests.append({
            "label": p["label"],
            "flagged": p["flagged"],
            "count": p["count"],
            "rest_rate": round(rest_rate, 4),
            "excess": round(excess, 4),
            "p_value": float(f"{p_value:.3g}"),
            "crowded": bool(p_value < alpha and excess > max_excess and p["flagged"] >= MIN_CLASS_OUTLIERS),
        })
    return tests


def detection_limit(profiles: list[dict[str, Any]], alpha: float) -> float:
    """Share of foreign samples a class of median size needs to be seen (8 times in 10), from the
    normal approximation of the binomial test of :func:`crowded_classes`; ``inf`` when no class
    can be compared with another."""
    from scipy.stats import norm

    profiled = [p for p in profiles if p["cutoff"] is not None]
    if len(profiled) < 2:
        return float("inf")
    size = float(np.median([p["count"] for p in profiled]))
    rate = (sum(p["flagged"] for p in profiled) + 1) / (sum(p["count"] for p in profiled) + 2)
    z_alpha, z_power = norm.isf(alpha / len(profiled)), norm.ppf(DETECTION_POWER)
    # Smallest extra share e whose expected excess count clears the test: e * size against the
    # binomial spread under the null and under the shifted rate.
    excess = np.linspace(0.001, 1.0, 1000)
    shifted = np.minimum(rate + excess, 1.0)
    seen = excess * size >= (z_alpha * np.sqrt(size * rate * (1 - rate))
                             + z_power * np.sqrt(size * shifted * (1 - shifted)))
    if not seen.any():
        return float("inf")
    return float(max(excess[np.argmax(seen)], MIN_CLASS_OUTLIERS / size))


def _score(crowded: list[dict[str, Any]], worst: dict[str, Any] | None) -> float:
    """0 with no class above the others' rate; 0.5 for a class that fails; 1 for one with a fifth
    of its samples beyond the rest."""
    excess = max(0.0, float(worst["excess"])) if worst else 0.0
    score = min(1.0, excess / 0.2)
    return float(max(score, 0.5) if crowded else min(score, 0.49))


def _summary(count: int, share: float, n: int, crowded: list[dict[str, Any]], limit: float,
             params: ClassOutliersParams) -> str:
    needed = max(limit, params.max_class_outlier_fraction)
    can_see = (f"a class would need more than {needed:.1%} foreign samples to stand out" if np.isfinite(limit)
               else "no two classes can be compared, so no class can be seen to stand out")
    if crowded:
        worst = max(crowded, key=lambda t: t["excess"])
        classes = ", ".join(f"{t['label']} ({t['flagged']} of {t['count']}, {t['flagged'] / t['count']:.1%})"
                            for t in crowded)
        return (f"Class{'es' if len(crowded) > 1 else ''} {classes} hold{'' if len(crowded) > 1 else 's'} "
                f"significantly more outliers than the other classes (up to {worst['excess']:.1%} of the class "
                f"beyond their {worst['rest_rate']:.1%}): foreign or corrupted samples may have been added there")
    tail = ("No sample stands out within its class" if count == 0 else
            f"{count} of {n} samples ({share:.1%}) stand out within their class, no class significantly more than "
            "the others: the dataset's own tail, not a finding")
    if limit > params.max_class_outlier_fraction:
        return (f"{tail}. This data cannot show a class with {params.max_class_outlier_fraction:.0%} foreign "
                f"samples (max_class_outlier_fraction): {can_see}")
    return f"{tail}; {can_see}"


def _without_place_columns(features: np.ndarray, numbers: list[int], ids: list[int]) -> np.ndarray:
    """``features`` without the columns that number the rows or entities: they say where a row
    sits in the file, not what the sample is, and in a file sorted by class they would set each
    class apart by its position (``label-issues`` leaves the same columns out)."""
    left_out = sorted(set(numbers) | set(ids))
    if len(left_out) == features.shape[1]:
        raise ValueError(f"every feature column ({features.shape[1]}) numbers the rows or entities: there is "
                         "nothing to profile the classes by")
    return np.delete(features, left_out, axis=1) if left_out else features


def _left_out(dataset: Dataset, numbers: list[int], ids: list[int]) -> str:
    """The sentence naming the columns the forests never saw, if any."""
    why = ((numbers, "numbers the rows", "number the rows"), (ids, "numbers entities", "number entities"))
    sentences = [f"{', '.join(dataset.column_named(c) for c in columns)}, which {one if len(columns) == 1 else several}"
                 for columns, one, several in why if columns]
    return f"Left out of the forests: {'; '.join(sentences)}." if sentences else ""


def _histogram(scores: np.ndarray, flagged: np.ndarray) -> dict[str, Any]:
    return {
        "bins": [round(float(b), 2) for b in HISTOGRAM_BINS],
        "flagged": np.histogram(scores[flagged], HISTOGRAM_BINS)[0].tolist(),
        "kept": np.histogram(scores[~flagged], HISTOGRAM_BINS)[0].tolist(),
    }


def _attachments(
    dataset: Dataset, scores: np.ndarray, flagged: np.ndarray, mask: np.ndarray, max_images: int
) -> list[Attachment]:
    from riskframe.detectors.figures import histogram_png, image_grid_png, png_attachment

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
                prominent=True,
            )
        )
    return out
