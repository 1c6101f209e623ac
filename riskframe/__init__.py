"""riskframe: ATLAS-aligned policy-as-code risk assessment for machine-learning pipelines.

>>> import riskframe
>>> assessment = riskframe.assess("examples/poisoned-digits/pipeline.yaml",
...                               ["policies/data-poisoning.yaml"])  # doctest: +SKIP
>>> assessment.gate.decision  # doctest: +SKIP
'fail'

The public names are imported on first use (PEP 562), so ``import riskframe`` and the command
line's ``--help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Assessment": "riskframe.assessment",
    "Catalog": "riskframe.catalog.store",
    "Control": "riskframe.spec.control",
    "Detector": "riskframe.detectors.base",
    "DetectorParams": "riskframe.detectors.base",
    "DetectorResult": "riskframe.results",
    "DocumentError": "riskframe.errors",
    "Pipeline": "riskframe.spec.pipeline",
    "Policy": "riskframe.spec.policy",
    "Registry": "riskframe.detectors.registry",
    "RiskModel": "riskframe.scoring",
    "RiskframeError": "riskframe.errors",
    "assess": "riskframe.engine.assess",
    "default_registry": "riskframe.detectors.registry",
    "load_catalog": "riskframe.catalog.store",
    "load_control": "riskframe.spec.load",
    "load_pipeline": "riskframe.spec.load",
    "load_policy": "riskframe.spec.load",
    "render": "riskframe.reports",
    "resolve_policy": "riskframe.spec.load",
}

__all__ = [
    "Assessment",
    "Catalog",
    "Control",
    "Detector",
    "DetectorParams",
    "DetectorResult",
    "DocumentError",
    "Pipeline",
    "Policy",
    "Registry",
    "RiskModel",
    "RiskframeError",
    "__version__",
    "assess",
    "default_registry",
    "load_catalog",
    "load_control",
    "load_pipeline",
    "load_policy",
    "render",
    "resolve_policy",
]

if TYPE_CHECKING:
    from riskframe.assessment import Assessment
    from riskframe.catalog.store import Catalog, load_catalog
    from riskframe.detectors.base import Detector, DetectorParams
    from riskframe.detectors.registry import Registry, default_registry
    from riskframe.engine.assess import assess
    from riskframe.errors import DocumentError, RiskframeError
    from riskframe.reports import render
    from riskframe.results import DetectorResult
    from riskframe.scoring import RiskModel
    from riskframe.spec.control import Control
    from riskframe.spec.load import load_control, load_pipeline, load_policy, resolve_policy
    from riskframe.spec.pipeline import Pipeline
    from riskframe.spec.policy import Policy


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'riskframe' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
