"""``spectral-signatures`` on the 2x2-patch digits (5%) and on clean digits, through real files."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from pydantic import ValidationError

torch = pytest.importorskip("torch", reason="the backdoor CNN needs the torch extra")

from riskframe.detectors.backdoor.spectral_signatures import SpectralSignatures  # noqa: E402
from riskframe.detectors.context import ArtifactStore, RunContext  # noqa: E402
from riskframe.scenarios.patch_digits import PatchDigits, patch_digits  # noqa: E402
from riskframe.spec.pipeline import Artifact, Stage  # noqa: E402
from riskframe.testing import check_detector  # noqa: E402


def _files(factory: pytest.TempPathFactory, share: float) -> PatchDigits:
    torch.set_num_threads(1)
    name = f"patch-digits-{round(share * 100)}pct-seed0" if share else "patch-digits-clean-seed0"
    return patch_digits(factory.getbasetemp() / name, share=share, seed=0)  # trained once per session


def _context(files: PatchDigits, reps: str | None = None) -> RunContext:
    dataset = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
    bound = {"dataset": (dataset,)}
    if reps is None:
        bound["model"] = (Artifact(name="model", type="model", path="model.pt", format="torchscript"),)
    else:
        bound["representations"] = (Artifact(name="reps", type="representations", path=reps, of="train"),)
    stage = Stage(name="train", kind="model-engineering", artifacts=[a for (a,) in bound.values()])
    return RunContext(stage=stage, bindings=bound, store=ArtifactStore(files.folder))


@pytest.fixture(scope="module")
def backdoored(tmp_path_factory):
    files = _files(tmp_path_factory, 0.05)
    return files, SpectralSignatures().run(_context(files), SpectralSignatures.Params())


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    files = _files(tmp_path_factory, 0.0)
    return files, SpectralSignatures().run(_context(files), SpectralSignatures.Params())


def test_the_patched_samples_are_flagged_in_the_target_class(backdoored):
    files, result = backdoored
    flagged = np.asarray(result.evidence["flagged_indices"])
    hits = np.isin(flagged, files.poisoned).sum()
    precision, recall = hits / flagged.size, hits / files.poisoned.size

    assert precision >= 0.95 and recall >= 0.95  # 1.00 and 1.00 when written; target F1 0.85
    assert result.status == "fail" and result.score == 1.0
    assert result.evidence["target_class"] == 0 and result.evidence["target_classes"] == [0]
    assert result.summary.startswith(
        "Backdoor suspected in class 0: 72 of its 214 samples (33.6%) form a separate "
        "group that looks like other classes (relabel agreement 0.9"
    )
    assert result.summary.endswith("; 72 samples flagged (5.0% of the dataset)")


def test_the_target_class_stands_out_among_the_class_scores(backdoored):
    _, result = backdoored
    scores = result.evidence["class_scores"]

    assert set(scores) == {str(c) for c in range(10)}
    assert scores["0"] >= 0.55 and max(v for k, v in scores.items() if k != "0") <= 0.45
    target = next(row for row in result.evidence["classes"] if row["label"] == 0)
    assert target["backdoor"] and target["estimated_poisoned"] == 72 and target["separation"] >= 5.0
    assert target["relabel_agreement_suspect"] >= 0.9 > target["relabel_agreement_rest"]


def test_flagged_samples_carry_their_source_class_and_pictures(backdoored):
    files, result = backdoored
    flagged = np.asarray(result.evidence["flagged_indices"])
    clean_labels = np.load(files.folder / "train.npz")["y"].copy()
    source = {int(i): int(c) for i, c in zip(files.poisoned, _source_labels(files), strict=True)}

    suggested = result.evidence["suggested_labels"]
    agree = np.mean([suggested[k] == source.get(int(i), -1) for k, i in enumerate(flagged)])
    assert agree >= 0.9  # the relabel check names the class a poisoned image really shows
    assert set(result.evidence["given_labels"]) == {0} and (clean_labels[flagged] == 0).all()
    scores = result.evidence["scores"]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0.5
    assert [(a.name, a.prominent) for a in result.attachments] == [("score-histogram.png", False),
                                                                   ("flagged-samples.png", True)]
    histogram = result.evidence["score_histogram"]
    assert len(histogram["bins"]) == len(histogram["flagged"]) + 1 and sum(histogram["flagged"]) == 72
    assert sum(histogram["kept"]) + 72 == files.train_labels.size


def _source_labels(files: PatchDigits) -> np.ndarray:
    from riskframe import scenarios
    from riskframe.scenarios.patch import split_train_test

    images, labels = scenarios.digits()
    return split_train_test(images, labels, seed=0)[1][files.poisoned]


def test_a_clean_model_passes(clean):
    _, result = clean

    assert result.status == "pass" and result.evidence["flagged_indices"] == []
    assert result.evidence["target_class"] is None and result.score < 0.25
    assert max(result.evidence["class_scores"].values()) < 0.5
    assert result.summary.startswith(
        "No backdoor found: no class splits into a separate group of samples that look "
        "like other classes (closest: class "
    )


def test_a_representations_artifact_gives_the_same_verdict(tmp_path_factory, backdoored):
    files, result = backdoored
    from riskframe.representations.torchscript import TorchScriptModel

    reps_folder = tmp_path_factory.mktemp("spectral-reps")
    for name in ("train.npz", "model.pt"):
        (reps_folder / name).write_bytes((files.folder / name).read_bytes())
    ctx = _context(files)
    model = TorchScriptModel.load(files.model, "model")
    np.save(reps_folder / "reps.npy", model.representations(ctx.dataset(), "penultimate"))
    from_reps = SpectralSignatures().run(
        _context(replace(files, folder=reps_folder), reps="reps.npy"), SpectralSignatures.Params()
    )

    assert from_reps.evidence["flagged_indices"] == result.evidence["flagged_indices"]
    assert from_reps.evidence["representations"]["source"] == "representations artifact 'reps'"


def test_representations_whose_rows_are_shuffled_fail_instead_of_hiding_the_backdoor(tmp_path_factory, backdoored):
    """Rows that no longer match the dataset's spread the poisons over every class: the split finds
    nothing, and without the check the screen would pass."""
    files, _ = backdoored
    from riskframe.representations.torchscript import TorchScriptModel

    folder = tmp_path_factory.mktemp("shuffled-reps")
    (folder / "train.npz").write_bytes((files.folder / "train.npz").read_bytes())
    reps = TorchScriptModel.load(files.model, "model").representations(_context(files).dataset(), "penultimate")
    np.save(folder / "reps.npy", reps[np.random.default_rng(0).permutation(len(reps))])
    result = SpectralSignatures().run(_context(replace(files, folder=folder), reps="reps.npy"),
                                      SpectralSignatures.Params())

    assert result.status == "fail"
    assert result.summary.startswith("The representations say nothing about the labels (a linear model's out-of-fold probabilities ")


def test_the_standard_method_is_recorded_and_still_scores_every_class(backdoored):
    files, _ = backdoored
    result = SpectralSignatures().run(_context(files), SpectralSignatures.Params(method="standard"))

    assert result.evidence["method"]["method"] == "standard"
    assert len(result.evidence["class_scores"]) == 10 and 0.0 <= result.score <= 1.0


def test_too_few_samples_skip_a_class_and_too_few_classes_are_not_applicable(tmp_path_factory, backdoored):
    files, _ = backdoored
    folder = tmp_path_factory.mktemp("spectral-few")
    data = np.load(files.folder / "train.npz")
    keep = np.flatnonzero(np.isin(data["y"], [0, 1, 2, 3]))
    keep = keep[(data["y"][keep] != 3) | (np.cumsum(data["y"][keep] == 3) <= 10)]
    np.savez(folder / "train.npz", X=data["X"][keep], y=data["y"][keep])
    (folder / "model.pt").write_bytes(files.model.read_bytes())
    ctx = _context(replace(files, folder=folder))

    result = SpectralSignatures().run(ctx, SpectralSignatures.Params())
    assert result.evidence["skipped_classes"] == [
        {"label": 3, "samples": 10, "reason": "10 samples, fewer than min_class_samples=20"}
    ]
    assert [row["label"] for row in result.evidence["classes"]] == [0, 1, 2]
    from riskframe.errors import NotApplicableError

    with pytest.raises(
        NotApplicableError,
        match=r"^needs three classes with at least 200 samples "
        r"\(min_class_samples\): the relabel check compares",
    ):
        SpectralSignatures().run(ctx, SpectralSignatures.Params(min_class_samples=200))


def test_parameters_are_checked():
    with pytest.raises(ValidationError, match="min_relabel_agreement"):
        SpectralSignatures.Params(min_relabel_agreement=0.4)
    with pytest.raises(ValidationError, match="method"):
        SpectralSignatures.Params(method="spectre")


@pytest.mark.slow  # over 3 s of CPU (measured, 2 cores)
def test_the_contract_suite_passes(tmp_path):
    check_detector(SpectralSignatures, tmp_path)
