"""The lineage verdict (pure): properties over any set of logged inputs, and the edge cases by name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riskframe.detectors.provenance._lineage import LineageRules, TrainingData, judge
from riskframe.detectors.provenance.model_registry import LoggedInput, ModelRef, RegisteredVersion, SourceRun

TRAIN = TrainingData("train", "data/train.npz", "a" * 64)
ORDER = {"pass": 0, "warn": 1, "fail": 2}

digests = st.sampled_from(["a" * 64, "b" * 64, "not-a-digest", None])
contexts = st.sampled_from(["training", "train", "evaluation", None])
inputs = st.lists(st.tuples(digests, contexts), max_size=5)


def _version(logged: list[tuple[str | None, str | None]], commit: str | None = None, run: bool = True):
    records = tuple(
        LoggedInput(name=f"d{i}", digest="1234abcd", source_type="local", source='{"uri": "x.npz"}',
                    tags={**({"sha256": sha} if sha else {}), **({"mlflow.data.context": ctx} if ctx else {})})
        for i, (sha, ctx) in enumerate(logged))
    source = SourceRun("r" * 32, "1", "run", "FINISHED", commit, {}, records) if run else None
    return RegisteredVersion(ModelRef("m", "1"), "m", "1", "runs:/r/model", "r" * 32 if run else None, {}, source,
                             "http://127.0.0.1:5000", "http://127.0.0.1:5000")


@given(inputs, digests, contexts)
def test_a_failure_stays_a_failure_whatever_else_the_run_logged(logged, sha, context):
    before = judge(_version(logged), TRAIN, LineageRules())
    after = judge(_version([*logged, (sha, context)]), TRAIN, LineageRules())
    other_data = judge(_version([*logged, ("b" * 64, context or "training")]), TRAIN, LineageRules())

    assert before.status != "fail" or after.status == "fail"
    assert other_data.status == "fail" or context not in ("training", "train", None)


@given(inputs)
def test_a_pass_means_every_training_input_is_the_assessed_data(logged):
    verdict = judge(_version(logged), TRAIN, LineageRules())

    training = [sha for sha, ctx in logged if ctx in ("training", "train", None)]
    assert (verdict.status == "pass") == (bool(training) and all(sha == TRAIN.sha256 for sha in training))
    assert (verdict.status == "fail") == any(sha == "b" * 64 for sha in training)


@given(inputs)
def test_requiring_lineage_only_ever_turns_warnings_into_failures(logged):
    relaxed = judge(_version(logged), TRAIN, LineageRules())
    strict = judge(_version(logged), TRAIN, LineageRules(require_lineage=True))

    assert ORDER[strict.status] >= ORDER[relaxed.status]


def test_a_version_without_a_run_or_inputs_warns_and_fails_when_required():
    assert judge(_version([], run=False), TRAIN, LineageRules()).status == "warn"
    assert judge(_version([], run=False), TRAIN, LineageRules(require_lineage=True)).status == "fail"
    assert judge(_version([]), TRAIN, LineageRules()).problems == (
        f"run {'r' * 32} logged no dataset inputs: the data it was trained on cannot be traced",)


def test_a_short_commit_matches_its_full_form_and_another_commit_fails():
    full = "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"
    matching = judge(_version([("a" * 64, "training")], commit=full), TRAIN, LineageRules(code_version=full[:7]))
    other = judge(_version([("a" * 64, "training")], commit=full), TRAIN, LineageRules(code_version="0" * 40))
    unknown = judge(_version([("a" * 64, "training")]), TRAIN, LineageRules(code_version=full))

    assert (matching.status, other.status, unknown.status) == ("pass", "fail", "warn")
