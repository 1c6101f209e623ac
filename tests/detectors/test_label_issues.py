"""label-issues on real poisoned digits: detection quality, class pairs, estimate, evidence, edge cases."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from riskframe import scenarios
from riskframe.detectors._flips import FlipSettings, analyse_flips, flip_scores
from riskframe.detectors._oof import members_for
from riskframe.detectors.label_issues import LabelIssues
from riskframe.errors import NotApplicableError
from riskframe.figures import grid_pixels


def f1(flagged: list[int], truth: np.ndarray) -> float:
    hits = np.intersect1d(np.asarray(flagged, dtype=int), truth).size
    return 0.0 if not hits else 2 * hits / (len(flagged) + truth.size)


def attachment(result, name: str) -> bytes:
    return base64.b64decode(next(a.data for a in result.attachments if a.name == name))


# A targeted flip: 10% of the 7s relabelled 1 ---------------------------------------------------


def test_targeted_flip_is_found_with_high_f1(digits_flip_targeted_run):
    scenario, result = digits_flip_targeted_run
    assert f1(result.evidence["flagged_indices"], scenario.flipped) >= 0.90


def test_targeted_flip_names_the_class_pair_and_its_share(digits_flip_targeted_run):
    _, result = digits_flip_targeted_run
    top = result.evidence["class_pairs"][0]
    assert (top["given"], top["suggested"], top["targeted"]) == (1, 7, True)
    assert 0.08 <= top["share_of_class"] <= 0.12
    assert not any(p["targeted"] for p in result.evidence["class_pairs"][1:])
    assert result.evidence["pattern"] == "targeted"
    assert result.metrics["targeted_pairs"] == 1.0
    assert result.metrics["pair_concentration"] == 1.0


def test_targeted_flip_summary_reads_as_targeted(digits_flip_targeted_run):
    _, result = digits_flip_targeted_run
    assert re.fullmatch(
        r"Estimated \d+\.\d% of class 7 relabelled as 1 \(1[78] samples flagged; poisoned share "
        r"of the dataset 1\.0% \[\d\.\d%, \d\.\d%\]\)",
        result.summary,
    ), result.summary


def test_targeted_flip_estimate_is_calibrated_with_an_interval(digits_flip_targeted_run):
    scenario, result = digits_flip_targeted_run
    m = result.metrics
    assert abs(m["estimated_poison_fraction"] / scenario.poisoned_share - 1) <= 0.25
    assert m["estimated_poison_fraction_low"] < scenario.poisoned_share < m["estimated_poison_fraction_high"]
    assert m["estimated_poison_fraction_low"] <= m["estimated_poison_fraction"] <= m["estimated_poison_fraction_high"]


def test_targeted_flip_fails_the_check(digits_flip_targeted_run):
    _, result = digits_flip_targeted_run
    assert result.status == "fail"
    assert 0.5 <= result.score <= 1.0


def test_evidence_is_sorted_by_suspicion_and_aligned(digits_flip_targeted_run):
    scenario, result = digits_flip_targeted_run
    ev = result.evidence
    flagged, scores = ev["flagged_indices"], ev["scores"]
    assert len(flagged) == len(scores) == len(ev["given_labels"]) == len(ev["suggested_labels"])
    assert scores == sorted(scores, reverse=True)
    assert all(0.5 <= s <= 1.0 for s in scores)
    assert ev["given_labels"] == scenario.labels[flagged].tolist()
    assert set(ev["suggested_labels"]) == {7}


def test_flagged_samples_are_shown_as_a_png_grid(digits_flip_targeted_run):
    _, result = digits_flip_targeted_run
    image = Image.open(io.BytesIO(attachment(result, "flagged-samples.png")))
    assert image.format == "PNG"
    assert image.size == grid_pixels(len(result.evidence["flagged_indices"]), 8)


def test_score_histogram_counts_every_sample(digits_flip_targeted_run):
    scenario, result = digits_flip_targeted_run
    hist = result.evidence["score_histogram"]
    assert len(hist["bins"]) == len(hist["flagged"]) + 1 == len(hist["kept"]) + 1
    assert sum(hist["flagged"]) == len(result.evidence["flagged_indices"])
    assert sum(hist["flagged"]) + sum(hist["kept"]) == scenario.labels.size
    assert sum(sum(row["flagged"]) + sum(row["kept"]) for row in hist["per_class"].values()) == scenario.labels.size
    assert Image.open(io.BytesIO(attachment(result, "score-histogram.png"))).format == "PNG"


# Random flips and clean data -------------------------------------------------------------------


def test_random_flips_read_as_spread(digits_flip_random_run):
    scenario, result = digits_flip_random_run
    assert f1(result.evidence["flagged_indices"], scenario.flipped) >= 0.88
    assert result.evidence["pattern"] == "spread"
    assert abs(result.metrics["estimated_poison_fraction"] / scenario.poisoned_share - 1) <= 0.25
    assert result.summary.startswith("Label flips spread over ")
    assert result.status == "fail"


def test_clean_digits_pass(digits_flip_clean_run):
    _, result = digits_flip_clean_run
    assert result.status == "pass"
    assert result.metrics["flagged_fraction"] <= 0.005
    assert result.score < 0.2
    assert result.summary.startswith("No sign of label poisoning: ")
    # Natural confusions are reported, not flagged as poisoning.
    assert result.evidence["background"]["attributed_to_poisoning"] is False


# Edge cases ------------------------------------------------------------------------------------


def _subset(per_class: int, labels: np.ndarray, classes: range) -> np.ndarray:
    """Indices of the first ``per_class`` samples of each class in ``classes``."""
    return np.concatenate([np.flatnonzero(labels == k)[:per_class] for k in classes])


def test_a_class_with_too_few_samples_is_skipped_with_a_reason(digits_dataset_context):
    images, labels = scenarios.digits()
    keep = np.concatenate([_subset(40, labels, range(9)), np.flatnonzero(labels == 9)[:4]])
    result = LabelIssues().run(digits_dataset_context(images[keep], labels[keep]), LabelIssues.Params())
    assert result.evidence["skipped_classes"] == [
        {
            "label": 9,
            "samples": 4,
            "reason": "4 samples, fewer than min_class_samples=10: too few to learn the class out of fold",
        }
    ]
    nines = set(np.flatnonzero(labels[keep] == 9).tolist())
    assert not nines & set(result.evidence["flagged_indices"])
    assert result.evidence["method"]["analysed_samples"] == 9 * 40
    # Unchecked is no pass: a rare label may be one an attacker added.
    assert result.status == "warn"
    assert result.summary.endswith(". Not checked, fewer than min_class_samples=10 samples: class 9 (4)")


def test_folds_shrink_to_the_smallest_class(digits_dataset_context):
    images, labels = scenarios.digits()
    keep = np.concatenate([_subset(30, labels, range(9)), np.flatnonzero(labels == 9)[:4]])
    result = LabelIssues().run(
        digits_dataset_context(images[keep], labels[keep]), LabelIssues.Params(min_class_samples=4)
    )
    assert result.evidence["method"]["folds"] == 4
    assert result.evidence["skipped_classes"] == []
    # The four 9s are learnt out of fold like every other class: none looks flipped.
    nines = set(np.flatnonzero(labels[keep] == 9).tolist())
    assert not nines & set(result.evidence["flagged_indices"])


def test_one_analysable_class_is_not_applicable(digits_dataset_context):
    images, labels = scenarios.digits()
    keep = np.concatenate([np.flatnonzero(labels == 0)[:40], np.flatnonzero(labels == 1)[:5]])
    with pytest.raises(
        NotApplicableError,
        match=re.escape(
            "label-issues needs two classes with at least 10 samples each (min_class_samples); "
            "class sizes are 0: 40, 1: 5"
        ),
    ):
        LabelIssues().run(digits_dataset_context(images[keep], labels[keep]), LabelIssues.Params())


def test_user_label_values_and_flat_features(digits_dataset_context):
    images, labels = scenarios.digits()
    poisoned, flipped = scenarios.flip_targeted(labels, 7, 1, 0.10, seed=3)
    ctx = digits_dataset_context(images.reshape(len(labels), -1), poisoned + 100, seed=3)
    result = LabelIssues().run(ctx, LabelIssues.Params())
    assert "of class 107 relabelled as 101" in result.summary
    assert set(result.evidence["suggested_labels"]) == {107}
    assert f1(result.evidence["flagged_indices"], flipped) >= 0.85
    # (N, D) features are not pictures: no image grid, only the histogram.
    assert [a.name for a in result.attachments] == ["score-histogram.png"]


# Data the screen cannot judge: never a pass ------------------------------------------------------


@pytest.mark.parametrize("case", ["scrambled labels", "noise features"])
def test_labels_the_models_cannot_learn_fail_saying_why(digits_dataset_context, case):
    """With every label randomised no single label looks wrong: "no sign of poisoning" would be a lie."""
    images, labels = scenarios.digits()
    rng = np.random.default_rng(0)
    if case == "scrambled labels":
        labels = rng.integers(0, 10, labels.size)
    else:
        images = rng.normal(size=images.shape)
    result = LabelIssues().run(digits_dataset_context(images, labels), LabelIssues.Params())
    assert (result.status, result.score) == ("fail", 0.5)
    assert re.match(r"The models learnt nothing from the features about the labels \(out-of-fold accuracy 1?\d\.\d%, "
                    r"no better than always guessing the largest class, 1\d\.\d%\): .* cannot be vouched for\. "
                    r"What the screen found regardless: ", result.summary)
    assert result.evidence["method"]["out_of_fold_accuracy"] < 0.15


def test_heavily_corrupted_labels_fail_on_the_disagreement(digits_dataset_context):
    images, labels = scenarios.digits()
    rng = np.random.default_rng(0)
    half = rng.random(labels.size) < 0.5
    scrambled = np.where(half, rng.integers(0, 10, labels.size), labels)
    result = LabelIssues().run(digits_dataset_context(images, scrambled), LabelIssues.Params())
    assert result.status == "fail"
    assert result.summary.startswith("The models disagree with 4")
    assert "max_disagreement 20%" in result.summary


def test_copies_of_flipped_rows_cannot_vouch_for_them(digits_dataset_context):
    """A copy in a training fold would make its flipped twin look right: identical rows share a fold."""
    images, labels = scenarios.digits()
    poisoned, flipped = scenarios.flip_targeted(labels, 7, 1, 0.10, seed=0)
    doubled = np.concatenate([images, images[flipped]]), np.concatenate([poisoned, poisoned[flipped]])
    result = LabelIssues().run(digits_dataset_context(*doubled), LabelIssues.Params())
    assert result.status == "fail" and "relabelled as 1" in result.summary
    copies = np.arange(labels.size, labels.size + flipped.size)
    assert f1(result.evidence["flagged_indices"], np.concatenate([flipped, copies])) >= 0.9
    assert result.evidence["method"]["duplicate_rows_kept_in_one_fold"] == flipped.size


def test_a_feature_that_is_the_label_is_left_out(digits_dataset_context):
    images, labels = scenarios.digits()
    poisoned, flipped = scenarios.flip_targeted(labels, 7, 1, 0.10, seed=0)
    leaked = np.column_stack([images.reshape(labels.size, -1), poisoned])
    result = LabelIssues().run(digits_dataset_context(leaked, poisoned), LabelIssues.Params())
    assert result.evidence["method"]["label_columns_left_out"] == [64]
    assert result.status == "fail" and f1(result.evidence["flagged_indices"], flipped) >= 0.9


# Parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_poison_fraction", 1.5, "Input should be less than or equal to 1"),
        ("folds", 1, "Input should be greater than or equal to 2"),
        ("min_class_samples", 3, "Input should be greater than or equal to 4"),
        ("min_score", 0.5, "Input should be greater than 0.5"),
        ("natural_noise_rate", -0.1, "Input should be greater than or equal to 0"),
        ("model", "forest", "Input should be 'ensemble', 'logistic', 'knn' or 'svm'"),
    ],
)
def test_params_reject_out_of_range_values(field, value, message):
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        LabelIssues.Params(**{field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_params_warn_threshold_must_not_exceed_fail_threshold():
    with pytest.raises(
        ValidationError, match=re.escape("warn_poison_fraction (0.02) must not exceed max_poison_fraction (0.01)")
    ):
        LabelIssues.Params(warn_poison_fraction=0.02, max_poison_fraction=0.01)


def test_params_reject_unknown_names():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        LabelIssues.Params(threshold=0.5)


# The decision on synthetic probabilities ----------------------------------------------------------


def _confident_probs(labels: np.ndarray, k: int, p: float = 0.95) -> np.ndarray:
    probs = np.full((labels.size, k), (1 - p) / (k - 1))
    probs[np.arange(labels.size), labels] = p
    return probs


def test_scores_are_cleanlab_quality_turned_round():
    labels = np.array([0, 1])
    probs = np.array([[0.1, 0.9], [0.2, 0.8]])
    scores, suggested = flip_scores(labels, probs)
    # normalized margin quality (p_given - p_other + 1) / 2 is 0.1 and 0.8; 1 - quality is the score.
    np.testing.assert_allclose(scores, [0.9, 0.2])
    assert suggested.tolist() == [1, 0]


def test_a_concentrated_pair_is_targeted_and_scattered_confusions_are_not():
    labels = np.repeat(np.arange(10), 100)
    probs = _confident_probs(labels, 10)
    flipped = np.flatnonzero(labels == 1)[:12]  # labelled 1, confidently 7
    probs[flipped] = _confident_probs(np.full(12, 7), 10)
    scattered = [5, 205, 405]  # labelled 0, 2, 4; each confidently another class
    for i, other in zip(scattered, (6, 3, 9), strict=True):
        probs[i] = _confident_probs(np.array([other]), 10)[0]
    findings = analyse_flips(labels, probs, FlipSettings())
    assert [(p.given, p.suggested) for p in findings.targeted] == [(1, 7)]
    assert sorted(findings.flagged.tolist()) == flipped.tolist()
    assert sorted(findings.background_indices.tolist()) == scattered
    assert findings.pattern == "targeted"
    assert 11.0 <= findings.estimate <= 12.0
    assert findings.low <= findings.estimate <= findings.high


def test_spread_flips_are_flagged_only_above_the_natural_floor():
    labels = np.repeat(np.arange(10), 100)
    rng = np.random.default_rng(0)
    for count, elevated in ((2, False), (40, True)):
        probs = _confident_probs(labels, 10)
        chosen = rng.choice(labels.size, size=count, replace=False)
        new = (labels[chosen] + rng.integers(1, 10, size=count)) % 10
        probs[chosen] = _confident_probs(new, 10)
        findings = analyse_flips(labels, probs, FlipSettings(natural_noise_rate=0.003))
        assert findings.background_elevated is elevated
        assert findings.flagged.size == (count if elevated else 0)
        assert findings.pattern == ("spread" if elevated else "none")


# Import cost -----------------------------------------------------------------------------------


def test_importing_the_detectors_loads_no_heavy_library():
    code = (
        "import sys, riskframe.detectors.label_issues, riskframe.detectors.class_outliers, "
        "riskframe.figures, riskframe.scenarios; "
        "print(sorted(m for m in ('sklearn', 'cleanlab', 'matplotlib', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_large_ensemble_leaves_the_kernel_svm_out():
    assert members_for("ensemble", 1_797) == ("logistic", "knn", "svm")
    assert members_for("ensemble", 50_000) == ("logistic", "knn")
    assert members_for("svm", 50_000) == ("svm",)
