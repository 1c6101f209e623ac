"""Penultimate-layer representations (N x D, row-aligned with a dataset) for the backdoor detectors.

- :mod:`.source`: which bound artifact supplies them (:func:`representations_for`);
- :mod:`.mlp`: hidden layers of a scikit-learn MLP read from a skops file;
- :mod:`.torchscript`: a named layer of a TorchScript model (the ``torch`` extra);
- model files are loaded only through :func:`riskframe.io.model_files.open_model`, which scans them first.

Nothing heavy is imported here.
"""

from riskframe.representations.source import Representations, load_model, representations_for

__all__ = ["Representations", "load_model", "representations_for"]
