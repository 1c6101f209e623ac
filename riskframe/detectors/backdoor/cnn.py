"""A small convolutional network for small images, trained deterministically on CPU in seconds.

It is the model the backdoor scenario poisons, the backdoor detectors read representations from,
and the retrain-and-verify control retrains. Its penultimate layer is a named submodule,
:data:`PENULTIMATE` (``"penultimate"``: flatten, linear, ReLU), so that its activations can be
read by name from the live module (a forward hook) or from its TorchScript export (by graph, see
:mod:`riskframe.representations.torchscript`).

The network takes raw images (N, C, H, W) in the data's own range: the input scale learnt from the
training set is a buffer of the model, so an exported model needs no separate preprocessing.

torch is the ``torch`` extra; importing this module without it raises
:class:`~riskframe.errors.MissingDependencyError` naming it.

>>> from riskframe import scenarios
>>> images, labels = scenarios.digits()
>>> model = train_cnn(images[:200], labels[:200], n_classes=10, epochs=2)  # doctest: +SKIP
>>> predict_proba(model, images[:3]).shape  # doctest: +SKIP
(3, 10)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from riskframe.errors import MissingDependencyError

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("torch", "torch", "backdoor CNN") from exc

PENULTIMATE = "penultimate"
HIDDEN_UNITS = 64
BATCH = 1024  # rows per forward pass at inference; bounds memory, not results


class SmallCNN(nn.Module):
    """conv(16) -> conv(32) -> max-pool -> ``penultimate`` (linear 64 + ReLU) -> ``classifier``.

    Parameters
    ----------
    channels, height, width : int
        Input image shape (height and width at least 2).
    n_classes : int
        Output size.
    input_scale : float
        Multiplies the raw input (1 / the training images' maximum).
    """

    if TYPE_CHECKING:  # a buffer; declared for mypy only (TorchScript reads class annotations itself)
        input_scale: torch.Tensor

    def __init__(self, channels: int, height: int, width: int, n_classes: int, input_scale: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.features = nn.Sequential(
            nn.Conv2d(channels, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        flat = 32 * (height // 2) * (width // 2)
        self.penultimate = nn.Sequential(nn.Flatten(), nn.Linear(flat, HIDDEN_UNITS), nn.ReLU())
        self.classifier = nn.Linear(HIDDEN_UNITS, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scaled = x * self.input_scale
        logits: torch.Tensor = self.classifier(self.penultimate(self.features(scaled)))
        return logits


def as_model_input(images: np.ndarray) -> torch.Tensor:
    """(N, H, W) or (N, H, W, C) images -> a float32 (N, C, H, W) tensor, torch's layout.

    >>> tuple(as_model_input(np.zeros((5, 8, 8))).shape)
    (5, 1, 8, 8)
    >>> tuple(as_model_input(np.zeros((5, 8, 8, 3))).shape)
    (5, 3, 8, 8)
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        return torch.from_numpy(images[:, None, :, :].copy())
    if images.ndim == 4:
        return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    raise ValueError(f"images must be (N, H, W) or (N, H, W, C); got shape {images.shape}")


@contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Seed torch and require deterministic kernels inside the block, restoring the setting after."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


def train_cnn(
    images: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    epochs: int = 30,
    seed: int = 0,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
) -> SmallCNN:
    """Train a :class:`SmallCNN` with Adam on cross-entropy; deterministic on CPU for a fixed seed.

    Parameters
    ----------
    images : numpy.ndarray
        (N, H, W) or (N, H, W, C) training images, in their raw range.
    labels : numpy.ndarray
        (N,) integer classes in [0, n_classes).
    n_classes : int
        Size of the output layer.
    epochs, batch_size, learning_rate
        The optimisation; the defaults fit 1,438 digits in about two seconds on one core.
    seed : int
        Seeds the initial weights and the batch order.

    Returns
    -------
    SmallCNN
        The trained model, in eval mode.

    Examples
    --------
    >>> from riskframe import scenarios
    >>> images, labels = scenarios.digits()
    >>> model = train_cnn(images[:100], labels[:100], n_classes=10, epochs=1)
    >>> model.penultimate[1].out_features
    64
    """
    x = as_model_input(images)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if y.shape != (x.shape[0],):
        raise ValueError(f"{x.shape[0]} images but labels of shape {tuple(y.shape)}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}); got [{int(y.min())}, {int(y.max())}]")
    peak = float(x.abs().max()) if x.numel() else 1.0
    with deterministic(seed):
        model = SmallCNN(x.shape[1], x.shape[2], x.shape[3], n_classes, 1.0 / peak if peak > 0 else 1.0)
        optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
        order = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            for batch in torch.split(torch.randperm(x.shape[0], generator=order), batch_size):
                optimiser.zero_grad()
                loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
                loss.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
    return model.eval()


def predict_proba(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of ``model`` (a live module or a loaded TorchScript one).

    >>> model = SmallCNN(1, 8, 8, n_classes=3).eval()
    >>> predict_proba(model, np.zeros((2, 8, 8))).sum(axis=1).round(6).tolist()
    [1.0, 1.0]
    """
    x = as_model_input(images)
    model.eval()
    with torch.inference_mode():
        logits = [model(chunk) for chunk in torch.split(x, BATCH)] if x.shape[0] else [model(x)]
        return torch.cat(logits).softmax(dim=1).double().numpy()


def penultimate_activations(model: nn.Module, images: np.ndarray, layer: str = PENULTIMATE) -> np.ndarray:
    """The output of submodule ``layer`` of a live (not TorchScript) module, (N, D), by forward hook.

    >>> model = SmallCNN(1, 8, 8, n_classes=3).eval()
    >>> penultimate_activations(model, np.zeros((2, 8, 8))).shape
    (2, 64)
    """
    modules = dict(model.named_modules())
    if layer not in modules:
        raise KeyError(f"no layer {layer!r}; layers: {', '.join(n for n in modules if n)}")
    captured: list[torch.Tensor] = []
    handle = modules[layer].register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
    try:
        predict_proba(model, images)
    finally:
        handle.remove()
    return torch.cat(captured).flatten(1).double().numpy()


def export_torchscript(model: nn.Module, path: Path | str) -> Path:
    """Script ``model`` (submodule names, hence the ``penultimate`` layer, are kept) and save it.

    Returns
    -------
    pathlib.Path
        ``path``, for chaining; load it back with :func:`riskframe.io.model_files.open_model`,
        which scans it first (a TorchScript file is a zip of pickles).

    Examples
    --------
    >>> import tempfile
    >>> model = SmallCNN(1, 8, 8, n_classes=3).eval()
    >>> path = export_torchscript(model, Path(tempfile.mkdtemp()) / "model.pt")
    >>> from riskframe.io.model_files import open_model
    >>> "penultimate" in dict(open_model(path, "torchscript", "model").model.named_modules())
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scripted = torch.jit.script(model.eval())
    torch.jit.save(scripted, str(path))
    return path
