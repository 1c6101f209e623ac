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
        from riskframe.policytests import PolicyTest

        model: type[BaseModel] = PolicyTest
    else:
        from riskframe.spec.load import KINDS

        model = KINDS[kind.capitalize()]
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
