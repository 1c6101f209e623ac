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
- ``techniques``: the ATLAS techniques it can produce evidence for;
- ``dataset_view``: how it reads its datasets (optional): ``arrays`` (``ctx.dataset()``, numeric
  features and labels, validated: the default) or ``table`` (``ctx.table()``, named columns with
  missing values and text kept, for data validation); the engine pre-loads the view it names.
- ``imports``: the heavy modules ``run`` imports (optional). The engine imports them once where
  runs start from (the worker server, or the main thread before runs start in parallel: first
  imports of packages with circular imports, scikit-learn's, are not thread-safe), so that no run
  pays for them. An entry ``module:function`` also calls ``function()`` once after the import, to
  build what a first use builds (matplotlib's text layout): ``"riskframe.detectors.figures:warm_up"``.

``run(ctx, params)`` returns a :class:`~riskframe.results.DetectorResult`. It may raise: the engine
turns any exception into an ``error`` result (:class:`~riskframe.errors.NotApplicableError` into
``not_applicable``). Heavy libraries (cleanlab, ART, torch) are imported inside ``run`` or the
detector's module, never at package import.
"""

from __future__ import annotations

import inspect
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from riskframe.errors import RegistryError
from riskframe.results import DetectorResult

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

Role = Literal["dataset", "representations", "model", "files"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]


class DetectorParams(BaseModel):
    """Base for detector parameters: immutable, unknown names rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Detector(ABC):
    """Base class of every detector; see the module docstring for the contract."""

    name: ClassVar[str]
    title: ClassVar[str]
    requires: ClassVar[tuple[Role, ...]]
    optional: ClassVar[tuple[Role, ...]] = ()
    Params: ClassVar[type[DetectorParams]]
    techniques: ClassVar[tuple[str, ...]] = ()
    dataset_view: ClassVar[Literal["arrays", "table"]] = "arrays"
    imports: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not inspect.isabstract(cls):
            check_detector_class(cls)

    @abstractmethod
    def run(self, ctx: Any, params: Any) -> DetectorResult:
        """Measure, and return the verdict. ``ctx`` is a :class:`riskframe.detectors.context.RunContext`."""


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
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise RegistryError(f"detector {where} must define a pydantic 'Params' model", cls)
    config = params.model_config
    if config.get("extra") != "forbid" or not config.get("frozen"):
        raise RegistryError(
            f"detector {where}: Params must be frozen with extra='forbid' (subclass DetectorParams)", cls)
