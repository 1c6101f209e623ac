"""Static scanning of model files for code that would run when they are loaded.

Loading a pickle-based model (``pickle``, ``joblib``, ``torch.load``, ``numpy.load`` with
``allow_pickle``) imports the modules the file names and calls what it finds there. This package
reads such files *without loading them*: it reads each file the way every loader could (a pickle
to ``pickle.load`` whatever its first opcode, joblib's arrays and ``pickle.load``'s opcodes in the
same bytes, the one zip archive every zip reader sees, torch's legacy formats), walks every pickle
stream opcode by opcode, and judges each global the stream would import against an allowlist of
globals known to be safe to reconstruct. Anything else is a finding; well-known code-execution
gadgets (``os.system``, ``builtins.eval``, ``runpy``, network modules, ...) are ``critical``; a
part of a file the scan cannot read exactly as its loader would is never vouched for.

Public API::

    scan_file(path) -> FileScan          # one file
    scan_path(path) -> list[FileScan]    # a file, or every file under a folder
    assert_safe_to_load(path)            # raise UnsafeArtifactError unless the verdict is "safe"

Riskframe itself loads a model only after :func:`assert_safe_to_load` has passed.
"""

from __future__ import annotations

import os

from riskframe.errors import UnsafeArtifactError
from riskframe.scanning.allowlist import SEVERITIES, Allowlist, Severity, find_gadget, severity_rank
from riskframe.scanning.findings import FileScan, Finding, ScanLimits, Verdict
from riskframe.scanning.scan import iter_files, scan_file, scan_path


def assert_safe_to_load(path: str | os.PathLike[str], *, allowlist: Allowlist | None = None,
                        limits: ScanLimits | None = None) -> FileScan:
    """Scan ``path`` and raise unless its verdict is ``safe``; call this before loading a model.

    Raises
    ------
    UnsafeArtifactError
        The verdict is ``unsafe`` (the error lists the findings: global, byte offset, severity,
        reason) or ``unsupported`` (the format was not recognised, so nothing vouches for it).
    OSError
        The file cannot be opened.

    Examples
    --------
    >>> import pickle, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.pkl"
    >>> _ = path.write_bytes(pickle.dumps([1.0, 2.0]))
    >>> assert_safe_to_load(path).verdict
    'safe'
    """
    scan = scan_file(path, allowlist=allowlist, limits=limits)
    if scan.verdict != "safe":
        raise UnsafeArtifactError(str(path), scan.verdict, scan.findings,
                                  detail="; ".join(scan.notes) or f"format {scan.format!r}")
    return scan


__all__ = [
    "SEVERITIES",
    "Allowlist",
    "FileScan",
    "Finding",
    "ScanLimits",
    "Severity",
    "Verdict",
    "assert_safe_to_load",
    "find_gadget",
    "iter_files",
    "scan_file",
    "scan_path",
    "severity_rank",
]
