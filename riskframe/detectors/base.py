"""The detector contract.

A detector measures one thing (label noise, outliers, file digests) on the artifacts of one stage.
It declares, as class variables checked when the class is defined:

- ``name``: the id controls use (``label-issues``);
- ``title``: one line saying what it measures;
- ``requires``: the artifact roles it needs, the first being the *primary* role (the engine runs
  the detector once per primary artifact of a stage; the ``files`` role binds every artifact of
  the stage at once);
- ``optional``: roles it uses when the stage has them;
- ``Params``: a frozen pydantic model with ``extra="forbid"``: its fields are the detector's
  parameters and thresholds, validated when a control or policy loads;
- ``dataset_kind``: the datasets its ``dataset`` role takes: ``arrays`` (npz, npy, csv, parquet
  without ``text:``, images; the default) or ``text`` (corpora of records: jsonl, text, parquet with
  ``text:``, :mod:`riskframe.data.text`); the engine binds no other;
- ``techniques``: the ATLAS techniques it can produce evidence for;
- ``dataset_view``: how it reads its datasets (optional): ``arrays`` (``ctx.dataset()``, numeric
  features and labels, validated: the default) or ``table`` (``ctx.table()``, named columns with
  missing values and text kept, for data validation); the engine pre-loads the view it names.
- ``imports``: the heavy modules ``run`` imports (optional). The engine imports them once where
  runs start from (the worker server, or the main thread before runs start in parallel: first
  imports of packages with circular imports, scikit-learn's, are not thread-safe), so that no run
  pays for them. An entry ``module:function`` also calls ``function()`` once after the import, to
  build what a first use builds (matplotlib's text layout): ``"riskframe.detectors.figures:warm_up"``;
- ``lineage``: what the ``lineage`` list of its evidence records, if it records one (optional):
  ``"dvc"``, the DVC origins of artifacts it verified (the fields of
  :class:`~riskframe.assessment.DvcOrigin` plus ``artifact``), or ``"registry"``, a model registry's
  record of a model (the fields of :class:`~riskframe.assessment.RegistryLineage` plus ``artifact``).
  The assessment's lineage section collects them by this declaration, not by detector name.
- ``contract_params``: the parameters the contract suite (:mod:`riskframe.testing`) runs it with on
  its tiny stage (optional): overrides of ``Params`` defaults that take the same code paths in less
  time (20 optimisation steps instead of 200, 10 trees instead of 100). Validated against
  ``Params`` here; a run in a pipeline always starts from the defaults.

``run(ctx, params)`` returns a :class:`~riskframe.results.DetectorResult`. It may raise: the engine
turns any exception into an ``error`` result (:class:`~riskframe.errors.NotApplicableError` into
``not_applicable``). Heavy libraries (cleanlab, ART, torch) are imported inside ``run`` or the
detector's module, never at package import.

Typing: :class:`Detector` is generic over its parameters. A detector names its ``Params`` class
twice, as the type argument and as the class variable, and ``run`` receives an instance of it,
already validated (the engine validates a control's ``with:`` once, when the spec is resolved)::

    class LabelIssues(Detector[LabelIssuesParams]):
        Params = LabelIssuesParams

        def run(self, ctx: RunContext, params: LabelIssuesParams) -> DetectorResult: ...

``ctx`` is a :class:`riskframe.detectors.context.RunContext`. The class check below refuses a
``Params`` that is not the type argument (or a subclass of it). A detector written before the
contract was typed (``class D(Detector)``, ``run(self, ctx, params)``) still registers and runs;
it is merely unchecked by mypy.
"""

from __future__ import annotations

import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from riskframe.errors import RegistryError
from riskframe.results import DetectorResult

if TYPE_CHECKING:  # at run time the context (numpy, the data loaders) is imported by the engine
    from riskframe.detectors.context import RunContext

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

Role = Literal["dataset", "representations", "model", "files", "endpoint"]
DatasetKind = Literal["arrays", "text"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
LineageKind = Literal["dvc", "registry"]
LINEAGE_KINDS: tuple[str, ...] = LineageKind.__args__  # type: ignore[attr-defined]


class DetectorParams(BaseModel):
    """Base for detector parameters: immutable, unknown names rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=DetectorParams)


class Detector(ABC, Generic[P]):
    """Base class of every detector, generic over its parameters ``P`` (its ``Params``); see the
    module docstring for the contract."""

    name: ClassVar[str]
    title: ClassVar[str]
    requires: ClassVar[tuple[Role, ...]]
    optional: ClassVar[tuple[Role, ...]] = ()
    dataset_kind: ClassVar[DatasetKind] = "arrays"
    Params: ClassVar[type[DetectorParams]]
    techniques: ClassVar[tuple[str, ...]] = ()
    dataset_view: ClassVar[Literal["arrays", "table"]] = "arrays"
    imports: ClassVar[tuple[str, ...]] = ()
    lineage: ClassVar[LineageKind | None] = None
    contract_params: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not inspect.isabstract(cls):
            check_detector_class(cls)

    @abstractmethod
    def run(self, ctx: RunContext, params: P) -> DetectorResult:
        """Measure the artifacts ``ctx`` binds, judged by ``params``, and return the verdict."""


# The class of a detector, whatever its parameters: what the registry, the planner and the
# contract suite hold.
DetectorClass = type[Detector[Any]]


def check_detector_class(cls: type) -> None:
    """Raise :class:`RegistryError` naming the class and the broken rule."""
    where = f"{cls.__module__}.{cls.__qualname__}"
    for attr, kind in (("name", str), ("title", str), ("requires", tuple)):
        if not isinstance(getattr(cls, attr, None), kind):
            raise RegistryError(f"detector {where} must define class variable {attr!r} ({kind.__name__})", cls)
    name = cls.name  # type: ignore[attr-defined]
    if not _NAME.match(name):
        raise RegistryError(f"detector {where}: name {name!r} must be lower-case words joined by dashes", cls)
    roles = (*cls.requires, *getattr(cls, "optional", ()))  # type: ignore[attr-defined]
    if not cls.requires or any(r not in ROLES for r in roles):  # type: ignore[attr-defined]
        raise RegistryError(f"detector {where}: requires/optional must be non-empty roles from {ROLES}", cls)
    if getattr(cls, "dataset_kind", "arrays") not in DatasetKind.__args__:  # type: ignore[attr-defined]
        raise RegistryError(f"detector {where}: dataset_kind must be 'arrays' or 'text'", cls)
    if getattr(cls, "lineage", None) not in (None, *LINEAGE_KINDS):
        raise RegistryError(f"detector {where}: lineage must be None or one of {LINEAGE_KINDS}", cls)
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise RegistryError(f"detector {where} must define a pydantic 'Params' model", cls)
    config = params.model_config
    if config.get("extra") != "forbid" or not config.get("frozen"):
        raise RegistryError(
            f"detector {where}: Params must be frozen with extra='forbid' (subclass DetectorParams)", cls)
    contract = getattr(cls, "contract_params", {})
    try:
        if contract:  # none: the suite runs the defaults, which check_params_defaults checks
            params.model_validate(dict(contract))
    except (TypeError, ValueError) as exc:  # not a mapping, or not valid Params (a ValidationError)
        raise RegistryError(f"detector {where}: contract_params must be valid {params.__name__} "
                            f"fields: {exc}", cls) from None
    declared = _type_argument(cls)
    if declared is not None and not issubclass(params, declared):
        raise RegistryError(f"detector {where}: Params is {params.__name__} but the class is declared "
                            f"Detector[{declared.__name__}]", cls)


def _type_argument(cls: type) -> type | None:
    """``X`` when ``cls`` (or a base of it) is declared ``Detector[X]``; None when untyped."""
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if get_origin(base) is Detector:
                argument = get_args(base)[0]
                return argument if isinstance(argument, type) else None
    return None
