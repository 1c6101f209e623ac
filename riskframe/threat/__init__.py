"""Design-time threat models: the ATLAS techniques that apply to each stage of a pipeline, attack
paths from untrusted entries to deployments, coverage gaps and ATLAS case-study coverage.

No detector runs and no data is read, so a threat model can be drawn before any data exists.

>>> from riskframe.threat import build_threat_model
>>> model = build_threat_model("examples/poisoned-digits/pipeline.yaml",
...                            ["policies/data-poisoning.yaml"])  # doctest: +SKIP
>>> model.summary.gaps  # doctest: +SKIP
51
"""

from riskframe.threat.build import build_threat_model
from riskframe.threat.model import ThreatModel

__all__ = ["ThreatModel", "build_threat_model"]
