"""Detectors that probe a language model through its ``endpoint`` (:mod:`riskframe.llm`).

- ``memorisation-probe`` (:mod:`.memorisation`): planted canaries and corpus secrets extracted;
- ``adversarial-prompts`` (:mod:`.adversarial`): trigger, injection and jailbreak prompts judged;
- ``garak-report`` (:mod:`.garak_report`): a garak run's report, each probe mapped to ATLAS.
"""
