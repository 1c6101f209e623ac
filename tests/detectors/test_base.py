"""The detector class contract, enforced when a class is defined."""

from __future__ import annotations

import re
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from riskframe.detectors.base import ROLES, Detector, DetectorParams, check_detector_class
from riskframe.detectors.registry import BUILTIN_DETECTORS, Registry
from riskframe.errors import RegistryError
from riskframe.results import DetectorResult


class Params(DetectorParams):
    threshold: float = 0.1


class Good(Detector):
    name = "good"
    title = "Measures nothing, well"
    requires = ("dataset",)
    Params = Params

    def run(self, ctx, params):
        return DetectorResult(status="pass", score=0.0, summary="Nothing found.")


def _where(qualname: str) -> str:
    return f"{__name__}.{qualname}"


def test_a_well_formed_detector_defines_without_error():
    check_detector_class(Good)
    assert (Good.optional, Good.techniques) == ((), ())
    assert ROLES == ("dataset", "representations", "model", "files", "endpoint")
    assert Good.dataset_kind == "arrays"


@pytest.mark.parametrize("missing", ["name", "title", "requires"])
def test_a_class_missing_a_class_variable_fails_when_defined(missing):
    attrs = {"name": "broken", "title": "Broken", "requires": ("dataset",), "Params": Params,
             "run": Good.run, "__module__": __name__}
    del attrs[missing]
    kind = "tuple" if missing == "requires" else "str"

    with pytest.raises(RegistryError) as excinfo:
        type("Broken", (Detector,), attrs)

    assert str(excinfo.value) == (f"detector {_where('Broken')} must define class variable "
                                  f"{missing!r} ({kind})")
    assert excinfo.value.detector.__name__ == "Broken"
    assert issubclass(excinfo.value.detector, Detector)


def test_a_class_statement_without_a_title_fails_at_the_statement():
    with pytest.raises(RegistryError) as excinfo:

        class Untitled(Detector):
            name = "untitled"
            requires = ("dataset",)
            Params = Params

            def run(self, ctx, params):
                raise NotImplementedError

    where = _where("test_a_class_statement_without_a_title_fails_at_the_statement.<locals>.Untitled")
    assert str(excinfo.value) == f"detector {where} must define class variable 'title' (str)"
    assert excinfo.value.detector.__qualname__.endswith("<locals>.Untitled")


def test_the_error_carries_the_offending_class():
    class NotADetector:  # registered by mistake: checked, not subclassed
        name = "not-a-detector"
        title = "Not one"
        requires = ("dataset",)

    with pytest.raises(RegistryError, match=r"must define a pydantic 'Params' model$") as excinfo:
        check_detector_class(NotADetector)

    assert excinfo.value.detector is NotADetector


def test_a_class_statement_missing_params_fails():
    with pytest.raises(RegistryError, match=r"NoParams must define a pydantic 'Params' model$"):

        class NoParams(Detector):
            name = "no-params"
            title = "No params"
            requires = ("dataset",)

            def run(self, ctx, params):
                raise NotImplementedError


@pytest.mark.parametrize("name", ["Label-Issues", "label issues", "", "label_issues", "-label", "label--issues"])
def test_names_are_lower_case_words_joined_by_dashes(name):
    with pytest.raises(RegistryError, match=re.escape(f"name {name!r} must be lower-case words joined by dashes")):
        type("BadName", (Detector,), {"name": name, "title": "t", "requires": ("dataset",), "Params": Params,
                                      "run": Good.run})


@pytest.mark.parametrize(("requires", "optional"), [((), ()), (("weights",), ()), (("dataset",), ("labels",))])
def test_roles_must_be_known_and_at_least_one_required(requires, optional):
    message = f"requires/optional must be non-empty roles from {ROLES}"
    with pytest.raises(RegistryError, match=re.escape(message)):
        type("BadRoles", (Detector,), {"name": "bad-roles", "title": "t", "requires": requires,
                                       "optional": optional, "Params": Params, "run": Good.run})


def test_params_must_be_a_pydantic_model():
    class Plain:
        threshold = 0.1

    with pytest.raises(RegistryError, match=r"must define a pydantic 'Params' model$"):
        type("PlainParams", (Detector,), {"name": "plain", "title": "t", "requires": ("dataset",),
                                          "Params": Plain, "run": Good.run})


@pytest.mark.parametrize("config", [ConfigDict(frozen=True), ConfigDict(extra="forbid"), ConfigDict()])
def test_params_must_be_frozen_and_forbid_unknown_names(config):
    loose = type("Loose", (BaseModel,), {"model_config": config, "__annotations__": {"k": int}, "k": 1})

    with pytest.raises(RegistryError, match=re.escape("Params must be frozen with extra='forbid' "
                                                      "(subclass DetectorParams)")):
        type("LooseParams", (Detector,), {"name": "loose", "title": "t", "requires": ("dataset",),
                                          "Params": loose, "run": Good.run})


def test_an_abstract_intermediate_class_is_not_checked():
    class Family(Detector):  # shares code; run() stays abstract, so no name yet
        family: ClassVar[str] = "noise"

    class Member(Family):
        name = "member"
        title = "A member"
        requires = ("dataset",)
        Params = Params

        def run(self, ctx, params):
            return DetectorResult(status="pass", score=0.0, summary="Fine.")

    assert Member.family == "noise"
    with pytest.raises(TypeError):
        Family()


def test_detector_params_are_frozen_and_reject_unknown_names():
    params = Params()
    with pytest.raises(ValidationError, match="frozen"):
        params.threshold = 0.5  # type: ignore[misc]
    with pytest.raises(ValidationError, match="threshhold"):
        Params(threshhold=0.5)  # type: ignore[call-arg]


def test_a_dataset_kind_other_than_arrays_or_text_fails_when_defined():
    with pytest.raises(RegistryError) as excinfo:
        type("Tabular", (Detector,), {"name": "tabular", "title": "Tabular", "requires": ("dataset",),
                                      "dataset_kind": "tables", "Params": Params, "run": Good.run,
                                      "__module__": __name__})
    assert str(excinfo.value) == f"detector {_where('Tabular')}: dataset_kind must be 'arrays' or 'text'"


class OtherParams(DetectorParams):
    limit: int = 3


def test_a_typed_detector_declares_its_params_class_as_its_type_argument():
    class Typed(Detector[Params]):
        name = "typed"
        title = "Typed"
        requires = ("dataset",)
        Params = Params

        def run(self, ctx, params):
            raise NotImplementedError

    class Narrower(Params):
        extra_threshold: float = 0.2

    class Subclassed(Typed):
        name = "subclassed"
        Params = Narrower  # a subclass of the declared type argument is still a Params

    check_detector_class(Subclassed)
    with pytest.raises(RegistryError) as excinfo:

        class Mismatched(Detector[Params]):
            name = "mismatched"
            title = "Mismatched"
            requires = ("dataset",)
            Params = OtherParams

            def run(self, ctx, params):
                raise NotImplementedError

    where = _where("test_a_typed_detector_declares_its_params_class_as_its_type_argument.<locals>.Mismatched")
    assert str(excinfo.value) == f"detector {where}: Params is OtherParams but the class is declared Detector[Params]"


@pytest.mark.parametrize("spec", BUILTIN_DETECTORS)
def test_every_builtin_run_is_typed_against_the_contract(spec):
    """``run(self, ctx: RunContext, params: <its own Params>) -> DetectorResult``, never ``Any``:
    mypy --strict accepts an ``Any`` where the contract names a type, so this is checked here."""
    registry = Registry()
    registry.register_path(spec)
    (detector,) = (registry[name] for name in registry)

    annotations = {name: str(value) for name, value in detector.run.__annotations__.items()}

    assert annotations == {"ctx": "RunContext", "params": detector.Params.__name__, "return": "DetectorResult"}


@pytest.mark.parametrize(("contract", "why"), [
    ({"threshold": "high"}, "threshold\n  Input should be a valid number"),
    ({"steps": 20}, "steps\n  Extra inputs are not permitted"),
    (["threshold"], "dictionary update sequence element #0 has length 9; 2 is required"),
])
def test_contract_params_that_are_not_valid_params_fail_when_defined(contract, why):
    attrs = {"name": "cheap", "title": "Cheap", "requires": ("dataset",), "Params": Params, "run": Good.run,
             "contract_params": contract, "__module__": __name__}

    with pytest.raises(RegistryError) as excinfo:
        type("Cheap", (Detector,), attrs)

    assert str(excinfo.value).startswith(f"detector {_where('Cheap')}: contract_params must be valid Params fields: ")
    assert why in str(excinfo.value)
