"""The detector contract suite: the checks every detector, built-in or third-party, must pass.

After scikit-learn's ``parametrize_with_checks``: one test function, parametrised over every
(detector, check) pair, so a failure names the detector and the rule it broke::

    from riskframe.detectors.registry import Registry
    from riskframe.testing import parametrize_detector_checks

    registry = Registry()
    registry.register(MyDetector)

    @parametrize_detector_checks(registry)
    def test_detector_contract(detector, check, tmp_path):
        check(detector, tmp_path)

or all checks in one call: ``check_detector(MyDetector, tmp_path)``.

Each check takes the detector class and an empty working folder, and raises ``AssertionError``
saying what is wrong, or :class:`unittest.SkipTest` (which pytest reports as a skip) when it cannot
apply yet, e.g. when no ATLAS catalog is installed or the detector needs a ``model`` artifact.

The run checks build a tiny real stage on disk with :func:`tiny_context` (see
:mod:`riskframe.testing.tiny`): 200 of scikit-learn's 8x8 digits with four 7s relabelled 1,
their PCA representations, a folder of files, a tiny scikit-learn model and, for detectors with a
``model`` role, a tiny TorchScript CNN. They run the detector with its ``contract_params`` (the
defaults, unless the detector declares cheaper ones for this tiny stage: fewer steps, fewer trees).
"""

from __future__ import annotations

import inspect
import json
import math
import re
import unittest
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from riskframe.detectors.base import DetectorClass, DetectorParams, check_detector_class
from riskframe.detectors.context import RunContext
from riskframe.detectors.registry import Registry
from riskframe.errors import DocumentError, NotApplicableError, RegistryError
from riskframe.results import DetectorResult
from riskframe.testing.tiny import tiny_context, tiny_stage

__all__ = [
    "CHECKS", "Check", "ContractCase", "ContractSkipWarning", "check_class_contract", "check_detector",
    "check_params_defaults", "check_params_schema", "check_run_deterministic", "check_run_fails_closed",
    "check_run_result", "check_technique_ids", "check_techniques_in_catalog", "contract_params",
    "detector_contract_cases", "parametrize_detector_checks", "tiny_context", "tiny_stage",
]

Check = Callable[[DetectorClass, Path], None]

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TECHNIQUE = re.compile(r"^AML\.T\d{4}(\.\d{3})?$")


class ContractSkipWarning(UserWarning):
    """:func:`check_detector` could not apply a check (the reason is the message)."""


class ContractCase(NamedTuple):
    detector: DetectorClass
    check: Check

    @property
    def id(self) -> str:
        return f"{self.detector.name}-{self.check.__name__.removeprefix('check_')}"


# Class and parameters ---------------------------------------------------------------------------

def check_class_contract(detector: DetectorClass, workdir: Path) -> None:
    """The class variables are well formed and the engine can instantiate the class."""
    try:
        check_detector_class(detector)
    except RegistryError as exc:
        raise AssertionError(str(exc)) from exc
    assert _NAME.match(detector.name), (
        f"{detector.name!r}: a detector name is lower-case words joined by dashes, e.g. 'label-issues'")
    assert detector.title.strip(), f"{detector.name}: title must say in one line what it measures"
    roles = (*detector.requires, *detector.optional)
    assert len(set(roles)) == len(roles), f"{detector.name}: a role appears twice in requires/optional"
    assert not inspect.isabstract(detector), f"{detector.name}: run() is not implemented"
    detector()  # the engine instantiates detectors without arguments


def check_params_defaults(detector: DetectorClass, workdir: Path) -> None:
    """Params build from their defaults, are immutable, reject unknown names and survive JSON."""
    try:
        params = detector.Params()
    except ValidationError as exc:
        raise AssertionError(f"{detector.name}: Params() must build from defaults, so a control can "
                             f"use the detector without `with:`:\n{exc}") from exc
    field = next(iter(type(params).model_fields), None)
    if field is not None:
        try:
            setattr(params, field, getattr(params, field))
        except ValidationError:
            pass
        else:
            raise AssertionError(f"{detector.name}: Params must be frozen; setting {field!r} worked")
    try:
        detector.Params.model_validate({"riskframe_contract_unknown": 1})
    except ValidationError:
        pass
    else:
        raise AssertionError(f"{detector.name}: Params accepted an unknown parameter; use extra='forbid'")
    # Controls write parameters in YAML: the defaults must come back unchanged from plain data.
    again = detector.Params.model_validate(json.loads(params.model_dump_json()))
    assert again == params, f"{detector.name}: Params defaults change in a JSON round trip: {again!r}"


def check_params_schema(detector: DetectorClass, workdir: Path) -> None:
    """Params export a JSON schema (documentation and editor completion are built from it)."""
    schema = detector.Params.model_json_schema()
    json.dumps(schema)
    assert schema.get("type") == "object", f"{detector.name}: Params schema is not an object"
    assert schema.get("additionalProperties") is False, (
        f"{detector.name}: Params schema must forbid unknown parameters")
    missing = set(detector.Params.model_fields) - set(schema.get("properties", {}))
    assert not missing, f"{detector.name}: Params schema lacks {sorted(missing)}"


def check_technique_ids(detector: DetectorClass, workdir: Path) -> None:
    """``techniques`` are ATLAS technique ids (``AML.T0020``, ``AML.T0010.002``), each once."""
    bad = [t for t in detector.techniques if not (isinstance(t, str) and _TECHNIQUE.match(t))]
    assert not bad, f"{detector.name}: techniques must be ATLAS technique ids like 'AML.T0020'; got {bad}"
    assert len(set(detector.techniques)) == len(detector.techniques), (
        f"{detector.name}: a technique is listed twice")


def check_techniques_in_catalog(detector: DetectorClass, workdir: Path) -> None:
    """Every technique exists in the installed ATLAS catalog."""
    from riskframe.catalog import load_catalog

    try:
        catalog = load_catalog()
    except (DocumentError, OSError) as exc:
        raise unittest.SkipTest(f"no ATLAS catalog to check technique ids against ({exc})") from None
    problems = [p for t in detector.techniques if (p := catalog.atlas_problem(t, "technique"))]
    assert not problems, f"{detector.name}: " + "; ".join(problems)


# Runs on a tiny real stage ----------------------------------------------------------------------

def check_run_result(detector: DetectorClass, workdir: Path) -> None:
    """``run`` on a tiny stage returns a valid, JSON-serialisable result.

    Runs with the required roles only and, when the detector has optional roles, with them too.
    """
    variants = [detector.requires]
    if detector.optional:
        variants.append((*detector.requires, *detector.optional))
    for roles in variants:
        ctx = tiny_context(detector, workdir, roles=roles)
        result = _run(detector, ctx)
        _assert_valid_result(detector, result, ctx, roles)


def check_run_deterministic(detector: DetectorClass, workdir: Path) -> None:
    """Two runs with the same seed on the same inputs give the same result."""
    first = _run(detector, tiny_context(detector, workdir))
    second = _run(detector, tiny_context(detector, workdir))
    assert first.model_dump_json() == second.model_dump_json(), (
        f"{detector.name}: two runs with seed 0 differ; seed every random choice with ctx.seed")


def check_run_fails_closed(detector: DetectorClass, workdir: Path) -> None:
    """On damaged artifacts ``run`` raises an ``Exception`` (the engine records an ``error``
    result) or returns ``warn`` or ``fail``; it never passes what it could not read, nor calls it
    not applicable (which would lower nothing and fail no gate)."""
    ctx = tiny_context(detector, workdir)
    for artifact in {a.name: a for bound in ctx.bindings.values() for a in bound}.values():
        _damage(ctx.store.path(artifact))
    hidden = f"{detector.name}: reported damaged artifacts as not applicable; let the error propagate"
    try:
        result = detector().run(ctx, contract_params(detector))
    except NotApplicableError as exc:
        raise AssertionError(f"{hidden} ({exc})") from exc
    except Exception:
        return
    except BaseException as exc:
        raise AssertionError(f"{detector.name}: run raised {type(exc).__name__}, which is not an "
                             "Exception: the engine could not turn it into an error result") from exc
    assert result.status != "pass", f"{detector.name}: passed damaged artifacts: {result.summary}"
    assert result.status != "not_applicable", f"{hidden} ({result.summary})"


CHECKS: tuple[Check, ...] = (
    check_class_contract,
    check_params_defaults,
    check_params_schema,
    check_technique_ids,
    check_techniques_in_catalog,
    check_run_result,
    check_run_deterministic,
    check_run_fails_closed,
)


def _damage(path: Path) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        file.write_bytes(b"damaged in transit\n")


def contract_params(detector: DetectorClass) -> DetectorParams:
    """The parameters the run checks use: the defaults with the detector's ``contract_params``."""
    return detector.Params.model_validate(dict(detector.contract_params))


def _run(detector: DetectorClass, ctx: RunContext) -> DetectorResult:
    result = detector().run(ctx, contract_params(detector))
    assert isinstance(result, DetectorResult), (
        f"{detector.name}: run returned {type(result).__name__}, not a DetectorResult")
    return result


def _assert_valid_result(detector: DetectorClass, result: DetectorResult, ctx: RunContext,
                         roles: tuple[str, ...]) -> None:
    name = f"{detector.name} (roles {', '.join(roles)})"
    try:  # re-validate: model_construct() would have skipped the checks
        DetectorResult.model_validate(result.model_dump())
    except ValidationError as exc:
        raise AssertionError(f"{name}: invalid result:\n{exc}") from exc
    assert math.isfinite(result.score), f"{name}: score is {result.score}"
    assert result.summary.strip() and "\n" not in result.summary, (
        f"{name}: summary must be one non-empty line; got {result.summary!r}")
    try:
        json.dumps(result.model_dump(mode="json"), allow_nan=False)
    except (ValueError, TypeError) as exc:  # PydanticSerializationError is a ValueError
        raise AssertionError(f"{name}: evidence must be plain JSON (lists, not numpy arrays; "
                             f"finite floats): {exc}") from exc
    _assert_flagged(name, result.evidence, ctx)


def _assert_flagged(name: str, evidence: dict[str, Any], ctx: RunContext) -> None:
    if "flagged_indices" not in evidence:
        return
    flagged = list(evidence["flagged_indices"])
    n = ctx.dataset().n_samples if ctx.has("dataset") else None
    assert all(isinstance(i, int) and not isinstance(i, bool) for i in flagged), (
        f"{name}: flagged_indices must be ints")
    assert len(set(flagged)) == len(flagged), f"{name}: flagged_indices repeat an index"
    assert n is None or all(0 <= i < n for i in flagged), f"{name}: flagged_indices out of [0, {n})"
    if "scores" in evidence:
        scores = list(evidence["scores"])
        assert len(scores) == len(flagged), f"{name}: scores and flagged_indices differ in length"
        assert all(0.0 <= s <= 1.0 for s in scores), f"{name}: flagged scores must lie in [0, 1]"


# Running the suite ------------------------------------------------------------------------------

def detector_contract_cases(detectors: Registry | Iterable[DetectorClass]) -> list[ContractCase]:
    """Every (detector, check) pair, detectors in name order."""
    classes = ([detectors[name] for name in detectors] if isinstance(detectors, Registry)
               else sorted(detectors, key=lambda cls: str(getattr(cls, "name", cls.__qualname__))))
    return [ContractCase(cls, check) for cls in classes for check in CHECKS]


def parametrize_detector_checks(detectors: Registry | Iterable[DetectorClass]) -> Any:
    """A ``pytest.mark.parametrize("detector, check", ...)`` over :func:`detector_contract_cases`,
    with ids such as ``artifact-digest-run_deterministic``."""
    import pytest

    cases = detector_contract_cases(detectors)
    return pytest.mark.parametrize("detector, check", cases, ids=[case.id for case in cases])


def check_detector(detector: DetectorClass, tmp_path: Path) -> None:
    """Run every contract check on ``detector``; the first failure raises ``AssertionError``.

    Parameters
    ----------
    detector
        The detector class to check.
    tmp_path
        An empty folder; each check works in a subfolder of it.

    Warns
    -----
    ContractSkipWarning
        For each check that cannot apply (no ATLAS catalog installed, a ``model`` role), with why.

    Examples
    --------
    >>> def test_my_detector(tmp_path):  # doctest: +SKIP
    ...     check_detector(MyDetector, tmp_path)
    """
    for check in CHECKS:
        workdir = tmp_path / check.__name__
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            check(detector, workdir)
        except unittest.SkipTest as skip:
            warnings.warn(f"{detector.name}: {check.__name__} skipped: {skip}", ContractSkipWarning,
                          stacklevel=2)
