"""``riskframe mlflow tag models:/NAME/VERSION ASSESSMENT.json``: record an assessment on a model version.

The promotion gate's write side: the gate decision, risk level, the assessment file's sha256 and
what it examined (the version, the model file's and the training data's sha256) become tags of the
model version (see :mod:`riskframe.detectors.provenance.approval`), which the ``registry-approval``
control reads at deployment. Only an exact version is tagged, and only one the assessment examined
with ``mlflow-lineage``.

Exit 0 when the tags are written and the assessment passed its gate, 1 when they are written and
it failed (so ``riskframe mlflow tag ... && promote`` promotes only what passed), 2 when nothing is
written (bad usage, an assessment that does not examine the version, an unreachable registry).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from riskframe.errors import UsageError
from riskframe.io.terminal import echo

_EXACT = r"^models:/(?P<name>[^/@\s]+)/(?P<version>[1-9][0-9]*)$"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mlflow", help="MLflow Model Registry: record an assessment on a model version (the promotion gate)",
        description="Commands for the MLflow Model Registry (the mlflow extra).")
    commands = parser.add_subparsers(dest="mlflow_command", metavar="COMMAND", required=True)
    tag = commands.add_parser(
        "tag", help="write an assessment's gate decision, risk level and digest as tags of a model version",
        description="Write riskframe.gate, riskframe.risk_level, riskframe.assessment_sha256 and what the "
                    "assessment examined (the version, the model file's and the training data's sha256) as tags "
                    "of the model version; the registry-approval control checks them before deployment. Exit 0 "
                    "when written and the gate passed, 1 when written and it failed, 2 when nothing was written.")
    tag.add_argument("model", metavar="models:/NAME/VERSION", help="the exact model version to tag")
    tag.add_argument("assessment", metavar="ASSESSMENT.json", help="an assessment.json written by riskframe assess")
    tag.add_argument("--tracking-uri", metavar="URI",
                     help="the tracking server (default: $MLFLOW_TRACKING_URI, else the one the assessment read)")
    tag.add_argument("--registry-uri", metavar="URI",
                     help="the Model Registry, when not the tracking server (default: $MLFLOW_REGISTRY_URI)")
    tag.set_defaults(handler=run_tag)


def run_tag(args: argparse.Namespace) -> int:
    import re

    from riskframe.detectors.provenance.approval import NotAssessedError, approval_tags
    from riskframe.detectors.provenance.model_registry import ModelRegistry
    from riskframe.io.digests import sha256_file
    from riskframe.reports.json_report import load_assessment

    match = re.match(_EXACT, args.model)
    if match is None:
        raise UsageError(f"riskframe mlflow tag: {args.model!r} is not an exact model version; write "
                         "models:/NAME/VERSION (an alias moves, an approval must not)")
    assessment = load_assessment(args.assessment)
    digest = sha256_file(Path(args.assessment))  # after the load, which refuses what is not a regular file
    try:
        tags = approval_tags(assessment, digest, match["name"], match["version"])
    except NotAssessedError as exc:
        raise UsageError(f"riskframe mlflow tag: {args.assessment}: {exc}") from None
    tracking = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or _recorded_uri(assessment, args.model)
    registry = ModelRegistry(tracking, args.registry_uri or os.environ.get("MLFLOW_REGISTRY_URI") or None)
    registry.set_tags(match["name"], match["version"], tags)
    echo([f"Tagged {args.model} in {registry.shown}:", *(f"  {key} = {value}" for key, value in tags.items())])
    return 0 if assessment.gate.decision == "pass" else 1


def _recorded_uri(assessment: Any, model: str) -> str:
    """The tracking URI the assessment read the version from, unless credentials were removed from it."""
    recorded = next((e.registry.tracking_uri for e in assessment.lineage
                     if e.registry is not None and e.registry.model_uri == model), None)
    if recorded is None or "***@" in recorded:
        raise UsageError("riskframe mlflow tag: give --tracking-uri or set MLFLOW_TRACKING_URI (the assessment "
                         "does not record a usable one)")
    return str(recorded)
