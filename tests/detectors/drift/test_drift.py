"""``drift`` on real files: one dataset, or a folder of windows, against the profile it declares."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.detectors.drift.drift import Drift
from riskframe.detectors.drift.profile import dumps_profile, profile_table
from riskframe.errors import NotApplicableError
from riskframe.io.files import write_npz
from riskframe.spec.pipeline import Artifact, Stage


def _arrays(rng, n, class_shift=0.0):
    labels = rng.integers(0, 3, n)
    features = rng.normal(size=(n, 4)) + labels[:, None]
    features[labels == 2, 1] += class_shift
    return {"X": features, "y": labels}


@pytest.fixture
def workdir(tmp_path):
    write_npz(tmp_path / "train.npz", _arrays(np.random.default_rng(0), 12_000))
    train = Artifact(name="train", type="dataset", path="train.npz")
    (tmp_path / "train.json").write_bytes(dumps_profile(profile_table(ArtifactStore(tmp_path).table(train))))
    return tmp_path


def _run(workdir, artifact, **params):
    ctx = RunContext(Stage(name="prod", kind="monitoring", artifacts=[artifact]), {"dataset": (artifact,)},
                     ArtifactStore(workdir))
    return Drift().run(ctx, Drift.Params(**params))


def test_unchanged_data_passes_with_its_detection_limit(workdir):
    write_npz(workdir / "new.npz", _arrays(np.random.default_rng(1), 6000))
    result = _run(workdir, Artifact(name="new", type="dataset", path="new.npz", profile="train.json"))

    assert result.status == "pass" and result.score == 0.0
    limit = result.metrics["detection_limit"]
    assert result.summary == (f"No drift of w 0.1 or more in 4 columns (6000 rows; the smallest change this data "
                              f"shows is w {limit:.2f})")
    assert result.metrics["tests"] == 4 * 4 + 1 and result.evidence["settings"]["correction"] == "holm"


def test_a_small_sample_warns_that_it_cannot_see_the_floor(workdir):
    write_npz(workdir / "new.npz", _arrays(np.random.default_rng(2), 300))
    result = _run(workdir, Artifact(name="new", type="dataset", path="new.npz", profile="train.json"))

    assert result.status == "warn" and 0 < result.score < 1
    assert result.summary.startswith("No drift found in 4 columns, but 300 rows can only show changes of w 0.")
    assert result.summary.endswith(", above the policy's minimum of 0.1")


def test_a_shift_in_one_class_fails_as_a_poisoning_indicator(workdir):
    write_npz(workdir / "new.npz", _arrays(np.random.default_rng(3), 6000, class_shift=0.7))
    result = _run(workdir, Artifact(name="new", type="dataset", path="new.npz", profile="train.json"))

    assert result.status == "fail" and result.metrics["class_conditional_columns"] == 1
    [drifted] = result.evidence["drifted"]
    assert (drifted["column"], drifted["pattern"], drifted["classes"]) == ("X[1]", "class-conditional", [2])
    effect = drifted["class_effects"]["2"]
    assert result.summary == (f"Drift in 6000 rows against the reference: 1 column(s) moved only in class(es) 2 "
                              f"(largest X[1], w {effect:.2f}): a shift confined to some classes is a poisoning "
                              "indicator (AML.T0020)")


def test_patterns_a_check_does_not_fail_on_are_left_to_other_checks(workdir):
    write_npz(workdir / "new.npz", _arrays(np.random.default_rng(3), 6000, class_shift=0.7))
    result = _run(workdir, Artifact(name="new", type="dataset", path="new.npz", profile="train.json"),
                  patterns=("global", "label-shift"))

    assert result.status == "pass"
    assert result.summary.endswith("; 1 change(s) of other patterns are left to other checks")
    assert result.evidence["drifted"][0]["pattern"] == "class-conditional"  # still in the evidence


def test_each_window_is_tested_and_the_first_failing_one_named(workdir):
    rng = np.random.default_rng(4)
    for week in range(1, 6):
        write_npz(workdir / "weeks" / f"2024-01-0{week}.npz", _arrays(rng, 4000, class_shift=0.8 * (week >= 4)))
    weeks = Artifact(name="weeks", type="dataset", path="weeks", format="npz", windows=True, profile="train.json")
    result = _run(workdir, weeks)

    assert [w["status"] for w in result.evidence["windows"]] == ["pass", "pass", "pass", "fail", "fail"]
    assert result.status == "fail" and result.metrics["first_failing_window"] == 4
    assert result.summary.startswith("2 of 5 windows show drift, the first 2024-01-04 (window 4): Drift in 4000 rows")
    assert result.evidence["first_failing"]["window"] == "2024-01-04"
    assert result.evidence["latest"]["window"] == "2024-01-05" and result.evidence["floor"] == 0.1
    [chart] = result.attachments
    assert chart.name == "windows.png" and base64.b64decode(chart.data).startswith(b"\x89PNG")


def test_without_a_profile_there_is_nothing_to_compare(workdir):
    with pytest.raises(NotApplicableError, match=r"^dataset 'train' declares no `profile:` to check it against; "):
        _run(workdir, Artifact(name="train", type="dataset", path="train.npz"))


@pytest.mark.parametrize(("params", "message"), [
    ({"alpha": 0.5}, "less than 0.5"),
    ({"correction": "bonferroni"}, "'holm' or 'bh'"),
    ({"patterns": []}, "at least 1 item"),
])
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        Drift.Params(**params)
