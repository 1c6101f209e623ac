"""``riskframe diff OLD.json NEW.json [--fail-on-regression] [--format text|json|md]``.

Exit 0, or 1 when ``--fail-on-regression`` is given and the newer assessment is worse (a new
failing result, a failing result whose evidence changed, a gate that passed and now fails, or a
higher risk score); 2 for unreadable input, or for assessments of two different pipelines (their
result ids would match by accident) unless ``--allow-different-pipelines``.
"""

from __future__ import annotations

import argparse
from typing import Any

from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff", help="compare two assessments: new and fixed failures, risk changes, expired waivers",
        description="Compare two assessment.json files: new and fixed failures, the risk change per stage and per "
                    "ATLAS technique, and waivers that expired in between.")
    parser.add_argument("old", metavar="OLD.json", help="the earlier assessment.json")
    parser.add_argument("new", metavar="NEW.json", help="the later assessment.json")
    parser.add_argument("--format", "-f", choices=("text", "json", "md"), default="text", help="output (default text)")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit 1 when the new assessment is worse than the old one")
    parser.add_argument("--allow-different-pipelines", action="store_true",
                        help="compare assessments of two different pipelines (refused by default)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.compare.diff import diff_assessments
    from riskframe.errors import UsageError
    from riskframe.reports.base import rendered_text
    from riskframe.reports.diff_text import FORMATS
    from riskframe.reports.json_report import load_assessment

    old, new = load_assessment(args.old), load_assessment(args.new)
    if old.pipeline.name != new.pipeline.name and not args.allow_different_pipelines:
        raise UsageError(
            f"diff: {args.old} assesses pipeline {old.pipeline.name!r} and {args.new} pipeline "
            f"{new.pipeline.name!r}; their result ids would match by accident. Compare two assessments of "
            "the same pipeline, or pass --allow-different-pipelines")
    diff = diff_assessments(old, new, args.old, args.new)
    echo(rendered_text(diff, FORMATS[args.format]).splitlines())
    return 1 if args.fail_on_regression and diff.regression else 0
