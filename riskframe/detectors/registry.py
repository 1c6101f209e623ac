"""Detector registries: instances filled by explicit registration and entry points.

A name registered twice is an error, never a silent overwrite. Tests build a fresh
:class:`Registry`; the CLI and :func:`riskframe.assess` use :func:`default_registry`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import lru_cache
from importlib.metadata import entry_points

from riskframe.detectors.base import DetectorClass, check_detector_class
from riskframe.errors import RegistryError

ENTRY_POINT_GROUP = "riskframe.detectors"

# Built-in detectors, imported only when a registry is built (they import heavy libraries lazily,
# but their modules still cost time riskframe --help should not pay).
BUILTIN_DETECTORS: tuple[str, ...] = (
    "riskframe.detectors.labels.label_issues:LabelIssues",
    "riskframe.detectors.labels.class_outliers:ClassOutliers",
    "riskframe.detectors.provenance.artifact_digest:ArtifactDigest",
    "riskframe.detectors.provenance.dvc_lock:DvcLock",
    "riskframe.detectors.provenance.model_scan:ModelFileScan",
    "riskframe.detectors.backdoor.spectral_signatures:SpectralSignatures",
    "riskframe.detectors.backdoor.activation_clustering:ActivationClustering",
    "riskframe.detectors.backdoor.art_backdoor:ArtSpectralSignatures",
    "riskframe.detectors.backdoor.art_backdoor:ArtActivationDefence",
    "riskframe.detectors.backdoor.trigger_reverse:TriggerReverseEngineering",
    "riskframe.detectors.backdoor.backdoor_removed:BackdoorRemoved",
    "riskframe.detectors.provenance.mlflow_lineage:MlflowLineage",
    "riskframe.detectors.provenance.model_signature:ModelSignatureVerification",
    "riskframe.detectors.provenance.registry_approval:RegistryApproval",
    # Text corpora and language models (issue 15).
    "riskframe.detectors.text.pii_secrets:PiiSecrets",
    "riskframe.detectors.text.near_duplicates:NearDuplicates",
    "riskframe.detectors.text.denylist:DenylistContent",
    "riskframe.detectors.text.backdoor:TextBackdoor",
    "riskframe.detectors.llm.memorisation:MemorisationProbe",
    "riskframe.detectors.llm.adversarial:AdversarialPrompts",
    "riskframe.detectors.llm.garak_report:GarakReport",
    "riskframe.detectors.llm.attestation:SupplierAttestationCheck",
    # Data validation, drift and monitoring; model behaviour (issue 16).
    "riskframe.detectors.drift.schema:DataSchema",
    "riskframe.detectors.drift.drift:Drift",
    "riskframe.detectors.robustness.evasion:EvasionRobustness",
    "riskframe.detectors.robustness.activations:ActivationAnalysis",
    "riskframe.detectors.robustness.slices:SliceForensics",
)


class Registry:
    """Name -> detector class."""

    def __init__(self) -> None:
        self._detectors: dict[str, DetectorClass] = {}
        self._origins: dict[str, str] = {}

    def register(self, cls: DetectorClass, origin: str = "") -> DetectorClass:
        """Add ``cls``; usable as a decorator. Raises :class:`RegistryError` on a taken name."""
        check_detector_class(cls)
        where = origin or f"{cls.__module__}.{cls.__qualname__}"
        if cls.name in self._detectors:
            raise RegistryError(
                f"detector name {cls.name!r} from {where} is already registered by {self._origins[cls.name]}",
                cls,
            )
        self._detectors[cls.name] = cls
        self._origins[cls.name] = where
        return cls

    def get(self, name: str) -> DetectorClass | None:
        return self._detectors.get(name)

    def __getitem__(self, name: str) -> DetectorClass:
        return self._detectors[name]

    def __contains__(self, name: object) -> bool:
        return name in self._detectors

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._detectors))

    def __len__(self) -> int:
        return len(self._detectors)

    def origin(self, name: str) -> str:
        return self._origins[name]

    def register_path(self, spec: str, origin: str = "") -> DetectorClass:
        """Register ``"package.module:Class"``."""
        module_name, _, attr = spec.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise RegistryError(f"cannot load detector {spec!r}{' from ' + origin if origin else ''}: {exc}") from exc
        return self.register(cls, origin or spec)

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        for ep in entry_points(group=group):
            origin = f"entry point {ep.name!r} ({ep.value})"
            try:
                cls = ep.load()
            except Exception as exc:  # a broken plugin names itself, it does not crash riskframe
                raise RegistryError(f"cannot load detector {origin}: {exc}") from exc
            if getattr(cls, "name", None) != ep.name:
                raise RegistryError(f"{origin} loads a detector named {getattr(cls, 'name', None)!r}", cls)
            self.register(cls, origin)


def builtin_registry() -> Registry:
    registry = Registry()
    for spec in BUILTIN_DETECTORS:
        registry.register_path(spec)
    return registry


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """Built-in detectors plus every installed ``riskframe.detectors`` entry point."""
    registry = builtin_registry()
    registry.load_entry_points()
    return registry
