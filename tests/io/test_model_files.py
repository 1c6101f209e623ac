"""The one model-loading door: an unsafe file, or a file the scanner cannot vouch for because it
cannot be imported, is never loaded, whichever of riskframe's loaders is asked to load it."""

from __future__ import annotations

import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from riskframe.errors import DetectorError, UnsafeArtifactError
from riskframe.io.model_files import open_model

torch = pytest.importorskip("torch", reason="TorchScript models need the torch extra")

from riskframe.detectors.backdoor.models import load_torchscript  # noqa: E402
from riskframe.representations.mlp import TRUSTED_TYPES, SkopsMLP  # noqa: E402
from riskframe.representations.torchscript import TorchScriptModel  # noqa: E402
from riskframe.scenarios.patch_digits import patch_digits  # noqa: E402


def _torchscript(path: Path) -> Path:
    torch.jit.script(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()).save(str(path))
    return path


def _hostile_torchscript(path: Path, marker: Path) -> Path:
    """A real TorchScript archive whose data.pkl is replaced by a pickle that runs a shell command."""
    clean = _torchscript(path.with_name("clean.pt"))
    payload = f"cposix\nsystem\n(S'touch {marker}'\ntR.".encode()
    with zipfile.ZipFile(clean) as source, zipfile.ZipFile(path, "w") as hostile:
        for member in source.infolist():
            data = payload if member.filename.endswith("/data.pkl") else source.read(member)
            hostile.writestr(member, data)
    return path


def _skops_mlp(path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((3,), max_iter=2, random_state=0).fit(np.eye(4), [0, 1, 0, 1])
    sio.dump(mlp, path)
    return path


def _through_patch_scenario(path: Path) -> object:
    """The patch scenario reuses a model.pt left beside a train.npz in its folder."""
    (path.parent / "train.npz").write_bytes(b"")
    return patch_digits(path.parent, share=0.0)


TORCHSCRIPT_LOADERS: dict[str, Callable[[Path], object]] = {
    "open_model": lambda path: open_model(path, "torchscript", "model"),
    "TorchScriptModel.load": lambda path: TorchScriptModel.load(path, "model"),
    "backdoor load_torchscript": lambda path: load_torchscript(path, "model", "trigger-reverse"),
    "patch scenario": _through_patch_scenario,
}


@pytest.mark.parametrize("loader", TORCHSCRIPT_LOADERS.values(), ids=TORCHSCRIPT_LOADERS.keys())
def test_an_unsafe_torchscript_file_is_refused_by_every_loader(tmp_path, loader):
    marker = tmp_path / "ran"
    model = _hostile_torchscript(tmp_path / "model.pt", marker)

    with pytest.raises(UnsafeArtifactError, match=r"model.pt: refusing to load a file whose scan verdict is 'unsafe'"):
        loader(model)
    assert not marker.exists()


@pytest.mark.parametrize("loader", TORCHSCRIPT_LOADERS.values(), ids=TORCHSCRIPT_LOADERS.keys())
def test_without_the_scanner_no_torchscript_file_is_loaded(tmp_path, monkeypatch, loader):
    model = _torchscript(tmp_path / "model.pt")
    monkeypatch.setitem(sys.modules, "riskframe.scanning", None)  # an import of it now fails

    with pytest.raises(UnsafeArtifactError, match=r"verdict is 'unsupported': the unsafe-model scan is unavailable"):
        loader(model)


@pytest.mark.parametrize("loader", [lambda path: open_model(path, "skops", "mlp", trusted=TRUSTED_TYPES),
                                    lambda path: SkopsMLP.load(path, "mlp")], ids=["open_model", "SkopsMLP.load"])
def test_without_the_scanner_no_skops_file_is_loaded(tmp_path, monkeypatch, loader):
    model = _skops_mlp(tmp_path / "mlp.skops")
    monkeypatch.setitem(sys.modules, "riskframe.scanning", None)

    with pytest.raises(UnsafeArtifactError, match=r"verdict is 'unsupported': the unsafe-model scan is unavailable"):
        loader(model)


def test_a_safe_file_loads_and_says_how_it_was_scanned(tmp_path):
    opened = open_model(_torchscript(tmp_path / "model.pt"), "torchscript", "model")

    assert not opened.model.training
    assert opened.scan == "safe (torchscript)"
    assert opened.model(torch.zeros(2, 4)).shape == (2, 3)
    mlp = open_model(_skops_mlp(tmp_path / "mlp.skops"), "skops", "mlp", trusted=TRUSTED_TYPES)
    assert isinstance(mlp.model, MLPClassifier) and mlp.scan.startswith("safe")


def test_a_file_of_another_format_is_a_detector_error_unless_it_is_unsafe(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "text.pt").write_text("not a model")
    (tmp_path / "bare.pt").write_bytes(f"cposix\nsystem\n(S'touch {marker}'\ntR.".encode())

    with pytest.raises(UnsafeArtifactError, match=r"bare.pt: refusing to load a file whose scan verdict is 'unsafe'"):
        open_model(tmp_path / "bare.pt", "torchscript", "model")
    assert not marker.exists()
    with pytest.raises(DetectorError, match=r"^model 'model': text.pt is not a TorchScript file \(not a zip archive\)$"):
        open_model(tmp_path / "text.pt", "torchscript", "model")
