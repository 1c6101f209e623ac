"""``activation-clustering`` on the 2x2-patch digits (5%) and on clean digits, through real files."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the backdoor CNN needs the torch extra")

from riskframe.detectors.backdoor.activation_clustering import ActivationClustering, cluster_split  # noqa: E402
from riskframe.detectors.context import ArtifactStore, RunContext  # noqa: E402
from riskframe.scenarios.patch_digits import PatchDigits, patch_digits  # noqa: E402
from riskframe.spec.pipeline import Artifact, Stage  # noqa: E402
from riskframe.testing import check_detector  # noqa: E402


def _files(factory: pytest.TempPathFactory, share: float) -> PatchDigits:
    torch.set_num_threads(1)
    name = f"patch-digits-{round(share * 100)}pct-seed0" if share else "patch-digits-clean-seed0"
    return patch_digits(factory.getbasetemp() / name, share=share, seed=0)  # trained once per session


def _context(files: PatchDigits) -> RunContext:
    dataset = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
    model = Artifact(name="model", type="model", path="model.pt", format="torchscript")
    stage = Stage(name="train", kind="model-engineering", artifacts=[dataset, model])
    return RunContext(
        stage=stage, bindings={"dataset": (dataset,), "model": (model,)}, store=ArtifactStore(files.folder)
    )


@pytest.fixture(scope="module")
def backdoored(tmp_path_factory):
    files = _files(tmp_path_factory, 0.05)
    return files, ActivationClustering().run(_context(files), ActivationClustering.Params())


def test_the_patched_cluster_is_flagged_and_no_other(backdoored):
    files, result = backdoored
    flagged = np.asarray(result.evidence["flagged_indices"])
    hits = np.isin(flagged, files.poisoned).sum()

    assert hits / flagged.size >= 0.95 and hits / files.poisoned.size >= 0.95  # 1.00 / 1.00 when written
    assert result.status == "fail" and result.evidence["target_class"] == 0
    rows = {row["label"]: row for row in result.evidence["classes"]}
    assert rows[0]["backdoor"] and rows[0]["separation"] >= 0.4 and rows[0]["relative_size"] == round(72 / 214, 4)
    # ART flags the smaller cluster of every class; here the other classes' clusters stay unflagged.
    assert not any(rows[c]["backdoor"] for c in range(1, 10))
    assert all(0.0 < rows[c]["relative_size"] <= 0.5 for c in range(10))
    assert result.summary.startswith("Backdoor suspected in class 0: 72 of its 214 samples (33.6%)")


@pytest.mark.slow  # trains the clean CNN: over 3 s of CPU (measured, 2 cores)
def test_a_clean_model_passes(tmp_path_factory):
    result = ActivationClustering().run(_context(_files(tmp_path_factory, 0.0)), ActivationClustering.Params())

    assert result.status == "pass" and result.evidence["flagged_indices"] == []
    assert result.evidence["target_class"] is None and max(result.evidence["class_scores"].values()) < 0.5


def test_the_standard_method_uses_ica_as_chen_et_al(backdoored):
    files, _ = backdoored
    result = ActivationClustering().run(_context(files), ActivationClustering.Params(method="standard"))

    assert result.evidence["method"]["split"] == "k-means (k=2) on a 10-component FastICA of the centred class"
    assert len(result.evidence["classes"]) == 10


def test_the_split_puts_a_planted_cluster_on_the_suspect_side():
    rng = np.random.default_rng(3)
    space = np.vstack([rng.normal(0, 1, (120, 20)), rng.normal(0, 0.5, (30, 20)) + 4.0])
    split = cluster_split(space - space.mean(axis=0), seed=0)

    assert split.suspect[120:].all() and not split.suspect[:120].any()
    assert split.separation > 0.5 and split.extra["relative_size"] == pytest.approx(0.2)
    assert (split.scores[120:] > 0.5).all() and (split.scores[:120] < 0.5).all()


@pytest.mark.slow  # over 3 s of CPU (measured, 2 cores)
def test_the_contract_suite_passes(tmp_path):
    check_detector(ActivationClustering, tmp_path)
