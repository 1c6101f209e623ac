"""ART's poisoning defences as detectors: faithful to raw ART, and their documented weaknesses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the backdoor CNN needs the torch extra")
pytest.importorskip("art", reason="ART's defences need the art extra")

from riskframe.detectors.backdoor.art_backdoor import ArtActivationDefence, ArtSpectralSignatures  # noqa: E402
from riskframe.detectors.context import ArtifactStore, RunContext  # noqa: E402
from riskframe.errors import NotApplicableError  # noqa: E402
from riskframe.scenarios.patch_digits import PatchDigits, patch_digits  # noqa: E402
from riskframe.spec.pipeline import Artifact, Stage  # noqa: E402
from riskframe.testing import check_detector  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> PatchDigits:
    torch.set_num_threads(1)
    return patch_digits(tmp_path_factory.getbasetemp() / "patch-digits-5pct-seed0", share=0.05, seed=0)


def _context(folder, model_file: str = "model.pt", seed: int = 0) -> RunContext:
    dataset = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
    model = Artifact(name="model", type="model", path=model_file)
    stage = Stage(name="train", kind="model-engineering", artifacts=[dataset, model])
    return RunContext(
        stage=stage, bindings={"dataset": (dataset,), "model": (model,)}, store=ArtifactStore(folder), seed=seed
    )


def test_the_spectral_wrapper_flags_what_raw_art_flags_on_the_same_layer(files):
    from art.defences.detector.poison import SpectralSignatureDefense
    from art.estimators.classification import PyTorchClassifier

    result = ArtSpectralSignatures().run(_context(files.folder), ArtSpectralSignatures.Params())
    live = torch.jit.load(str(files.model))  # scanned by the wrapper's run above; our own export

    class Body(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.penultimate = torch.nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.penultimate(live.penultimate(live.features(x * live.input_scale)))

    classifier = PyTorchClassifier(Body(), loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8), nb_classes=10)
    x = files.train_images[:, None].astype(np.float32)
    _, clean = SpectralSignatureDefense(
        classifier, x, np.eye(10)[files.train_labels], expected_pp_poison=0.05
    ).detect_poison()

    assert sorted(result.evidence["flagged_indices"]) == np.flatnonzero(np.asarray(clean) == 0).tolist()
    assert result.evidence["representations"]["source"] == "layer 'penultimate' of TorchScript model 'model'"
    assert result.status == "warn" and result.evidence["target_class"] is None
    assert result.summary.endswith("it names no target class")
    hits = np.isin(result.evidence["flagged_indices"], files.poisoned).sum()
    assert hits / len(result.evidence["flagged_indices"]) < 0.5  # ART's global rate: mostly genuine samples


def test_the_activation_defence_flags_a_cluster_in_every_class_repeatably(files):
    first = ArtActivationDefence().run(_context(files.folder), ArtActivationDefence.Params())
    again = ArtActivationDefence().run(_context(files.folder), ArtActivationDefence.Params())

    assert first.evidence["flagged_indices"] == again.evidence["flagged_indices"]
    assert first.metrics["flagged_fraction"] > 0.25  # about a third of the data, as issue 3 measured
    assert all(row["flagged"] > 0 for row in first.evidence["classes"])


def test_a_model_that_is_not_pytorch_is_not_applicable(tmp_path, files):
    import skops.io as sio
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    (tmp_path / "train.npz").write_bytes(files.dataset.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((8,), max_iter=5).fit(files.train_images.reshape(-1, 64), files.train_labels)
    sio.dump(mlp, tmp_path / "mlp.skops")

    with pytest.raises(
        NotApplicableError,
        match=r"^art-spectral-signatures wraps a PyTorch model through ART; model "
        r"'model' is a scikit-learn MLP",
    ):
        ArtSpectralSignatures().run(_context(tmp_path, "mlp.skops"), ArtSpectralSignatures.Params())


# The same checks run in the fast lane as tests/detectors/test_contract.py's built-in cases
# (art-spectral-signatures-*, art-activation-defence-*); here check_detector runs them in one go.
@pytest.mark.slow
@pytest.mark.parametrize("detector", [ArtSpectralSignatures, ArtActivationDefence], ids=lambda d: d.name)
def test_the_contract_suite_passes(detector, tmp_path):
    check_detector(detector, tmp_path)
