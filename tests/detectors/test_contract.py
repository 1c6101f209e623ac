"""The detector contract suite: run over every built-in detector, and shown to catch broken ones."""

from __future__ import annotations

import unittest
from typing import ClassVar

import numpy as np
import pytest
from pydantic import Field

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.registry import BUILTIN_DETECTORS, Registry
from riskframe.errors import NotApplicableError, RegistryError
from riskframe.results import DetectorResult
from riskframe.testing import (
    CHECKS,
    check_class_contract,
    check_detector,
    check_params_defaults,
    check_params_schema,
    check_run_deterministic,
    check_run_fails_closed,
    check_run_result,
    check_technique_ids,
    check_techniques_in_catalog,
    contract_params,
    detector_contract_cases,
    parametrize_detector_checks,
    tiny_context,
)


def _module_of(spec: str) -> str:
    return spec.partition(":")[0]


def _builtin_cases() -> list[object]:
    """Every (built-in detector, check) pair. A built-in that does not register is one skip here,
    so that the rest of this module still runs; ``test_builtin_detector_registers`` fails for it."""
    params: list[object] = []
    for spec in BUILTIN_DETECTORS:
        module = _module_of(spec)
        registry = Registry()
        try:
            registry.register_path(spec)
        except RegistryError as exc:
            params.append(pytest.param(None, None, id=module.rsplit(".", 1)[1],
                                       marks=pytest.mark.skip(reason=f"{module} does not register: {exc}")))
            continue
        params += [pytest.param(case.detector, case.check, id=case.id) for case in detector_contract_cases(registry)]
    return params


@pytest.mark.parametrize("spec", BUILTIN_DETECTORS)
def test_builtin_detector_registers(spec):
    Registry().register_path(spec)


@pytest.mark.parametrize(("detector", "check"), _builtin_cases())
def test_builtin_detectors_honour_the_contract(detector, check, tmp_path):
    check(detector, tmp_path)


# Detectors that keep the contract, and detectors that break one rule each -------------------------


class Balance(Detector):
    """Honest: reads the dataset and flags the samples of the rarest class."""

    name = "class-balance"
    title = "Classes are about equally frequent"
    requires = ("dataset",)
    optional = ("representations",)
    Params = DetectorParams
    techniques = ("AML.T0020",)
    seen: ClassVar[list[tuple[str, ...]]] = []

    def run(self, ctx, params):
        Balance.seen.append(tuple(role for role in ("dataset", "representations") if ctx.has(role)))
        if ctx.has("representations"):
            ctx.representations()
        ds = ctx.dataset()
        counts = np.bincount(ds.labels, minlength=ds.n_classes)
        rarest = int(np.argmin(counts))
        flagged = [int(i) for i in np.flatnonzero(ds.labels == rarest)]
        score = 1.0 - counts.min() / counts.max()
        return DetectorResult(status="warn" if score > 0.5 else "pass", score=score,
                              summary=f"Class {ds.label_of(rarest)} is the rarest.",
                              metrics={"imbalance": score},
                              evidence={"flagged_indices": flagged, "scores": [score] * len(flagged)})


def _variant(name: str, run, requires=("dataset",), params=DetectorParams, techniques=("AML.T0020",)):
    return type(name, (Detector,), {"name": name.lower().replace("_", "-"), "title": name, "requires": requires,
                                    "Params": params, "techniques": techniques, "run": run,
                                    "__module__": __name__})


def _result(**fields) -> DetectorResult:
    return DetectorResult(**{"status": "pass", "score": 0.0, "summary": "Fine.", **fields})


Sloppy = _variant("sloppy", lambda self, ctx, params: _result())
Unseeded = _variant("unseeded", lambda self, ctx, params: _result(
    score=float(np.random.default_rng().random()), summary=f"{ctx.dataset().n_samples} samples."))
NumpyEvidence = _variant("numpy-evidence", lambda self, ctx, params: _result(
    status="fail", evidence={"flagged_indices": np.flatnonzero(ctx.dataset().labels == 1)}))
OutOfRange = _variant("out-of-range", lambda self, ctx, params: _result(
    status="fail", evidence={"flagged_indices": [3, ctx.dataset().n_samples]}))
TwoLines = _variant("two-lines", lambda self, ctx, params: _result(
    status="fail", summary=f"Read {ctx.dataset().n_samples} samples.\nFound nothing."))
ReturnsDict = _variant("returns-dict", lambda self, ctx, params: {"status": "pass"})
Crashes = _variant("crashes", lambda self, ctx, params: 1 / 0)


def _shrug_when_unreadable(self, ctx, params):
    try:
        ctx.dataset()
    except Exception as exc:
        raise NotApplicableError("no usable dataset") from exc
    return _result()


ShrugsOnDamage = _variant("shrugs-on-damage", _shrug_when_unreadable)


def _exit_when_unreadable(self, ctx, params):
    try:
        ctx.dataset()
    except Exception:
        raise SystemExit(1) from None
    return _result()


ExitsOnDamage = _variant("exits-on-damage", _exit_when_unreadable)


class Threshold(DetectorParams):
    threshold: float = Field(gt=0, lt=1)  # no default: a control could not use it without `with:`


NeedsThreshold = _variant("needs-threshold", Sloppy.run, params=Threshold)
LooseIds = _variant("loose-ids", Sloppy.run, techniques=("T0020", "AML.M0014", "AML.T0020", "AML.T0020"))
UnknownTechnique = _variant("unknown-technique", Sloppy.run, techniques=("AML.T0020", "AML.T9999"))
ModelOnly = _variant("model-only", Sloppy.run, requires=("model",))


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_a_detector_that_keeps_the_contract_passes_every_check(check, tmp_path):
    check(Balance, tmp_path)


def test_required_roles_alone_suffice_and_optional_ones_are_used_when_bound(tmp_path):
    Balance.seen.clear()

    check_run_result(Balance, tmp_path)

    assert Balance.seen == [("dataset",), ("dataset", "representations")]


@pytest.mark.parametrize(("detector", "check", "message"), [
    (Sloppy, check_run_fails_closed, "sloppy: passed damaged artifacts: Fine."),
    (Unseeded, check_run_deterministic,
     "unseeded: two runs with seed 0 differ; seed every random choice with ctx.seed"),
    (NumpyEvidence, check_run_result, "numpy-evidence (roles dataset): evidence must be plain JSON"),
    (OutOfRange, check_run_result, "out-of-range (roles dataset): flagged_indices out of [0, 200)"),
    (TwoLines, check_run_result, "two-lines (roles dataset): summary must be one non-empty line"),
    (ReturnsDict, check_run_result, "returns-dict: run returned dict, not a DetectorResult"),
    (ExitsOnDamage, check_run_fails_closed, "exits-on-damage: run raised SystemExit, which is not an Exception"),
    (ShrugsOnDamage, check_run_fails_closed, "shrugs-on-damage: reported damaged artifacts as not applicable; "
                                             "let the error propagate (no usable dataset)"),
    (NeedsThreshold, check_params_defaults, "needs-threshold: Params() must build from defaults"),
    (LooseIds, check_technique_ids, "loose-ids: techniques must be ATLAS technique ids like 'AML.T0020'; "
                                    "got ['T0020', 'AML.M0014']"),
])
def test_a_broken_rule_fails_its_check_with_a_reason(detector, check, message, tmp_path):
    with pytest.raises(AssertionError) as excinfo:
        check(detector, tmp_path)

    assert str(excinfo.value).startswith(message)


def test_a_twice_listed_technique_fails():
    Twice = _variant("twice", Sloppy.run, techniques=("AML.T0020", "AML.T0020"))
    with pytest.raises(AssertionError, match=r"^twice: a technique is listed twice"):
        check_technique_ids(Twice, None)


def test_an_unknown_technique_fails_against_the_catalog(tmp_path):
    try:
        check_techniques_in_catalog(Balance, tmp_path)
    except unittest.SkipTest as skip:
        pytest.skip(str(skip))

    with pytest.raises(AssertionError, match=r"^unknown-technique: unknown ATLAS technique 'AML\.T9999'"):
        check_techniques_in_catalog(UnknownTechnique, tmp_path)


def test_an_exception_inside_run_propagates_as_an_exception(tmp_path):
    # The engine turns it into an `error` result; the suite only needs it to be a normal Exception.
    with pytest.raises(ZeroDivisionError):
        check_run_result(Crashes, tmp_path)
    check_run_fails_closed(Crashes, tmp_path)


def test_the_class_and_schema_checks_pass_for_the_probes():
    for detector in (Sloppy, NeedsThreshold):
        check_class_contract(detector, None)
        check_params_schema(detector, None)


def test_a_model_role_binds_the_tiny_torchscript_cnn(tmp_path):
    pytest.importorskip("torch", reason="the tiny model needs the torch extra")
    ctx = tiny_context(ModelOnly, tmp_path)
    model = ctx.artifact("model")
    assert (model.name, model.resolved_format, ctx.path("model").name) == ("tiny-cnn", "torchscript", "model.pt")


def test_check_detector_runs_every_check_and_warns_about_skips(tmp_path):
    check_detector(Balance, tmp_path / "balance")

    with pytest.raises(AssertionError, match=r"^model-only: passed damaged artifacts"):
        check_detector(ModelOnly, tmp_path / "model")

    with pytest.raises(AssertionError, match=r"^sloppy: passed damaged artifacts"):
        check_detector(Sloppy, tmp_path / "sloppy")


def test_cases_and_parametrisation_name_detector_and_check():
    registry = Registry()
    registry.register(Sloppy)
    registry.register(Balance)

    cases = detector_contract_cases(registry)

    assert [case.id for case in cases[:2]] == ["class-balance-class_contract", "class-balance-params_defaults"]
    assert len(cases) == 2 * len(CHECKS)
    assert [c.detector for c in detector_contract_cases([Sloppy, Balance])] == [c.detector for c in cases]
    mark = parametrize_detector_checks(registry)
    assert mark.args[0] == "detector, check" and mark.kwargs["ids"][-1] == "sloppy-run_fails_closed"


def test_the_tiny_stage_is_real_and_pinned(tmp_path):
    ctx = tiny_context(Balance, tmp_path, roles=("dataset", "representations", "files"))

    ds = ctx.dataset()
    assert (ds.n_samples, ds.n_classes) == (200, 10) and ds.images is not None
    assert int((ds.labels == 1).sum()) == 24  # 20 ones and four 7s relabelled 1
    assert ctx.representations().shape == (200, 16)
    assert [a.name for a in ctx.artifacts("files")] == ["train", "train-reps", "config", "model"]
    assert all(a.sha256 for a in ctx.artifacts("files"))


class Quick(Balance):
    """Balance, with a parameter the contract suite sets lower than its default."""

    name = "quick-balance"
    ran_with: ClassVar[list[DetectorParams]] = []

    class Params(DetectorParams):
        rounds: int = 100

    contract_params: ClassVar[dict[str, int]] = {"rounds": 2}

    def run(self, ctx, params):
        Quick.ran_with.append(params)
        return super().run(ctx, params)


@pytest.mark.parametrize("check", [check_run_result, check_run_deterministic, check_run_fails_closed])
def test_the_run_checks_use_the_detector_s_contract_params_and_the_defaults_stay_the_defaults(check, tmp_path):
    Quick.ran_with.clear()

    check(Quick, tmp_path)

    assert Quick.ran_with and {p.rounds for p in Quick.ran_with} == {2}
    assert contract_params(Quick) == Quick.Params(rounds=2) and Quick.Params().rounds == 100
