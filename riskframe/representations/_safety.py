"""The one door every model file passes before riskframe loads it: the unsafe-model scan.

TorchScript files are zip archives of pickles and skops files name the Python types they rebuild:
loading either runs code the file chooses. :func:`riskframe.scanning.assert_safe_to_load` (issue 4)
reads such files statically and raises :class:`~riskframe.errors.UnsafeArtifactError` naming the
file and its findings. It is imported here, when a model is about to be loaded, so that importing
:mod:`riskframe.representations` costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from riskframe.errors import UnsafeArtifactError


def _assert_safe(path: Path) -> None:
    """Raise :class:`UnsafeArtifactError` unless the scan clears ``path`` for loading.

    Fails closed: when the scanner itself cannot be imported, the file is not loaded.
    """
    try:
        from riskframe.scanning import assert_safe_to_load
    except ImportError as exc:
        raise UnsafeArtifactError(
            str(path), "unsupported", detail=f"the unsafe-model scan is unavailable ({exc}), so the file is not loaded"
        ) from exc
    assert_safe_to_load(Path(path))
