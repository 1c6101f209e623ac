"""The documents users write (pipelines, controls, policies), their loader and reference checks."""

from riskframe.spec.control import Control
from riskframe.spec.load import load_control, load_controls, load_document, load_pipeline, load_policy
from riskframe.spec.pipeline import Artifact, Pipeline, Stage
from riskframe.spec.policy import Policy, Requirement

__all__ = [
    "Artifact",
    "Control",
    "Pipeline",
    "Policy",
    "Requirement",
    "Stage",
    "load_control",
    "load_controls",
    "load_document",
    "load_pipeline",
    "load_policy",
]
