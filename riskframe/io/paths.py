"""How paths are shown to people."""

from __future__ import annotations

import os
from pathlib import Path


def shown_path(path: str | Path) -> str:
    """Relative to the working directory when below it (shorter, what people typed, and the same on
    every machine), else absolute; always with ``/`` separators."""
    relative = os.path.relpath(path)
    return Path(relative).as_posix() if not relative.startswith("..") else Path(path).resolve().as_posix()
