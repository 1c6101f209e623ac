"""Windows of production data: a dataset artifact declared ``windows: true`` is a folder holding one
file per window (a day, a week, a batch), in the artifact's format, named so that they sort in time
order. A name starting with an ISO date (``2024-03-01.npz``, ``2024-03.csv``,
``2024-03-01T12-00.npz``) gives the window its date.

Each window is read as its own single-file artifact, one at a time, through the ordinary loaders.
Hidden files (a leading dot) and files of other formats are passed over; a FIFO or device is
refused, never opened.

>>> [w.name for w in list_windows(artifact, roots)]  # doctest: +SKIP
['2024-01-01', '2024-01-08', '2024-01-15']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from riskframe.data.roots import DataRoots, file_kind
from riskframe.errors import ArtifactError
from riskframe.spec.pipeline import Artifact

MAX_WINDOWS = 10_000
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?")
_SUFFIXES = {"npz": ".npz", "csv": ".csv"}


@dataclass(frozen=True)
class Window:
    """One window: its name (the file name without suffix), its date when the name starts with
    one, and the window as a single-file artifact of the same declaration."""

    name: str
    date: date | None
    artifact: Artifact


def list_windows(artifact: Artifact, roots: DataRoots | Path) -> list[Window]:
    """The windows of a ``windows: true`` dataset artifact, in name order.

    Raises
    ------
    ArtifactError
        The folder is outside the roots, missing, not a folder, of a format other than npz or csv,
        holds no window, holds more than :data:`MAX_WINDOWS`, or holds a FIFO or device named
        like a window.
    """
    roots = roots if isinstance(roots, DataRoots) else DataRoots(roots)
    fmt = artifact.format or "unknown"  # a folder has no suffix to tell its windows' format
    if fmt not in _SUFFIXES:
        raise ArtifactError(f"windows are npz or csv files; declare format: npz or csv (got {fmt!r})", "format")
    folder = roots.existing(artifact.path, folder_ok=True)
    if file_kind(folder) != "folder":
        raise ArtifactError(f"{folder} is a file; `windows: true` declares a folder with one file per window")
    suffix = _SUFFIXES[fmt]
    files = sorted(p for p in folder.iterdir() if p.name.endswith(suffix) and not p.name.startswith("."))
    if not files:
        raise ArtifactError(f"{folder} holds no {suffix} window files")
    if len(files) > MAX_WINDOWS:
        raise ArtifactError(f"{folder} holds {len(files)} window files, more than the {MAX_WINDOWS} riskframe reads")
    base = artifact.path.rstrip("/")
    windows = []
    for file in files:
        relative = f"{base}/{file.name}"
        roots.existing(relative, single="a window")  # inside the roots, a regular file
        single = artifact.model_copy(update={"path": relative, "windows": False, "sha256": None, "format": fmt})
        name = file.name[: -len(suffix)]
        windows.append(Window(name, _date_of(name), single))
    return windows


def _date_of(name: str) -> date | None:
    match = _DATE.match(name)
    if match is None:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    try:
        return date(year, month, day)
    except ValueError:
        return None
