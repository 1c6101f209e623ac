"""The tiny real stage the detector contract suite runs detectors on (see :mod:`riskframe.testing`).

Built on disk on first use: a dataset (``train.npz``, 200 of scikit-learn's 8x8 digits with four
7s relabelled 1, declaring its own profile ``train-profile.json`` as its reference), row-aligned
representations (``train_reps.npy``, a 16-component PCA), a folder of files (``config/``) and a
tiny benign model (``model.joblib``, a scikit-learn logistic regression fitted on ``train``, bound
through the ``files`` role), every artifact pinned with its sha256. Detectors with a ``model`` role
also get ``tiny-cnn`` (``model.pt``, a small TorchScript CNN trained on ``train``; needs the
``torch`` extra), and then their ``representations`` role binds ``tiny-cnn-reps``
(``train_reps_cnn.npy``, the CNN's own penultimate layer), since representations bound beside a
model trained on the same data must be that model's (they are spot-checked).
Detectors that read text (``dataset_kind = "text"``) or probe an ``endpoint`` get the tiny text
stage of :mod:`riskframe.testing.text` instead.
"""

from __future__ import annotations

import unittest
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.errors import MissingDependencyError
from riskframe.io.digests import sha256_path
from riskframe.spec.pipeline import Artifact, Stage

if TYPE_CHECKING:
    from riskframe.detectors.base import DetectorClass

TINY_PER_CLASS = 20  # digits per class in the tiny dataset: enough for 5-fold cross-validation
TINY_FLIPS = 4  # 7s relabelled 1 in the tiny dataset
TINY_TORCHSCRIPT = "model.pt"  # the tiny CNN the ``model`` role binds (see tiny_context)
TINY_CNN_REPS = "train_reps_cnn.npy"  # its penultimate layer on ``train``, bound beside it
TINY_PROFILE = "train-profile.json"  # ``train``'s own profile (riskframe profile), its reference for drift


def tiny_context(detector: DetectorClass, workdir: Path, *, roles: Iterable[str] | None = None,
                 seed: int = 0) -> RunContext:
    """A run context for ``detector`` over the tiny stage, built in ``workdir`` if not there yet.

    Parameters
    ----------
    detector
        The detector class whose roles are bound.
    workdir
        Folder holding the tiny stage's files (written on first use).
    roles
        Roles to bind; default: the detector's required and optional roles. ``dataset`` binds
        ``train``, ``representations`` binds ``train-reps``, ``files`` binds every artifact.
    seed
        ``ctx.seed``.

    Raises
    ------
    unittest.SkipTest
        A ``model`` role without the ``torch`` extra: the role binds ``tiny-cnn``, a small
        TorchScript CNN trained on ``train`` (written on first use, only for detectors that need it).

    Examples
    --------
    >>> ctx = tiny_context(LabelIssues, tmp_path)  # doctest: +SKIP
    >>> ctx.dataset().features.shape  # doctest: +SKIP
    (200, 64)
    """
    roles = tuple(roles if roles is not None else (*detector.requires, *detector.optional))
    if getattr(detector, "dataset_kind", "arrays") == "text" or "endpoint" in roles:  # corpora and language models
        from riskframe.testing.text import tiny_text_context

        return tiny_text_context(workdir, roles, seed)
    if "model" in roles:
        tiny_stage(workdir)  # the CNN learns from the tiny dataset
        _write_tiny_torchscript(detector, workdir)
    stage = tiny_stage(workdir)
    by_name = {a.name: a for a in stage.artifacts}
    reps = "tiny-cnn-reps" if "model" in roles and "tiny-cnn-reps" in by_name else "train-reps"
    available = {"dataset": (by_name["train"],), "representations": (by_name[reps],),
                 "files": tuple(stage.artifacts), "model": (by_name["tiny-cnn"],) if "tiny-cnn" in by_name else ()}
    bindings = {role: available[role] for role in roles}
    return RunContext(stage=stage, bindings=bindings, store=ArtifactStore(workdir), seed=seed)


def tiny_stage(workdir: Path) -> Stage:
    """Write the tiny stage's artifacts into ``workdir`` (once) and return the stage declaring them."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "train.npz").exists():
        _copy_tiny_artifacts(workdir)
    artifacts = [
        Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y",
                 profile=TINY_PROFILE),
        Artifact(name="train-reps", type="representations", path="train_reps.npy", of="train"),
        Artifact(name="config", type="files", path="config"),
        Artifact(name="model", type="model", path="model.joblib", format="joblib", of="train"),
    ]
    if (workdir / TINY_TORCHSCRIPT).exists():
        artifacts.append(Artifact(name="tiny-cnn", type="model", path=TINY_TORCHSCRIPT, format="torchscript",
                                  of="train"))
        artifacts.append(Artifact(name="tiny-cnn-reps", type="representations", path=TINY_CNN_REPS, of="train"))
    pinned = [a.model_copy(update={"sha256": sha256_path(workdir / a.path)}) for a in artifacts]
    return Stage(name="tiny", kind="data-preparation", trust="untrusted", artifacts=pinned)


# The tiny stage's files by relative path: built once per process (deterministic), then copied into
# every working folder (the contract suite builds one per check and per detector).
_TINY_FILES: dict[str, bytes] = {}
_TINY_FILE_NAMES = ("train.npz", TINY_PROFILE, "train_reps.npy", "config/params.json", "config/README.txt",
                    "model.joblib")


def _copy_tiny_artifacts(workdir: Path) -> None:
    if not _TINY_FILES:
        _write_tiny_artifacts(workdir)
        _TINY_FILES.update({name: (workdir / name).read_bytes() for name in _TINY_FILE_NAMES})
        return
    for name, content in _TINY_FILES.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(content)


def _write_tiny_artifacts(workdir: Path) -> None:
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    digits = load_digits()
    keep = np.concatenate([np.flatnonzero(digits.target == k)[:TINY_PER_CLASS] for k in range(10)])
    images, labels = digits.images[keep].astype(np.float64), digits.target[keep].astype(np.int64)
    sevens = np.flatnonzero(labels == 7)
    flipped = np.random.default_rng(0).choice(sevens, size=TINY_FLIPS, replace=False)
    labels[flipped] = 1
    np.savez(workdir / "train.npz", X=images, y=labels)
    _write_tiny_profile(workdir)
    reps = PCA(n_components=16, svd_solver="full").fit_transform(images.reshape(len(images), -1))
    np.save(workdir / "train_reps.npy", reps)
    (workdir / "config").mkdir()
    (workdir / "config" / "params.json").write_text('{"model": "logistic", "folds": 5}\n')
    (workdir / "config" / "README.txt").write_text("tiny stage for the riskframe contract suite\n")
    _write_tiny_model(workdir, images.reshape(len(images), -1), labels)


def _write_tiny_profile(workdir: Path) -> None:
    from riskframe.data.tables import load_table
    from riskframe.detectors.drift.profile import dumps_profile, profile_table

    train = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
    (workdir / TINY_PROFILE).write_bytes(dumps_profile(profile_table(load_table(train, workdir))))


def _write_tiny_model(workdir: Path, features: np.ndarray, labels: np.ndarray) -> None:
    # A real pickle-based model, so that detectors scanning model files have one to read.
    import joblib
    from sklearn.linear_model import LogisticRegression

    joblib.dump(LogisticRegression(max_iter=2000).fit(features, labels), workdir / "model.joblib")


def _write_tiny_torchscript(detector: DetectorClass, workdir: Path) -> None:
    if not (workdir / TINY_TORCHSCRIPT).exists():
        (workdir / TINY_TORCHSCRIPT).write_bytes(_tiny_torchscript_bytes(detector.name, workdir / "train.npz"))
    if not (workdir / TINY_CNN_REPS).exists():
        if "reps" not in _TINY_CNN:  # the same model on the same data everywhere: computed once per process
            from riskframe.data.datasets import load_dataset
            from riskframe.representations import load_model  # scans the file, then loads it

            train = Artifact(name="train", type="dataset", path="train.npz", format="npz", features="X", labels="y")
            cnn = Artifact(name="tiny-cnn", type="model", path=TINY_TORCHSCRIPT, format="torchscript", of="train")
            model = load_model(cnn, workdir / TINY_TORCHSCRIPT)
            np.save(workdir / TINY_CNN_REPS, model.representations(load_dataset(train, workdir), model.default_layer()))
            _TINY_CNN["reps"] = (workdir / TINY_CNN_REPS).read_bytes()
        (workdir / TINY_CNN_REPS).write_bytes(_TINY_CNN["reps"])


_TINY_CNN: dict[str, bytes] = {}


def _tiny_torchscript_bytes(detector: str, train: Path) -> bytes:
    # Trained once per process (a second or so) and copied into every working folder that needs it.
    if "bytes" not in _TINY_CNN:
        try:
            from riskframe.detectors.backdoor.cnn import export_torchscript, train_cnn
        except (ImportError, MissingDependencyError) as exc:
            raise unittest.SkipTest(f"{detector} needs a model artifact; the tiny TorchScript model "
                                    f"needs the torch extra ({exc})") from None
        with np.load(train) as arrays:
            model = train_cnn(arrays["X"], arrays["y"], n_classes=10, epochs=3, seed=0)
        path = export_torchscript(model, train.parent / TINY_TORCHSCRIPT)
        _TINY_CNN["bytes"] = path.read_bytes()
    return _TINY_CNN["bytes"]
