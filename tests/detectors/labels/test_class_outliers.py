"""class-outliers on real digits: clean data passes, foreign samples stand out, profiles add up."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from riskframe import scenarios
from riskframe.detectors.figures import grid_pixels
from riskframe.detectors.labels.class_outliers import ClassOutliers
from riskframe.errors import ArtifactError

FAST = ClassOutliers.Params(n_estimators=50)


def with_foreign_samples(count: int, label: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The digits plus ``count`` random-noise images labelled ``label``; returns their indices."""
    images, labels = scenarios.digits()
    noise = np.random.default_rng(seed).uniform(0, 16, size=(count, 8, 8))
    foreign = np.arange(labels.size, labels.size + count)
    return np.concatenate([images, noise]), np.concatenate([labels, np.full(count, label)]), foreign


def test_clean_digits_pass_and_flag_under_one_percent(digits_dataset_context):
    images, labels = scenarios.digits()
    result = ClassOutliers().run(digits_dataset_context(images, labels), ClassOutliers.Params())
    assert result.status == "pass"
    assert result.metrics["outlier_fraction"] <= 0.01
    profiles = result.evidence["class_profiles"]
    assert [p["label"] for p in profiles] == list(range(10))
    assert [p["count"] for p in profiles] == np.bincount(labels).tolist()
    assert sum(p["flagged"] for p in profiles) == len(result.evidence["flagged_indices"])
    assert set(profiles[0]) == {
        "label",
        "count",
        "mean_norm",
        "mean_variance",
        "median_score",
        "cutoff",
        "flagged",
        "flagged_share",
    }


def test_isolation_forest_auto_contamination_flags_a_tenth_where_this_flags_few(digits_dataset_context):
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import StandardScaler

    images, labels = scenarios.digits()
    features = StandardScaler().fit_transform(images.reshape(len(labels), -1))
    auto = sum(
        int(
            (
                IsolationForest(n_estimators=50, random_state=0)
                .fit(features[labels == k])
                .predict(features[labels == k])
                == -1
            ).sum()
        )
        for k in range(10)
    )
    ours = ClassOutliers().run(digits_dataset_context(images, labels), FAST)
    assert auto / labels.size > 0.08
    assert ours.metrics["outlier_fraction"] < 0.02


def test_foreign_samples_stand_out_in_their_class(digits_dataset_context):
    images, labels, foreign = with_foreign_samples(12, label=3)
    result = ClassOutliers().run(digits_dataset_context(images, labels), FAST)
    flagged = result.evidence["flagged_indices"]
    assert np.intersect1d(flagged, foreign).size >= 10
    assert set(flagged[:10]) <= set(foreign.tolist())  # the most isolated ones come first
    assert result.evidence["scores"] == sorted(result.evidence["scores"], reverse=True)
    assert all(0.0 <= s <= 1.0 for s in result.evidence["scores"])
    worst = max(result.evidence["class_profiles"], key=lambda p: p["flagged_share"])
    assert worst["label"] == 3
    assert result.status == "fail"
    (crowded,) = [t for t in result.evidence["class_tests"] if t["crowded"]]
    assert crowded["label"] == 3 and crowded["p_value"] < 0.001 and crowded["excess"] > 0.05
    assert re.fullmatch(
        r"Class 3 \(\d+ of 195, \d+\.\d%\) holds significantly more outliers than the other classes \(up to "
        r"\d+\.\d% of the class beyond their \d\.\d%\): foreign or corrupted samples may have been added there",
        result.summary,
    ), result.summary


def test_flagged_samples_are_shown_with_their_label(digits_dataset_context):
    images, labels, _ = with_foreign_samples(5, label=0)
    result = ClassOutliers().run(digits_dataset_context(images, labels), FAST.model_copy(update={"max_images": 4}))
    grid = next(a for a in result.attachments if a.name == "flagged-samples.png")
    assert Image.open(io.BytesIO(base64.b64decode(grid.data))).size == grid_pixels(4, 8)
    assert grid.caption.startswith(f"The 4 most isolated of {len(result.evidence['flagged_indices'])} flagged")
    assert [a.name for a in result.attachments if a.prominent] == ["flagged-samples.png"]


def test_representations_are_used_when_bound(digits_dataset_context):
    images, labels = scenarios.digits()
    flat = images.reshape(len(labels), -1)
    reps = flat[:, ::4] + 0.5  # any (N, D) array row-aligned with the dataset
    result = ClassOutliers().run(digits_dataset_context(images, labels, representations=reps), FAST)
    assert result.evidence["features"] == "representations"
    with pytest.raises(ArtifactError, match="representations have 100 rows but dataset 'train' has 1797"):
        ClassOutliers().run(digits_dataset_context(images, labels, representations=reps[:100]), FAST)


def test_a_class_too_small_to_profile_is_skipped(digits_dataset_context):
    images, labels = scenarios.digits()
    keep = np.concatenate([np.flatnonzero(labels != 9), np.flatnonzero(labels == 9)[:5]])
    result = ClassOutliers().run(digits_dataset_context(images[keep], labels[keep]), FAST)
    assert result.evidence["skipped_classes"] == [
        {"label": 9, "samples": 5, "reason": "fewer than min_class_samples=10 samples"}
    ]
    nines = set(np.flatnonzero(labels[keep] == 9).tolist())
    assert not nines & set(result.evidence["flagged_indices"])
    assert result.evidence["class_profiles"][9]["cutoff"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mad_threshold", 0.5, "Input should be greater than or equal to 1"),
        ("max_class_outlier_fraction", 2.0, "Input should be less than or equal to 1"),
        ("alpha", 0.0, "Input should be greater than 0"),
        ("n_estimators", 1, "Input should be greater than or equal to 10"),
    ],
)
def test_params_reject_out_of_range_values(field, value, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        ClassOutliers.Params(**{field: value})


def test_a_dataset_s_own_tail_is_not_a_finding(digits_dataset_context):
    """Every class of a heavy-tailed dataset holds outliers: no class stands out, so nothing fails."""
    rng = np.random.default_rng(0)
    features = rng.standard_t(df=2, size=(900, 6))  # heavy tails in every class alike
    labels = np.repeat(np.arange(3), 300)
    result = ClassOutliers().run(digits_dataset_context(features, labels), FAST)
    assert result.metrics["outlier_fraction"] > 0.0
    assert result.status in ("pass", "warn") and not any(t["crowded"] for t in result.evidence["class_tests"])
    assert "no class significantly more than the others: the dataset's own tail, not a finding" in result.summary


def test_the_detection_limit_is_stated_and_small_classes_warn(digits_dataset_context):
    images, labels = scenarios.digits()
    clean = ClassOutliers().run(digits_dataset_context(images, labels), FAST)
    assert clean.status == "pass" and 0.0 < clean.metrics["detectable_class_share"] <= 0.05
    keep = np.concatenate([np.flatnonzero(labels == k)[:20] for k in range(10)])
    small = ClassOutliers().run(digits_dataset_context(images[keep], labels[keep]), FAST)
    assert small.status == "warn" and small.metrics["detectable_class_share"] > 0.05
    assert re.search(r"This data cannot show a class with 5% foreign samples \(max_class_outlier_fraction\): a class "
                     r"would need more than \d+\.\d% foreign samples to stand out$", small.summary), small.summary


@pytest.mark.parametrize(("strays", "status"), [(1, "warn"), (3, "fail")])
def test_a_class_fails_on_its_share_only_from_three_strays(digits_dataset_context, strays, status):
    """15 zeros among 60 of every other digit: too few to show 5% foreign samples (warn), but three
    noise images among them do stand out."""
    images, labels = scenarios.digits()
    keep = np.concatenate([np.flatnonzero(labels == k)[: 60 if k else 15] for k in range(10)])
    noise = np.random.default_rng(1).uniform(0, 16, size=(strays, 8, 8))
    ctx = digits_dataset_context(
        np.concatenate([images[keep], noise]), np.concatenate([labels[keep], np.zeros(strays)])
    )
    result = ClassOutliers().run(ctx, FAST)
    zero = result.evidence["class_profiles"][0]
    assert zero["flagged"] >= strays and zero["flagged_share"] > 0.05
    assert result.status == status


def test_small_classes_far_from_a_large_one_are_not_foreign(digits_dataset_context):
    """Two clean classes of 13 and 14 samples beside one of 273: to a forest of every row they are
    rare, and each of their samples read as unlike any class (the class failed with all of them
    flagged); they are classes, as typical of themselves as the large one is."""
    from sklearn.datasets import make_classification

    features, labels = make_classification(n_samples=300, n_features=2, n_informative=2, n_redundant=0, n_classes=3,
                                            n_clusters_per_class=1, weights=[20 / 22, 1 / 22, 1 / 22], flip_y=0.0,
                                            class_sep=2.5, random_state=975599732)
    assert sorted(np.bincount(labels).tolist()) == [13, 14, 273]
    result = ClassOutliers().run(digits_dataset_context(features, labels), ClassOutliers.Params())
    assert result.status != "fail" and result.metrics["flagged_samples"] == 0.0


def test_columns_that_number_rows_or_entities_are_left_out_and_named(csv_table_context):
    """A panel sorted by class, its row names and subject ids written out: where a row sits in the
    file says nothing of the sample, and the classes must be profiled and scored as if the two
    columns were not there (in a file sorted by class, the row numbers alone set the classes apart)."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 150)
    features = rng.normal(size=(300, 3)) + labels[:, None]
    subject = np.repeat(np.arange(1, 101), 3)
    rows = [f"{float(a):.6f},{float(b):.6f},{float(c):.6f},{label}"
            for (a, b, c), label in zip(features, labels, strict=True)]
    numbered = [f"{i + 1},{subject[i]},{row}" for i, row in enumerate(rows)]
    result = ClassOutliers().run(csv_table_context("obs,subject,a,b,c,label", numbered, "label"), FAST)
    assert result.evidence["row_number_columns_left_out"] == [0]
    assert result.evidence["entity_number_columns_left_out"] == [1]
    assert result.summary.endswith(
        ". Left out of the forests: column 'obs', which numbers the rows; column 'subject', which numbers entities.")
    without = ClassOutliers().run(csv_table_context("a,b,c,label", rows, "label"), FAST)
    assert result.evidence["class_profiles"] == without.evidence["class_profiles"]
    assert result.evidence["flagged_indices"] == without.evidence["flagged_indices"]
    assert result.summary.startswith(without.summary)


def test_a_table_whose_only_feature_numbers_the_rows_has_nothing_to_profile(digits_dataset_context):
    labels = np.repeat([0, 1], 100)
    with pytest.raises(ValueError, match=r"every feature column \(1\) numbers the rows or entities: there is nothing "
                                         r"to profile the classes by"):
        ClassOutliers().run(digits_dataset_context(np.arange(1.0, 201.0)[:, None], labels), FAST)
