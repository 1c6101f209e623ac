"""Where the bundled catalogs, controls, policies and templates are.

They live at the top of the repository (``atlas_catalog/``, ``controls/``, ...), where people read
and edit them; a built wheel carries them in ``riskframe/_bundled/``. Both layouts are found.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # riskframe/


def bundled_dir(name: str) -> Path:
    """``name`` is one of atlas_catalog, controls, policies, templates."""
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"riskframe's bundled {name}/ directory is missing (a broken install?)")
