"""The detector contract suite (:mod:`.checks`) and the tiny real stage it runs detectors on
(:mod:`.tiny`); see :mod:`riskframe.testing.checks` for how to use it."""

from riskframe.testing.checks import (
    CHECKS,
    Check,
    ContractCase,
    ContractSkipWarning,
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
)
from riskframe.testing.tiny import tiny_context, tiny_stage

__all__ = [
    "CHECKS", "Check", "ContractCase", "ContractSkipWarning", "check_class_contract", "check_detector",
    "check_params_defaults", "check_params_schema", "check_run_deterministic", "check_run_fails_closed",
    "check_run_result", "check_technique_ids", "check_techniques_in_catalog", "contract_params",
    "detector_contract_cases", "parametrize_detector_checks", "tiny_context", "tiny_stage",
]
