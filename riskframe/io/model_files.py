"""The one door every model file passes before riskframe loads it: :func:`open_model`.

TorchScript files are zip archives of pickles and skops files name the Python types they rebuild:
loading either runs code the file chooses. :func:`open_model` reads the file's outline without
running anything (is it a zip archive; which types does a skops file name), then scans it with
:func:`riskframe.scanning.assert_safe_to_load`, and only then loads it. It fails closed: a scan
verdict other than ``safe`` raises :class:`~riskframe.errors.UnsafeArtifactError`, and so does a
scanner that cannot be imported. Every loader of a model file in riskframe goes through here
(:meth:`riskframe.representations.torchscript.TorchScriptModel.load`,
:meth:`riskframe.representations.mlp.SkopsMLP.load`, the backdoor controls' model, the patch
scenario's cached model); ``tests/io/test_model_files.py`` checks each of them refuses an unsafe file.

The scanner, torch and skops are imported inside the function: importing this module costs nothing,
and the scanner's import is the one whose failure the door must catch.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from riskframe.errors import DetectorError, MissingDependencyError, UnsafeArtifactError

ModelFormat = Literal["torchscript", "skops"]


@dataclass(frozen=True)
class OpenedModel:
    """A model file loaded through the door.

    ``model`` is the loaded object: a ``torch.jit.ScriptModule`` on CPU in eval mode, or the
    estimator skops rebuilt. ``scan`` is the scan's outcome in words (``safe (torchscript)``), for the
    evidence.
    """

    model: Any
    scan: str


def open_model(path: Path, fmt: ModelFormat, name: str, *, trusted: Collection[str] = ()) -> OpenedModel:
    """Check, scan, then load the model file ``path`` of format ``fmt`` (``name`` is its artifact's
    name, for messages); ``trusted`` are the types beyond skops' defaults a skops file may name.

    Raises
    ------
    riskframe.errors.UnsafeArtifactError
        The scan's verdict is not ``safe``, or the scanner cannot be imported: the file is not loaded.
    riskframe.errors.DetectorError
        The file is not of format ``fmt``, or names a type outside ``trusted`` (skops).
    riskframe.errors.MissingDependencyError
        torch is not installed (the ``torch`` extra), for a TorchScript file.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "model.pt"
    >>> _ = path.write_text("weights, honestly")
    >>> open_model(path, "torchscript", "model")
    Traceback (most recent call last):
    ...
    riskframe.errors.DetectorError: model 'model': model.pt is not a TorchScript file (not a zip archive)
    """
    path = Path(path)
    if fmt == "torchscript":
        if not zipfile.is_zipfile(path):
            _refuse_if_unsafe(path)  # a bare pickle posing as a model is named for what it is
            raise DetectorError(f"model {name!r}: {path.name} is not a TorchScript file (not a zip archive)")
        scan = _scan(path)
        return OpenedModel(_load_torchscript(path, name), scan)
    _check_skops_types(path, name, trusted)
    scan = _scan(path)
    return OpenedModel(_load_skops(path, name, trusted), scan)


def _scan(path: Path) -> str:
    """Raise :class:`UnsafeArtifactError` unless the scan clears ``path``; the outcome in words."""
    try:
        from riskframe.scanning import assert_safe_to_load
    except ImportError as exc:
        raise UnsafeArtifactError(
            str(path), "unsupported", detail=f"the unsafe-model scan is unavailable ({exc}), so the file is not loaded"
        ) from exc
    scan = assert_safe_to_load(path)
    return f"{scan.verdict} ({scan.format})"


def _refuse_if_unsafe(path: Path) -> None:
    try:
        _scan(path)
    except UnsafeArtifactError as exc:
        if exc.verdict == "unsafe":
            raise


def _load_torchscript(path: Path, name: str) -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "torch", "TorchScript models") from None
    try:
        module = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
    except Exception as exc:  # torch raises RuntimeError/ValueError with C++ traces
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DetectorError(f"model {name!r}: {path.name} is not a TorchScript model ({first}); "
                            "export it with torch.jit.script(model).save(path)") from exc
    return module.eval()


def _check_skops_types(path: Path, name: str, trusted: Collection[str]) -> None:
    """Refuse a skops file naming a type outside skops' defaults and ``trusted`` (read from the
    file's schema; nothing is rebuilt)."""
    sio = _import_skops()
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zipfile/json/key errors on files it did not write
        raise DetectorError(f"model {name!r}: {path.name} is not a skops file ({exc})") from exc
    refused = sorted(set(untrusted) - set(trusted))
    if refused:
        raise DetectorError(
            f"model {name!r}: {path.name} holds types riskframe does not trust, so it is not loaded: "
            + ", ".join(refused)
        )


def _load_skops(path: Path, name: str, trusted: Collection[str]) -> Any:
    sio = _import_skops()
    try:
        return sio.load(path, trusted=list(trusted))
    except Exception as exc:
        raise DetectorError(f"model {name!r}: cannot load {path.name} with skops ({exc})") from exc


def _import_skops() -> Any:
    import skops.io as sio  # a core dependency, imported here only because it is slow to import

    return sio
