"""Detector registries: explicit registration, entry points of real installed distributions."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from riskframe.detectors.base import Detector, DetectorParams
from riskframe.detectors.registry import BUILTIN_DETECTORS, ENTRY_POINT_GROUP, Registry, builtin_registry
from riskframe.errors import RegistryError
from riskframe.results import DetectorResult


def _detector(detector_name: str, module: str = __name__) -> type[Detector]:
    """A fresh, valid detector class called ``detector_name``."""

    class Params(DetectorParams):
        pass

    def run(self, ctx, params):
        return DetectorResult(status="pass", score=0.0, summary="Nothing found.")

    return type("Probe", (Detector,), {"name": detector_name, "title": "Probe", "requires": ("files",),
                                       "Params": Params, "run": run, "__module__": module})


def test_register_and_look_up():
    registry = Registry()
    beta, alpha = _detector("beta"), _detector("alpha")

    assert registry.register(beta) is beta
    registry.register(alpha, origin="plugin acme")

    assert list(registry) == ["alpha", "beta"] and len(registry) == 2
    assert registry["beta"] is beta and registry.get("alpha") is alpha
    assert registry.get("gamma") is None and "gamma" not in registry and "alpha" in registry
    assert registry.origin("alpha") == "plugin acme"
    assert registry.origin("beta") == f"{__name__}.Probe"


def test_register_works_as_a_decorator():
    registry = Registry()

    @registry.register
    class Decorated(Detector):
        name = "decorated"
        title = "Decorated"
        requires = ("files",)
        Params = DetectorParams

        def run(self, ctx, params):
            return DetectorResult(status="pass", score=0.0, summary="Fine.")

    assert registry["decorated"] is Decorated


def test_a_name_registered_twice_is_an_error_naming_both():
    registry = Registry()
    first, second = _detector("label-issues"), _detector("label-issues")
    registry.register(first, origin="riskframe")

    with pytest.raises(RegistryError) as excinfo:
        registry.register(second, origin="plugin acme")

    assert str(excinfo.value) == "detector name 'label-issues' from plugin acme is already registered by riskframe"
    assert excinfo.value.detector is second
    assert registry["label-issues"] is first  # never a silent overwrite


def test_registering_a_class_that_breaks_the_contract_names_it():
    class Impostor:
        name = "impostor"

    with pytest.raises(RegistryError, match=r"Impostor must define class variable 'title' \(str\)$") as excinfo:
        Registry().register(Impostor)  # type: ignore[arg-type]

    assert excinfo.value.detector is Impostor


def test_register_path_imports_the_class():
    registry = Registry()

    cls = registry.register_path("riskframe.detectors.provenance.artifact_digest:ArtifactDigest")

    assert registry["artifact-digest"] is cls
    assert registry.origin("artifact-digest") == "riskframe.detectors.provenance.artifact_digest:ArtifactDigest"
    assert "riskframe.detectors.provenance.artifact_digest:ArtifactDigest" in BUILTIN_DETECTORS


@pytest.mark.parametrize(("spec", "cause"), [
    ("riskframe.detectors.no_such_module:Thing", "No module named 'riskframe.detectors.no_such_module'"),
    ("riskframe.detectors.provenance.artifact_digest:NoSuchClass",
     "module 'riskframe.detectors.provenance.artifact_digest' has no attribute 'NoSuchClass'"),
])
def test_register_path_that_cannot_load_names_the_spec(spec, cause):
    with pytest.raises(RegistryError, match=f"^{re.escape(f'cannot load detector {spec!r}: {cause}')}$"):
        Registry().register_path(spec)


def test_builtin_registry_holds_the_built_in_detectors():
    registry = builtin_registry()

    assert list(registry) == [
        "activation-analysis", "activation-clustering", "adversarial-prompts", "art-activation-defence",
        "art-spectral-signatures", "artifact-digest", "backdoor-removed", "class-outliers", "data-schema",
        "denylist-content", "drift", "dvc-lock", "evasion-robustness", "garak-report", "label-issues",
        "memorisation-probe", "mlflow-lineage", "model-file-scan", "model-signature", "near-duplicates",
        "pii-secrets", "registry-approval", "slice-forensics", "spectral-signatures", "supplier-attestation",
        "text-backdoor", "trigger-reverse-engineering"]
    assert len(BUILTIN_DETECTORS) == len(registry)


def test_building_the_registry_imports_no_heavy_library():
    # Built-in detector modules import cleanlab, torch, ART... inside run(), not at import.
    code = ("import sys; from riskframe.detectors.registry import builtin_registry; builtin_registry(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'cleanlab', 'torch', 'art', 'matplotlib'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# Entry points, through a real distribution on sys.path ------------------------------------------


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path into which tests write a plugin module and its dist-info."""
    modules_before = set(sys.modules)
    monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates importlib's caches
    yield tmp_path
    for name in set(sys.modules) - modules_before:
        if name.startswith("acme_"):
            del sys.modules[name]


def _install(folder: Path, module: str, source: str, entry_points: dict[str, str]) -> None:
    """Write ``module``.py and a dist-info whose entry_points.txt lists ``entry_points``."""
    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    dist_info = folder / f"{module}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")


_PLUGIN = """
    from riskframe.detectors.base import Detector, DetectorParams
    from riskframe.results import DetectorResult


    class AcmeScan(Detector):
        name = "acme-scan"
        title = "Acme's scan"
        requires = ("files",)
        Params = DetectorParams

        def run(self, ctx, params):
            return DetectorResult(status="pass", score=0.0, summary="Acme found nothing.")
"""


def test_entry_points_are_loaded(plugin_dir):
    _install(plugin_dir, "acme_scan", _PLUGIN, {"acme-scan": "acme_scan:AcmeScan"})
    registry = Registry()

    registry.load_entry_points()

    assert registry["acme-scan"].__module__ == "acme_scan"
    assert registry.origin("acme-scan") == "entry point 'acme-scan' (acme_scan:AcmeScan)"


def test_an_entry_point_that_fails_to_import_is_named(plugin_dir):
    _install(plugin_dir, "acme_broken", "import acme_dependency_that_is_not_installed\n",
             {"acme-broken": "acme_broken:Thing"})

    with pytest.raises(RegistryError) as excinfo:
        Registry().load_entry_points()

    assert str(excinfo.value) == ("cannot load detector entry point 'acme-broken' (acme_broken:Thing): "
                                  "No module named 'acme_dependency_that_is_not_installed'")
    assert isinstance(excinfo.value.__cause__, ModuleNotFoundError)


def test_an_entry_point_whose_class_breaks_the_contract_is_named(plugin_dir):
    source = _PLUGIN.replace('title = "Acme\'s scan"', "")
    _install(plugin_dir, "acme_untitled", source, {"acme-scan": "acme_untitled:AcmeScan"})

    with pytest.raises(RegistryError, match=r"^cannot load detector entry point 'acme-scan' "
                                            r"\(acme_untitled:AcmeScan\): detector acme_untitled\.AcmeScan "
                                            r"must define class variable 'title' \(str\)$"):
        Registry().load_entry_points()


def test_an_entry_point_name_must_match_the_detector_name(plugin_dir):
    _install(plugin_dir, "acme_renamed", _PLUGIN, {"acme-other": "acme_renamed:AcmeScan"})

    with pytest.raises(RegistryError) as excinfo:
        Registry().load_entry_points()

    assert str(excinfo.value) == "entry point 'acme-other' (acme_renamed:AcmeScan) loads a detector named 'acme-scan'"
    assert excinfo.value.detector.__name__ == "AcmeScan"


def test_an_entry_point_may_not_take_a_built_in_name(plugin_dir):
    source = _PLUGIN.replace('"acme-scan"', '"artifact-digest"')
    _install(plugin_dir, "acme_shadow", source, {"artifact-digest": "acme_shadow:AcmeScan"})
    registry = Registry()
    registry.register_path("riskframe.detectors.provenance.artifact_digest:ArtifactDigest")

    with pytest.raises(RegistryError, match=re.escape(
            "detector name 'artifact-digest' from entry point 'artifact-digest' (acme_shadow:AcmeScan) is already "
            "registered by riskframe.detectors.provenance.artifact_digest:ArtifactDigest")):
        registry.load_entry_points()

    assert registry["artifact-digest"].__module__ == "riskframe.detectors.provenance.artifact_digest"


def test_every_built_in_detector_declares_importable_heavy_modules():
    # The engine imports these where runs start from, before they run (module:function also calls function).
    registry = builtin_registry()
    declared = {m for name in registry for m in registry[name].imports}
    assert {"sklearn.base", "cleanlab.rank", "torch", "riskframe.detectors.figures:warm_up"} <= declared
    for entry in sorted(declared):
        module, _, function = entry.partition(":")
        assert importlib.util.find_spec(module) is not None, entry
        assert not function or callable(getattr(importlib.import_module(module), function)), entry
