"""``riskframe threat-model PIPELINE [--policy P ...] --format md,html,json,navigator --out DIR``.

Design time: no detector runs and no data is read. Exit 0, or 1 with ``--fail-on LEVEL`` when an
attack path reaches that level; 2 for invalid input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskframe.io.terminal import echo
from riskframe.vocabulary import LEVELS, level_rank


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "threat-model",
        help="the ATLAS techniques, attack paths and coverage gaps of a pipeline, without running anything",
        description="Draw the design-time threat model of a pipeline: the ATLAS techniques that apply to each stage, "
                    "attack paths from untrusted stages to deployments with their tactic progression, the techniques "
                    "no requirement addresses, and ATLAS case-study coverage. No detector runs and no data is read.")
    parser.add_argument("pipeline", metavar="PIPELINE", help="the pipeline document (kind: Pipeline)")
    parser.add_argument("--policy", "-p", dest="policies", action="append", default=[], metavar="POLICY",
                        help="a policy document (repeatable; none: every technique is a gap)")
    parser.add_argument("--controls", dest="controls_dirs", action="append", default=[], metavar="DIR",
                        help="a folder of extra control documents (repeatable)")
    parser.add_argument("--format", "-f", default="json,md,html,navigator", metavar="LIST",
                        help="formats, comma-separated: json, md, html, navigator (default: all four)")
    parser.add_argument("--out", "-o", metavar="DIR", help="where the files go (default: reports/<pipeline name>)")
    parser.add_argument("--max-paths", type=_positive, default=25, metavar="N",
                        help="attack paths detailed, riskiest first (default 25)")
    parser.add_argument("--assume-severity", choices=LEVELS, default="high",
                        help="severity of techniques no requirement addresses (default high)")
    parser.add_argument("--fail-on", choices=LEVELS,
                        help="exit 1 when an attack path's design-time risk reaches this level")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.threat.build import build_threat_model
    from riskframe.threat.report import parse_formats, write_threat_model

    formats = parse_formats(args.format)
    model = build_threat_model(args.pipeline, args.policies, controls_dirs=args.controls_dirs,
                               max_paths=args.max_paths, assumed_severity=args.assume_severity)
    out = Path(args.out) if args.out else Path("reports") / model.pipeline.name
    written = write_threat_model(model, out, formats)
    echo(summary_lines(model, written))
    reached = args.fail_on and model.paths and level_rank(model.summary.level) >= level_rank(args.fail_on)
    return 1 if reached else 0


def summary_lines(model: Any, written: list[Path]) -> list[str]:
    """What the terminal shows, one item per line: the counts, the riskiest paths, the worst gaps,
    the files."""
    from riskframe.reports.view import risk_number
    from riskframe.threat.markdown import no_paths_sentence, path_title

    s = model.summary
    lines = [f"Threat model of {model.pipeline.name}: {s.applicable_techniques} ATLAS techniques apply, "
             f"{s.addressed_techniques} addressed by the policy, {s.gaps} gaps"]
    if model.paths:
        lines.append(f"Attack paths: {s.attack_paths}; the riskiest:")
        lines += [f"  - {path_title(p)}: {' -> '.join(p.tactics)}" for p in model.paths[:3]]
    else:
        lines.append(no_paths_sentence(model))
    if model.gaps:
        worst = ", ".join(f"{g.id} {g.name} ({g.maturity or 'unknown'}, {risk_number(g.max_residual)})"
                          for g in model.gaps[:3])
        lines.append(f"Worst gaps: {worst}")
    lines.append("Files: " + ", ".join(p.as_posix() for p in written))
    return lines


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number. Got {text!r} instead.") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1. Got {value} instead.")
    return value
