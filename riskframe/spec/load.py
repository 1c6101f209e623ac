"""Load riskframe documents from YAML files into validated models, every problem located.

>>> from riskframe.spec import load_document
>>> policy = load_document("policies/data-poisoning.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from riskframe.errors import DocumentError, UsageError
from riskframe.spec.common import API_VERSION, Document
from riskframe.spec.control import Control
from riskframe.spec.inherit import find_policy, resolve_document
from riskframe.spec.pipeline import Pipeline
from riskframe.spec.policy import Policy
from riskframe.spec.validation import did_you_mean, validate_model
from riskframe.spec.waivers import WaiverSet
from riskframe.spec.yaml_source import load_yaml

D = TypeVar("D", bound=Document)

KINDS: dict[str, type[Document]] = {"Pipeline": Pipeline, "Policy": Policy, "Control": Control,
                                    "Waivers": WaiverSet}


def load_document(path: str | Path, expected: type[D] | None = None) -> Document:
    """Parse and validate one document; its ``kind:`` picks the model.

    Raises
    ------
    DocumentError
        Every problem in the file, located.
    """
    doc = load_yaml(path)
    source, data = doc.source, doc.data
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise DocumentError.single(
            source.path, f"a riskframe document must be a mapping with apiVersion and kind; got {got}",
            line=1, column=1,
        )
    kind = data.get("kind")
    if kind not in KINDS:
        message = ("required field is missing" if kind is None
                   else f"unknown document kind {kind!r}{did_you_mean(str(kind), KINDS)}; "
                        f"expected one of {', '.join(KINDS)}")
        raise source.error(("kind",), message, kind)
    model = KINDS[kind]
    if expected is not None and model is not expected:
        wanted = next(name for name, cls in KINDS.items() if cls is expected)
        raise source.error(("kind",), f"expected a kind: {wanted} document, got {kind!r}", kind)
    if data.get("apiVersion") not in (None, API_VERSION):
        raise source.error(("apiVersion",), f"must be {API_VERSION!r}. Got {data['apiVersion']!r} instead.")
    if model is Policy and ("extends" in data or "exclude" in data):
        return resolve_document(doc)
    document = validate_model(model, data, source)
    document._source = source
    return document


def load_pipeline(path: str | Path) -> Pipeline:
    """Load a ``kind: Pipeline`` document (structure only; see :func:`riskframe.spec.check`)."""
    return load_document(path, Pipeline)  # type: ignore[return-value]


def load_policy(path: str | Path) -> Policy:
    """Load a ``kind: Policy`` document, its ``extends:`` resolved into the effective policy
    (structure only; see :func:`riskframe.spec.check`)."""
    return load_document(path, Policy)  # type: ignore[return-value]


def resolve_policy(ref: str | Path, *, base_dir: str | Path | None = None) -> Policy:
    """The effective policy of a file path, or of a policy name (``NAME.yaml`` in ``base_dir``, else
    the bundled ``policies/``).

    Raises
    ------
    DocumentError
        The policy or one of its ancestors is invalid, missing, or part of a cycle; located.
    """
    return load_policy(find_policy(ref, base_dir))


def load_control(path: str | Path) -> Control:
    return load_document(path, Control)  # type: ignore[return-value]


def load_waivers(path: str | Path) -> WaiverSet:
    """Load a ``kind: Waivers`` document (shape only; see :mod:`riskframe.spec.waivers` for the checks)."""
    return load_document(path, WaiverSet)  # type: ignore[return-value]


def control_files(directories: Iterable[Path]) -> list[Path]:
    """The control files of ``directories``, each once: ``--controls controls`` in a checkout of
    riskframe names the bundled folder again, which is no duplicate definition.

    Raises
    ------
    UsageError
        A directory that does not exist, or is a file.
    """
    files: dict[Path, Path] = {}
    for directory in map(Path, directories):
        if not directory.is_dir():
            raise UsageError(f"--controls {directory}: " + ("not a folder" if directory.exists() else "no such folder"))
        for file in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
            files.setdefault(file.resolve(), file)
    return list(files.values())


def load_controls(paths: Sequence[Path]) -> dict[str, Control]:
    """Load control files; a control id defined twice is an error at its second definition."""
    controls: dict[str, Control] = {}
    errors: list[DocumentError] = []
    for path in paths:
        try:
            control = load_control(path)
        except DocumentError as exc:
            errors.append(exc)
            continue
        if control.id in controls:
            first = controls[control.id].source.path
            errors.append(control.source.error(("id",), f"control id {control.id!r} is already defined in {first}"))
            continue
        controls[control.id] = control
    if errors:
        raise DocumentError.merge(errors)
    return controls
