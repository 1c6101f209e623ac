"""The seed scenario on disk: scikit-learn's digits with the 2x2 patch backdoor, and a CNN trained on them.

:func:`patch_digits` writes what a pipeline points at (the training set as ``train.npz``, the
trained CNN as TorchScript ``model.pt``) and returns the ground truth beside them. Training is
deterministic, so files already in the folder are reused rather than retrained: tests and
benchmarks that share a folder pay for one training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskframe import scenarios
from riskframe.scenarios.patch import attack_success_rate, poison_with_patch, split_train_test

TARGET = 0
PATCH_SIZE = 2


@dataclass(frozen=True, eq=False)
class PatchDigits:
    """A (possibly) backdoored digits training set and its CNN, on disk.

    ``poisoned`` are the training indices carrying the trigger (empty for ``share=0``);
    ``clean_accuracy`` and ``attack_success`` are measured on the held-out split.
    """

    folder: Path
    dataset: Path
    model: Path
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    poisoned: np.ndarray
    clean_accuracy: float
    attack_success: float


def patch_digits(folder: Path | str, *, share: float = 0.05, seed: int = 0, epochs: int = 30) -> PatchDigits:
    """Poison ``share`` of the digits' training split with the patch (``share=0``: clean), train the
    CNN and write ``train.npz`` and ``model.pt`` into ``folder`` (reused when already there).

    Examples
    --------
    >>> files = patch_digits("/tmp/patch-digits", share=0.05, seed=0)  # doctest: +SKIP
    >>> files.poisoned.size, round(files.attack_success, 2)  # doctest: +SKIP
    (72, 1.0)
    """
    from riskframe.detectors.backdoor.cnn import export_torchscript, predict_proba, train_cnn

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = scenarios.digits()
    train_x, train_y, test_x, test_y = split_train_test(images, labels, seed=seed)
    poisoned = np.array([], dtype=np.int64)
    if share > 0:
        scenario = poison_with_patch(train_x, train_y, target=TARGET, share=share, size=PATCH_SIZE, seed=seed)
        train_x, train_y, poisoned = scenario.images, scenario.labels, scenario.poisoned
    dataset, model_path = folder / "train.npz", folder / "model.pt"
    if dataset.exists() and model_path.exists():
        from riskframe.io.model_files import open_model

        model = open_model(model_path, "torchscript", "model").model  # a file left in the folder: scanned first
    else:
        scenarios.save_npz(dataset, train_x, train_y)
        model = train_cnn(train_x, train_y, n_classes=10, epochs=epochs, seed=seed)
        export_torchscript(model, model_path)

    def predict(x: np.ndarray) -> np.ndarray:
        return predict_proba(model, x)

    accuracy = float(np.mean(predict(test_x).argmax(axis=1) == test_y))
    success = attack_success_rate(predict, test_x, test_y, TARGET, PATCH_SIZE)
    return PatchDigits(folder, dataset, model_path, train_x, train_y, test_x, test_y, poisoned, accuracy, success)
