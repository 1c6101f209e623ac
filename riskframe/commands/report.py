"""``riskframe report ASSESSMENT.json --format LIST``: re-render an earlier assessment.

No detector runs: every format is rendered from ``assessment.json`` alone, so a CI job can
publish SARIF or JUnit from an assessment made elsewhere, or a reviewer can get the HTML report
of last week's run. With ``--baseline OLD.json`` the reports list only the failures that are new
since the older assessment (see :mod:`riskframe.compare.baseline`). Exit 0 when the reports are
written, 2 when the assessment, the baseline or the command line is unusable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from riskframe.io.terminal import echo
from riskframe.tracking.mlflow_log import add_arguments as add_mlflow_arguments

DEFAULT_FORMATS = "md,html"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="re-render an earlier assessment.json in other formats (no detector runs)",
        description="Render the reports of an assessment.json written by 'riskframe assess', without running "
        "any detector (exit 0 reports written, 2 invalid input).",
    )
    parser.add_argument("assessment", metavar="ASSESSMENT.json", help="an assessment.json from 'riskframe assess'")
    parser.add_argument(
        "--format",
        "-f",
        default=DEFAULT_FORMATS,
        metavar="LIST",
        help=format_help(DEFAULT_FORMATS),
    )
    parser.add_argument("--out", "-o", metavar="DIR", help="where reports go (default: the folder of ASSESSMENT.json)")
    parser.add_argument(
        "--baseline",
        metavar="OLD_ASSESSMENT.json",
        help="report only failures that are new since this earlier assessment; the gate counts only those",
    )
    add_mlflow_arguments(parser)
    parser.set_defaults(handler=run)


# The built-in report formats, named here so that building the command line imports no renderer
# (riskframe.reports costs 150 ms of pydantic models on every start); tests/commands/test_report.py
# checks this list against riskframe.reports.FORMATS.
FORMAT_NAMES = ("cyclonedx", "html", "json", "junit", "md", "navigator", "oscal", "sarif")


def format_help(default: str) -> str:
    """The ``--format`` help: every built-in format."""
    return f"comma-separated report formats: {', '.join(FORMAT_NAMES)} (default: {default})"


def run(args: argparse.Namespace) -> int:
    from riskframe.compare.baseline import load_baseline, rebase, render_reports
    from riskframe.reports import parse_formats, unavailable
    from riskframe.reports.json_report import load_assessment
    from riskframe.tracking.mlflow_log import log_for_command

    formats = parse_formats(args.format)
    missing = unavailable(formats)  # a missing extra costs only its own report, reported at the end
    assessment = load_assessment(args.assessment)
    baseline = load_baseline(args.baseline) if args.baseline else None
    assessment, comparison = rebase(assessment, baseline)
    out = Path(args.out) if args.out else Path(args.assessment).parent
    rendered = [name for name in formats if name not in missing]
    written = render_reports(assessment, out, rendered, comparison) if rendered else []
    gate = assessment.gate
    if comparison is None:
        lines = [f"Gate: {gate.decision.upper()} (fail_on: {gate.fail_on}), as recorded in {args.assessment}"]
    else:
        lines = [f"Gate: {gate.decision.upper()} (fail_on: {gate.fail_on}), counting only failures new since the "
                 "baseline", f"Baseline: {comparison.sentence()}"]
        if comparison.changed:
            lines.append(f"Changed: {comparison.changed_sentence()}")
    lines.append("Reports: " + ", ".join(p.as_posix() for p in written))
    echo(lines)
    problems = [f"--format {name}: {error}" for name, error in missing.items()]
    logged = written if "json" in rendered else [*written, Path(args.assessment)]  # MLflow gets the assessment too
    problems += log_for_command(args, assessment, logged, "report")
    echo([f"riskframe: error: {problem}" for problem in problems], sys.stderr)
    return 2 if problems else 0
