"""``riskframe assess-all DIR|MANIFEST --policy P ... --out DIR``: every pipeline of an
organisation, one assessment each and a portfolio summary."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from riskframe.commands.executor_options import add_arguments as add_executor_arguments
from riskframe.commands.report import format_help
from riskframe.io.terminal import echo
from riskframe.vocabulary import LEVELS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "assess-all", help="assess every pipeline under a folder (or in a manifest) and summarise the portfolio",
        description="Assess each pipeline file (kind: Pipeline) under DIR, or each file a manifest lists (one path "
                    "per line), against the same policies on one executor, computing a detector run that several "
                    "pipelines hold over the same files once. Writes each pipeline's reports into its own folder "
                    "under --out, and portfolio.json and portfolio.md: which systems fail, by ATLAS technique. "
                    "Exit 0 when every gate passed, 1 when any failed, 2 on invalid input (nothing runs).")
    parser.add_argument("where", metavar="DIR|MANIFEST", help="a folder to search, or a manifest file")
    parser.add_argument("--policy", "-p", dest="policies", action="append", required=True, metavar="POLICY",
                        help="a policy document (repeatable)")
    parser.add_argument("--controls", dest="controls_dirs", action="append", default=[], metavar="DIR",
                        help="a folder of extra control documents, besides the bundled ones (repeatable)")
    parser.add_argument("--out", "-o", default="reports/portfolio", metavar="DIR",
                        help="where reports go (default: reports/portfolio): one folder per pipeline, named after "
                             "its file's path, and the portfolio summary")
    parser.add_argument("--format", "-f", default="json,md", metavar="LIST",
                        help=format_help("json,md") + "; applies to each pipeline's reports")
    parser.add_argument("--waivers", dest="waiver_files", action="append", default=[], metavar="FILE",
                        help="a waiver file (kind: Waivers), besides the policies' own waivers (repeatable)")
    parser.add_argument("--fail-on", choices=LEVELS,
                        help="gate level (default: the strictest risk_appetite.fail_on of the policies)")
    parser.add_argument("--seed", type=int, default=0, help="random seed handed to every detector (default 0)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    add_executor_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from riskframe.commands.executor_options import executor_of
    from riskframe.commands.out_folder import held
    from riskframe.commands.progress import ProgressPrinter
    from riskframe.engine.assess_all import assess_all, find_pipelines
    from riskframe.errors import UsageError
    from riskframe.reports import parse_formats, render, unavailable
    from riskframe.reports.base import RenderContext, write_formats
    from riskframe.reports.portfolio import FORMATS, summarize

    formats = parse_formats(args.format)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out}: is a file; reports go into a folder")
    missing = unavailable(formats)
    pipelines = find_pipelines(args.where)
    base = Path(args.where) if Path(args.where).is_dir() else Path(args.where).parent
    folders = report_folders(pipelines, base)
    with held(out):
        with executor_of(args) as executor:  # a LocalCluster closes before the reports are written
            progress = ProgressPrinter(sys.stderr, enabled=not args.quiet)
            portfolio = assess_all(pipelines, args.policies, controls_dirs=args.controls_dirs, fail_on=args.fail_on,
                                   jobs=args.jobs, seed=args.seed, executor=executor, progress=progress,
                                   waivers=args.waiver_files)
            progress.close()
        rendered = [name for name in formats if name not in missing]
        for folder, assessed in zip(folders, portfolio.assessed, strict=True):
            if rendered:
                render(assessed.assessment, out / folder, rendered)
        created_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        summary = summarize([(p.as_posix(), f, a.assessment) for p, f, a in
                             zip(pipelines, folders, portfolio.assessed, strict=True)],
                            planned_runs=portfolio.planned_runs, computed_runs=portfolio.computed_runs,
                            created_at=created_at)
        write_formats(summary, list(FORMATS.values()), RenderContext(out))
    echo(summary_lines(summary, out))
    problems = [f"--format {name}: {error}" for name, error in missing.items()]
    echo([f"riskframe: error: {problem}" for problem in problems], sys.stderr)
    return 2 if problems else 0 if summary.decision == "pass" else 1


def report_folders(pipelines: list[Path], base: Path) -> list[str]:
    """The folder of each pipeline's reports under --out: its file's path from ``base`` without the
    suffix (``team-a/pipeline``), or with it where two would share a folder (``a/p.yaml``, ``a/p.yml``);
    a path that climbs out of ``base`` has its ``..`` spelled ``up``."""
    relative = [Path(os.path.relpath(pipeline, base)) for pipeline in pipelines]
    stems = [path.with_suffix("") for path in relative]
    chosen = [path if stems.count(stem) > 1 else stem for path, stem in zip(relative, stems, strict=True)]
    return ["/".join("up" if part == ".." else part for part in path.parts) for path in chosen]


def summary_lines(summary: Any, out: Path) -> list[str]:
    """What a person reads in the terminal: the decision, the failing systems, where to look."""
    from riskframe.reports.portfolio import JSON_FILE, MARKDOWN_FILE

    failed = [s for s in summary.systems if s.decision == "fail"]
    lines = [f"Portfolio: {summary.decision.upper()} ({len(failed)} of {len(summary.systems)} systems fail their "
             f"gate; {summary.planned_runs} detector runs planned, {summary.computed_runs} computed)"]
    lines += [f"  - {s.report} ({s.name}): FAIL, risk {s.risk_score:g}/100 ({s.level})" for s in failed[:20]]
    if len(failed) > 20:
        lines.append(f"  ... and {len(failed) - 20} more (see {MARKDOWN_FILE})")
    lines.append(f"Reports: {(out / JSON_FILE).as_posix()}, {(out / MARKDOWN_FILE).as_posix()}, and one folder "
                 "per pipeline")
    return lines
