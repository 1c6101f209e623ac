"""riskframe: ATLAS-aligned policy-as-code risk assessment for machine-learning pipelines."""

__version__ = "0.1.0"
