"""Writing files: atomically, and byte-reproducibly.

>>> from riskframe.io.files import write_npz
>>> write_npz(tmp / "train.npz", {"X": images, "y": labels})  # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Zip entries carry a modification time; a fixed one makes equal content give equal bytes, so digests
# pinned in a pipeline only change when the data does.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_atomically(path: Path, content: bytes) -> Path:
    """Write ``content`` to ``path`` so that a reader (a CI job uploading a report) never sees a
    half-written file. The temporary file is opened the ordinary way (not mkstemp) so it gets the
    user's usual permissions."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_npz(path: Path, arrays: Mapping[str, Any]) -> Path:
    """Like ``numpy.savez`` (no pickles), but equal arrays give equal bytes: stored entries with a
    fixed timestamp. Creates the parent folder."""
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)  # keeps 0-d arrays 0-d
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH), buffer.getvalue())
    return path
