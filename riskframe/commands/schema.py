"""``riskframe schema KIND``: the JSON Schema of the assessment or of a document kind (pipeline,
policy, control, waivers, policytest), for editors and for checking documents in other tools."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

_KINDS = ("assessment", "pipeline", "policy", "control", "waivers", "policytest")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("schema", help="print the JSON Schema of the assessment or of a document kind",
                                   description="Print a JSON Schema (draft 2020-12) to stdout.")
    parser.add_argument("kind", choices=_KINDS, help="which schema")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(schema_of(args.kind), indent=2, sort_keys=True))
    return 0


def schema_of(kind: str) -> dict[str, Any]:
    if kind == "assessment":
        from riskframe.reports.json_report import assessment_json_schema

        return assessment_json_schema()
    if kind == "policytest":
        from riskframe.engine.policy_tests import PolicyTest

        model: type[BaseModel] = PolicyTest
    else:
        from riskframe.spec.load import KINDS

        model = KINDS[kind.capitalize()]
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return _as_written(schema) if kind == "policy" else schema


def _as_written(schema: dict[str, Any]) -> dict[str, Any]:
    """The policy schema for files as people write them, not for the effective policy.

    A policy that ``extends:`` another may override an inherited requirement by writing only its
    ``id`` and the fields it changes, or write no requirements at all; without ``extends:`` every
    requirement is complete. (A new id under ``extends:`` must be complete too, which a schema
    cannot tell from an override: ``riskframe validate`` does.)
    """
    requirement = schema["$defs"]["Requirement"]
    complete = requirement["required"]
    requirement["required"] = ["id"]
    requirement["description"] = ("A requirement. Under `extends:`, an inherited one is overridden by its id and the "
                                  f"fields that change; any other needs {', '.join(complete)}.")
    schema["required"] = [key for key in schema["required"] if key != "requirements"]
    schema["if"] = {"not": {"required": ["extends"]}}
    schema["then"] = {"required": ["requirements"],
                      "properties": {"requirements": {"items": {"required": complete}}}}
    return schema
