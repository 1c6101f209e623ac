"""label-issues: flips beyond each dataset's natural noise, the three outcomes, evidence, edge cases."""

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
from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.figures import grid_pixels
from riskframe.detectors.labels._oof import members_for
from riskframe.detectors.labels.label_issues import LabelIssues
from riskframe.errors import NotApplicableError
from riskframe.spec.pipeline import Artifact, Stage


def f1(flagged: list[int], truth: np.ndarray) -> float:
    hits = np.intersect1d(np.asarray(flagged, dtype=int), truth).size
    return 0.0 if not hits else 2 * hits / (len(flagged) + truth.size)


def attachment(result, name: str) -> bytes:
    return base64.b64decode(next(a.data for a in result.attachments if a.name == name))


def overlapping(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes that overlap by nature (about a fifth of the labels disagree with any model)."""
    from sklearn.datasets import make_classification

    return make_classification(n_samples=n, n_features=5, n_informative=3, class_sep=0.5, flip_y=0,
                               random_state=seed)


# Fail: a targeted flip, 10% of the 7s relabelled 1 ------------------------------------------------


@pytest.mark.slow  # over 3 s of CPU (measured, 2 cores)
def test_targeted_flip_is_found_with_high_f1(digits_flip_targeted_run):
    scenario, result = digits_flip_targeted_run
    assert f1(result.evidence["flagged_indices"], scenario.flipped) >= 0.90


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_targeted_flip_names_the_class_pair_and_its_share(digits_flip_targeted_run):
    _, result = digits_flip_targeted_run
    (component,) = result.evidence["components"]
    assert (component["pattern"], component["given"], component["labelled"]) == ("targeted", 7, 1)
    assert 0.06 <= component["share"] <= 0.12
    assert component["low"] < component["share"] < component["high"]
    assert component["significant"] is True and component["p_value"] < 0.001
    assert result.evidence["pattern"] == "targeted" and result.evidence["confirmed"] is True
    assert result.metrics["targeted_pairs"] == 1.0


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_targeted_flip_summary_says_what_how_much_and_what_the_data_allows(digits_flip_targeted_run):
    _, result = digits_flip_targeted_run
    assert re.fullmatch(
        r"Flips beyond the data's natural noise: \d+\.\d% of class 7 relabelled as 1 \[\d+\.\d%, \d+\.\d%\], "
        r"p = \S+ \(1\d samples flagged; poisoned share of the dataset \d\.\d% \[\d\.\d%, \d\.\d%\]\)\. "
        r"(For review, not as evidence: (the \d+ further labels? most likely flipped under a free fit of spread "
        r"flips, as many as that fit expects to find them best \(expected F1 0\.\d\d\)|\d+ further labels? the "
        r"natural model finds implausible \(cleanlab, low normalized margin\)), listed in review_indices after "
        r"the flagged ones\. )?"
        r"\d\.\d% of the labels disagree with the models; the classes' overlap explains \d\.\d%\. "
        r"This data lets the screen see flips of \d+\.\d% of a class or more \(\d\.\d% of the dataset\) for most "
        r"class pairs, \d+\.\d% for the hardest \(\d -> \d\), and random flips of \d+\.\d%\.",
        result.summary,
    ), result.summary


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_targeted_flip_estimate_has_an_interval_around_the_truth(digits_flip_targeted_run):
    scenario, result = digits_flip_targeted_run
    m = result.metrics
    assert abs(m["estimated_poison_fraction"] / scenario.poisoned_share - 1) <= 0.3
    assert m["estimated_poison_fraction_low"] < scenario.poisoned_share < m["estimated_poison_fraction_high"]


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_targeted_flip_fails_the_check(digits_flip_targeted_run):
    _, result = digits_flip_targeted_run
    assert result.status == "fail"
    assert 0.5 <= result.score <= 1.0


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_evidence_is_sorted_by_suspicion_and_aligned(digits_flip_targeted_run):
    scenario, result = digits_flip_targeted_run
    ev = result.evidence
    flagged, scores = ev["flagged_indices"], ev["scores"]
    assert len(flagged) == len(scores) == len(ev["given_labels"]) == len(ev["suggested_labels"])
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert ev["given_labels"] == scenario.labels[flagged].tolist()
    assert set(ev["suggested_labels"]) == {7}


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_flagged_samples_are_shown_as_a_png_grid(digits_flip_targeted_run):
    _, result = digits_flip_targeted_run
    image = Image.open(io.BytesIO(attachment(result, "flagged-samples.png")))
    assert image.format == "PNG"
    assert image.size == grid_pixels(len(result.evidence["flagged_indices"]), 8)
    assert [a.name for a in result.attachments if a.prominent] == ["flagged-samples.png"]


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_score_histogram_counts_every_sample(digits_flip_targeted_run):
    scenario, result = digits_flip_targeted_run
    hist = result.evidence["score_histogram"]
    assert len(hist["bins"]) == len(hist["flagged"]) + 1 == len(hist["kept"]) + 1
    assert sum(hist["flagged"]) == len(result.evidence["flagged_indices"])
    assert sum(hist["flagged"]) + sum(hist["kept"]) == scenario.labels.size
    assert sum(sum(row["flagged"]) + sum(row["kept"]) for row in hist["per_class"].values()) == scenario.labels.size
    assert Image.open(io.BytesIO(attachment(result, "score-histogram.png"))).format == "PNG"


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_random_flips_read_as_spread(digits_flip_random_run):
    scenario, result = digits_flip_random_run
    assert f1(result.evidence["flagged_indices"], scenario.flipped) >= 0.88
    assert result.evidence["pattern"] == "spread"
    assert abs(result.metrics["estimated_poison_fraction"] / scenario.poisoned_share - 1) <= 0.25
    assert result.summary.startswith("Flips beyond the data's natural noise: labels changed at random in ")
    assert result.status == "fail"


def test_one_doubtful_label_the_data_cannot_tell_from_its_noise_is_named_in_the_singular(digits_dataset_context):
    from sklearn.datasets import make_classification

    features, labels = make_classification(n_samples=200, n_features=4, n_informative=2, n_redundant=0,
                                           class_sep=1.5, flip_y=0, random_state=9)
    labels[np.random.default_rng(9).choice(np.flatnonzero(labels == 0), 1, replace=False)] = 1
    result = LabelIssues().run(digits_dataset_context(features, labels), LabelIssues.Params())
    assert result.status == "warn"
    assert result.summary.startswith(
        "No sign of label poisoning beyond the data's natural noise: the most doubtful label (spread over the "
        "classes) is flagged for review, but this data cannot tell it from its own noise (p = ")


# Pass: clean digits, and the detection limit that makes the pass mean something ------------------


@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_clean_digits_pass_and_say_what_the_screen_could_see(digits_flip_clean_run):
    _, result = digits_flip_clean_run
    assert result.status == "pass"
    assert result.evidence["flagged_indices"] == []
    assert result.score < 0.2
    assert result.summary.startswith("No sign of label poisoning beyond the data's natural noise. ")
    limits = result.evidence["detection_limits"]
    assert result.metrics["detectable_share"] == pytest.approx(limits["dataset_share_most_pairs"], abs=1e-4)
    assert limits["dataset_share_most_pairs"] <= 0.01
    assert 0.0 < limits["class_share_most_pairs"] <= 0.1
    assert limits["hardest_pairs"][0]["class_share"] >= limits["class_share_most_pairs"]
    tried = result.evidence["method"]["targeted_flip_tried"]  # the limits were tried, and held
    assert tried["seen"] is True and tried["p_value"] < 0.001 and 0.05 <= tried["share"] <= 0.25



@pytest.mark.slow  # its session fixture screens all 1,797 digits with the full ensemble
def test_clean_digits_show_the_labels_listed_for_review_in_the_lists_order(digits_flip_clean_run):
    _, result = digits_flip_clean_run
    review = result.evidence["review_indices"]
    (picture,) = [a for a in result.attachments if a.name == "review-samples.png"]
    assert picture.caption.startswith(f"The first {len(review)} of {len(review)} labels listed for review, most "
                                      "doubtful first (not evidence of poisoning)")
    assert not picture.prominent  # a list for review, not the flagged samples

# Warn: data that cannot support the verdict the policy asks for ------------------------------------


def test_overlapping_classes_are_natural_noise_not_poisoning(digits_dataset_context):
    features, labels = overlapping()
    result = LabelIssues().run(digits_dataset_context(features, labels), LabelIssues.Params())
    assert result.status == "warn"
    assert result.evidence["confirmed"] is False and result.metrics["estimated_poison_fraction"] == 0.0
    natural = result.evidence["natural_noise"]
    assert natural["observed_disagreement"] > 0.1  # a raw confident-learning screen flags these
    assert abs(natural["observed_disagreement"] - natural["explained_by_overlap"]) < 0.05
    assert result.metrics["detectable_share"] > 0.01
    assert re.search(r"This data does not let the screen state a limit for a class relabelled as another: "
                     r"\d+\.\d% of class 0 relabelled as 1, tried on it, was learnt by the models and not seen "
                     r"\(p = \S+\)\. Nor random flips, up to half the labels\. The data cannot support the verdict the "
                     r"policy asks for \(flips of 1\.0% of the dataset, max_poison_fraction\)\.$", result.summary)
    tried = result.evidence["method"]["targeted_flip_tried"]
    assert tried["pair"] == [0, 1] and 0.05 <= tried["share"] <= 0.25 and tried["seen"] is False


def test_flips_hidden_in_overlap_are_listed_for_review_not_as_evidence(digits_dataset_context):
    features, labels = overlapping(n=600)
    rng = np.random.default_rng(0)
    flipped = np.sort(rng.choice(labels.size, size=24, replace=False))
    labels = labels.copy()
    labels[flipped] = 1 - labels[flipped]
    result = LabelIssues().run(digits_dataset_context(features, labels), LabelIssues.Params())
    assert result.status == "warn" and result.evidence["confirmed"] is False
    review, flagged = result.evidence["review_indices"], result.evidence["flagged_indices"]
    assert review[: len(flagged)] == flagged and len(set(review)) == len(review)
    assert result.metrics["review_samples"] == len(review) > len(flagged)
    assert np.isin(flipped, review).mean() >= 0.5  # measured: 0.71 among 82 listed (raw cleanlab: 0.62 among 235)
    more = len(review) - len(flagged)
    assert result.evidence["review_chosen_by"] == "flip-fit"
    assert re.search(f"For review, not as evidence: the {more} {'further ' if flagged else ''}labels most likely "
                     r"flipped under a free fit of spread flips, as many as that fit expects to find them "
                     r"best \(expected F1 0\.\d\d\), listed in review_indices", result.summary)


def test_where_the_flip_fit_cannot_tell_the_flips_the_review_list_is_cleanlabs(digits_dataset_context):
    from sklearn.datasets import make_classification

    features, labels = make_classification(n_samples=500, n_features=5, n_informative=3, n_classes=3,
                                           class_sep=0.5, flip_y=0, random_state=0)
    flipped = np.random.default_rng(0).choice(labels.size, size=20, replace=False)
    labels[flipped] = (labels[flipped] + 1) % 3
    result = LabelIssues().run(digits_dataset_context(features, labels), LabelIssues.Params())
    assert result.status == "warn" and result.evidence["review_chosen_by"] == "cleanlab"
    review = result.evidence["review_indices"]
    assert not result.evidence["flagged_indices"]  # measured: 83 listed
    assert (f"For review, not as evidence: {len(review)} labels the natural model finds implausible (cleanlab, low "
            "normalized margin), listed in review_indices.") in result.summary

def test_a_policy_can_fail_data_that_cannot_support_the_verdict(digits_dataset_context):
    features, labels = overlapping()
    result = LabelIssues().run(digits_dataset_context(features, labels), LabelIssues.Params(inconclusive="fail"))
    assert result.status == "fail" and result.score == 0.5
    assert result.metrics["estimated_poison_fraction"] == 0.0


def test_one_categorical_feature_with_few_distinct_rows_gets_a_verdict(digits_dataset_context):
    """The crash a real dataset found: two groups of identical rows and five folds."""
    rng = np.random.default_rng(0)
    feature = rng.integers(0, 2, 600)
    labels = np.where(rng.random(600) < 0.8, feature, 1 - feature)
    result = LabelIssues().run(digits_dataset_context(feature[:, None].astype(float), labels), LabelIssues.Params())
    assert result.status == "warn"
    method = result.evidence["method"]
    # Each group of identical rows is too large for a fold: the folds take its rows one by one,
    # and the rows stay ambiguity.
    assert method["folds"] == 5 and method["rows_of_groups_too_large_for_a_fold"] == 600
    assert method["ambiguous_rows"] == 600
    assert result.evidence["flagged_indices"] == []
    assert "600 rows are identical to rows with other labels: ambiguous, never counted as flips." in result.summary


@pytest.mark.slow  # over 3 s of CPU (measured, 2 cores)
def test_labels_the_models_cannot_learn_are_inconclusive_saying_why(digits_dataset_context):
    images, labels = scenarios.digits()
    scrambled = np.random.default_rng(0).integers(0, 10, labels.size)
    result = LabelIssues().run(digits_dataset_context(images, scrambled), LabelIssues.Params())
    assert (result.status, result.score) == ("warn", 0.25)
    assert re.match(r"The models learnt nothing from the features about the labels \(their out-of-fold probabilities "
                    r"rank the labels no better than chance; accuracy 1?\d\.\d%, always guessing the "
                    r"largest class 1\d\.\d%\): .* cannot be vouched for\. "
                    r"For review only, as the models learnt too little for any of it to be evidence: the \d+ labels "
                    r"they doubt most, listed in review_indices\. "
                    r"\d+\.\d% of the labels disagree with the models", result.summary)
    assert "No sign of label poisoning" not in result.summary
    assert result.evidence["flagged_indices"] == []
    assert result.metrics["flagged_samples"] == 0 and result.metrics["review_samples"] > 0
    assert result.summary.endswith("The screen could see no flip in this data.")


@pytest.mark.slow  # over 3 s of CPU (measured, 2 cores)
def test_half_the_labels_scrambled_is_found(digits_dataset_context):
    images, labels = scenarios.digits()
    rng = np.random.default_rng(0)
    scrambled = np.where(rng.random(labels.size) < 0.5, rng.integers(0, 10, labels.size), labels)
    result = LabelIssues().run(digits_dataset_context(images, scrambled), LabelIssues.Params())
    assert result.status == "fail" and result.evidence["pattern"] == "spread"
    assert result.metrics["estimated_poison_fraction"] > 0.3


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
    assert result.summary.endswith(" Not checked, fewer than min_class_samples=10 samples: class 9 (4).")


def test_folds_shrink_to_the_smallest_class(digits_dataset_context):
    images, labels = scenarios.digits()
    keep = np.concatenate([_subset(30, labels, range(9)), np.flatnonzero(labels == 9)[:4]])
    result = LabelIssues().run(
        digits_dataset_context(images[keep], labels[keep]), LabelIssues.Params(min_class_samples=4)
    )
    assert result.evidence["method"]["folds"] == 4
    assert result.evidence["skipped_classes"] == []
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


@pytest.mark.slow  # over 3 s (issue 13's fast lane)
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


@pytest.mark.slow  # over 3 s (issue 13's fast lane)
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


@pytest.mark.slow  # over 3 s (issue 13's fast lane)
def test_a_feature_that_is_the_label_is_left_out(digits_dataset_context):
    images, labels = scenarios.digits()
    poisoned, flipped = scenarios.flip_targeted(labels, 7, 1, 0.10, seed=0)
    leaked = np.column_stack([images.reshape(labels.size, -1), poisoned])
    result = LabelIssues().run(digits_dataset_context(leaked, poisoned), LabelIssues.Params())
    assert result.evidence["method"]["label_columns_left_out"] == [64]
    assert result.status == "fail" and f1(result.evidence["flagged_indices"], flipped) >= 0.9
    assert "Left out of the models: feature column 64, which determines the label." in result.summary


def test_a_column_that_numbers_the_rows_is_left_out_and_named(csv_table_context):
    """A table sorted by outcome with its R row names written out: the models must not read the
    file's order as the labels."""
    features, labels = overlapping(300)
    order = np.argsort(labels, kind="stable")
    frame = np.column_stack([np.arange(1, labels.size + 1), features[order, :2], labels[order]])
    lines = [f"{int(row[0])},{row[1]:.6f},{row[2]:.6f},{int(row[3])}" for row in frame]
    result = LabelIssues().run(csv_table_context("obs,a,b,outcome", lines, "outcome"), LabelIssues.Params())
    assert result.evidence["method"]["row_number_columns_left_out"] == [0]
    assert result.evidence["method"]["label_columns_left_out"] == []
    assert "Left out of the models: column 'obs', which numbers the rows." in result.summary


def test_a_column_that_numbers_entities_keeps_their_rows_in_one_fold_and_is_left_out(csv_table_context):
    """A randomised trial with two rows per patient, its patient id a feature: split across folds, a
    row's arm is read off its twin's (through the id and the patient's own measurements), and the
    screen failed; with each patient in one fold the models learn nothing about the arm."""
    rng = np.random.default_rng(0)
    arms = rng.integers(0, 3, 300)
    patient = rng.normal(size=(300, 3))
    lines = [f"{i + 1},{a:.6f},{b:.6f},{c:.6f},{event},{rng.exponential():.6f},{arms[i]}"
             for i, (a, b, c) in enumerate(patient) for event in (1, 2)]
    result = LabelIssues().run(csv_table_context("id,age,nodes,extent,event,time,arm", lines, "arm"),
                               LabelIssues.Params())
    assert result.evidence["method"]["entity_number_columns_left_out"] == [0]
    assert result.evidence["method"]["row_number_columns_left_out"] == []
    assert result.status == "warn"
    assert result.summary.startswith("The models learnt nothing from the features about the labels")
    assert "Left out of the models: column 'id', which numbers entities, each kept in one fold." in result.summary


@pytest.mark.parametrize("column", [
    np.arange(1.0, 201.0),  # numbers the rows
    np.repeat(np.arange(1.0, 101.0), 2),  # numbers entities of two rows each
])
def test_a_table_whose_only_feature_numbers_rows_or_entities_has_nothing_to_judge_by(digits_dataset_context, column):
    labels = np.tile([0, 1], 100)
    with pytest.raises(ValueError, match=r"every feature column \(1\) determines the label or numbers the rows or "
                                         r"entities: there is nothing to check the labels against"):
        LabelIssues().run(digits_dataset_context(column[:, None], labels), LabelIssues.Params())


# Parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_poison_fraction", 1.5, "Input should be less than or equal to 1"),
        ("folds", 1, "Input should be greater than or equal to 2"),
        ("min_class_samples", 3, "Input should be greater than or equal to 4"),
        ("alpha", 0.5, "Input should be less than 0.5"),
        ("natural_noise_rate", -0.1, "Input should be greater than or equal to 0"),
        ("inconclusive", "pass", "Input should be 'warn' or 'fail'"),
        ("model", "forest", "Input should be 'ensemble', 'logistic', 'knn', 'svm' or 'boosting'"),
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


# Import cost and the ensemble ------------------------------------------------------------------


def test_importing_the_detectors_loads_no_heavy_library():
    code = (
        "import sys, riskframe.detectors.labels.label_issues, riskframe.detectors.labels.class_outliers, "
        "riskframe.detectors.figures, riskframe.scenarios; "
        "print(sorted(m for m in ('sklearn', 'cleanlab', 'matplotlib', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_ensemble_adds_boosting_on_tables_and_leaves_the_quadratic_members_out_of_large_data():
    assert members_for("ensemble", 1_797, images=True) == ("logistic", "logistic-c1", "knn", "svm")
    assert members_for("ensemble", 1_797) == ("logistic", "logistic-c1", "knn", "svm", "boosting")
    assert members_for("ensemble", 20_000) == ("logistic", "logistic-c1", "knn", "svm", "boosting")
    assert members_for("ensemble", 20_001) == ("logistic", "logistic-c1", "boosting")
    assert members_for("ensemble", 20_001, images=True) == ("logistic", "logistic-c1", "boosting")
    assert members_for("svm", 50_000) == ("svm",)
    assert members_for("knn", 50_000) == ("knn",)


def test_households_linked_by_shared_prices_still_get_folds_the_models_learn_from(tmp_path):
    """A brand-choice panel: 200 households, 6 purchases each, at one of 30 weekly price vectors
    that every household shares. Identical rows join all households into one group, which no fold
    can hold; the folds go back to the households and the models learn the choice from the prices."""
    rng = np.random.default_rng(0)
    prices = rng.normal(size=(30, 3))
    week = rng.integers(0, 30, 1_200)
    household = np.repeat(np.arange(200), 6)
    features = prices[week]
    labels = np.where(rng.random(1_200) < 0.85, prices[week].argmin(axis=1), rng.integers(0, 3, 1_200))
    np.savez(tmp_path / "panel.npz", X=features, y=labels, g=household)
    artifact = Artifact(name="panel", type="dataset", path="panel.npz", format="npz", features="X", labels="y",
                        groups="g")
    stage = Stage(name="train", kind="data-preparation", artifacts=[artifact])
    ctx = RunContext(stage=stage, bindings={"dataset": (artifact,)}, store=ArtifactStore(tmp_path), seed=0)
    result = LabelIssues().run(ctx, LabelIssues.Params())
    method = result.evidence["method"]
    assert method["rows_of_groups_too_large_for_a_fold"] == 1_200 and method["folds"] == 5
    assert method["out_of_fold_accuracy"] > 0.8
    assert "learnt nothing" not in result.summary
    if method["ambiguous_rows"]:
        assert (f"{method['ambiguous_rows']} rows are in groups (identical rows, declared groups) with rows of other "
                "labels: ambiguous, never counted as flips.") in result.summary
