"""Errors riskframe raises, named by cause.

::

    RiskframeError
    ├── InputError                  the user's input is wrong; the CLI prints it and exits 2
    │   ├── DocumentError           problems in one file, every one located (path:line:col: field: message)
    │   ├── UsageError              a command line that cannot be carried out
    │   ├── ArtifactError           an artifact's content is unusable (NaN, one class, a pickle...)
    │   └── ModelRegistryError      an MLflow Model Registry cannot be reached or read
    ├── RegistryError               a detector class breaks the contract, or a name is registered twice
    ├── CatalogImportError          an official catalog file cannot be imported at all
    └── DetectorError               a detector cannot run; the engine turns it into an ``error`` result
        ├── MissingDependencyError  an optional extra is not installed (names the extra)
        ├── NotApplicableError      the artifact is fine but the check does not apply (``not_applicable``)
        ├── UnsafeArtifactError     a model file failed the unsafe-file scan; it must not be loaded
        └── WorkerError             the run's worker process ended without a result (a limit, a crash)

User-facing text has one shape, borrowed from compilers and scikit-learn::

    policies/prod.yaml:14:7: requirements[2].controls[0].with.threshold: must be a number in [0, 1]. Got 1.5 instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One located problem in a file.

    ``line`` and ``column`` are 1-based; 0 means the position is unknown (the whole file).
    """

    path: str
    line: int
    column: int
    field: str
    message: str
    value: Any = dataclasses.field(default=None, compare=False)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else f"{self.path}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class RiskframeError(Exception):
    """Base of every error riskframe raises on purpose.

    ``details`` are lines shown under the message (the problems behind it, one a line): the command
    line prints :meth:`lines` one item per terminal line (see :mod:`riskframe.io.terminal`).
    """

    def __init__(self, message: str = "", *, details: Iterable[object] = ()) -> None:
        self.message, self.details = message, tuple(str(d) for d in details)
        super().__init__("\n".join([message, *self.details]))

    def lines(self) -> list[str]:
        """The message and its details, one item per terminal line."""
        return [self.message, *self.details]


class InputError(RiskframeError):
    """The user's input is wrong. The CLI prints ``str(error)`` and exits 2."""


class DocumentError(InputError):
    """Every problem found in one file, reported at once.

    The attributes of the first problem (``path``, ``line``, ``column``, ``field``, ``value``) are
    exposed on the error itself, so that callers handling a single problem need not index.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("DocumentError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0]
        self.path, self.line, self.column = first.path, first.line, first.column
        self.field, self.value = first.field, first.value
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]

    @classmethod
    def single(
        cls, path: str, message: str, *, line: int = 0, column: int = 0, field: str = "", value: Any = None
    ) -> DocumentError:
        return cls([Problem(path, line, column, field, message, value)])

    @classmethod
    def merge(cls, errors: Iterable[DocumentError]) -> DocumentError:
        return cls([p for e in errors for p in e.problems])


class UsageError(InputError):
    """A command line that cannot be carried out (unknown format, missing file argument, ...)."""


class ArtifactError(InputError):
    """An artifact file exists but its content is unusable as declared.

    ``field`` is the artifact field to blame (``path``, ``features``, ``labels``); the engine
    locates the error at that field of the artifact's declaration in the pipeline file.
    """

    def __init__(self, message: str, field: str = "path") -> None:
        self.field = field
        super().__init__(message)


class ModelRegistryError(InputError):
    """An MLflow tracking server or Model Registry cannot be reached, or refuses a request.

    The message names the URI (credentials removed) and MLflow's own reason. In a detector it
    becomes an ``error`` result (fail closed); on the command line, exit 2.
    """


class RegistryError(RiskframeError):
    """A detector breaks the contract or its name is taken. ``detector`` is the offending object."""

    def __init__(self, message: str, detector: object = None) -> None:
        self.detector = detector
        super().__init__(message)


class CatalogImportError(RiskframeError):
    """An official catalog file cannot be imported at all (not YAML, no version, wrong shape)."""


class DetectorError(RiskframeError):
    """A detector cannot produce a verdict. Raised inside ``run``; becomes an ``error`` result."""


class MissingDependencyError(DetectorError):
    """An optional dependency is missing; the message names the extra that provides it."""

    def __init__(self, package: str, extra: str, detector: str = "") -> None:
        self.package, self.extra = package, extra
        owner = f"detector {detector!r} " if detector else ""
        super().__init__(
            f"{owner}needs {package}, which is not installed. "
            f"Install riskframe's {extra!r} extra; in a checkout: pip install -e '.[{extra}]'"
        )


class NotApplicableError(DetectorError):
    """The inputs are valid but the check does not apply to them; the result is ``not_applicable``."""


class UnsafeArtifactError(DetectorError):
    """A file's static scan did not come back ``safe``, so riskframe refuses to load it.

    Raised by :func:`riskframe.scanning.assert_safe_to_load`. ``path`` is the file, ``verdict``
    is ``unsafe`` or ``unsupported``, ``findings`` the scan's findings (globals, offsets, reasons).
    """

    def __init__(self, path: str, verdict: str, findings: Sequence[Any] = (), detail: str = "") -> None:
        self.path, self.verdict, self.findings = path, verdict, tuple(findings)
        named = "; ".join(str(f) for f in self.findings[:5])
        more = f"; and {len(self.findings) - 5} more" if len(self.findings) > 5 else ""
        why = f": {named}{more}" if named else (f": {detail}" if detail else "")
        super().__init__(f"{path}: refusing to load a file whose scan verdict is {verdict!r}{why}")


class WorkerError(DetectorError):
    """A run's worker process ended without returning a result, or could not take the run.

    The message completes a sentence that starts with the detector's name ("did not finish within
    ..."); ``evidence`` holds the facts behind it: the ``limit`` that was hit, or the ``exit_code``
    or ``signal`` the worker ended with.
    """

    def __init__(self, message: str, **evidence: Any) -> None:
        self.evidence: dict[str, Any] = {"error": message, **evidence}
        super().__init__(message)
