"""``riskframe assess PIPELINE --policy P ... --out DIR``: the main job."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from riskframe.commands.executor_options import add_arguments as add_executor_arguments
from riskframe.commands.progress import ProgressPrinter
from riskframe.commands.report import format_help
from riskframe.io.terminal import echo
from riskframe.tracking.mlflow_log import add_arguments as add_mlflow_arguments
from riskframe.vocabulary import LEVELS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "assess", help="assess a pipeline against policies and write reports (the main job)",
        description="Run the controls the policies map to each stage of the pipeline, score the risk, "
                    "write the reports and decide the gate (exit 0 passed, 1 failed, 2 invalid input).")
    parser.add_argument("pipeline", metavar="PIPELINE", help="the pipeline document (kind: Pipeline)")
    parser.add_argument("--policy", "-p", dest="policies", action="append", required=True, metavar="POLICY",
                        help="a policy document (repeatable)")
    parser.add_argument("--controls", dest="controls_dirs", action="append", default=[], metavar="DIR",
                        help="a folder of extra control documents, besides the bundled ones (repeatable)")
    parser.add_argument("--out", "-o", metavar="DIR",
                        help="where reports go (default: reports/<pipeline name>); held for the run: a second run "
                             "into the same folder at the same time stops with exit 2")
    parser.add_argument("--format", "-f", default="json,md,html", metavar="LIST", help=format_help("json,md,html"))
    parser.add_argument("--waivers", dest="waiver_files", action="append", default=[], metavar="FILE",
                        help="a waiver file (kind: Waivers), besides the policies' own waivers (repeatable)")
    parser.add_argument("--fail-on", choices=LEVELS,
                        help="gate level (default: the strictest risk_appetite.fail_on of the policies); a laxer "
                             "level is refused unless every policy sets risk_appetite.cli_override: any")
    parser.add_argument("--seed", type=int, default=0, help="random seed handed to every detector (default 0)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    parser.add_argument("--baseline", metavar="OLD_ASSESSMENT.json",
                        help="report only failures that are new since this earlier assessment; the gate counts "
                             "only those (docs/ci.md)")
    parser.add_argument("--sign", metavar="KEY", help="sign the reports and inputs with this Ed25519 private key "
                        "(riskframe keygen); writes assessment.intoto.jsonl beside the reports")
    add_executor_arguments(parser)
    add_mlflow_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.commands.executor_options import executor_of
    from riskframe.commands.out_folder import held
    from riskframe.compare.baseline import load_baseline, rebase, render_reports
    from riskframe.engine.assess import assess
    from riskframe.reports import parse_formats, unavailable
    from riskframe.spec.load import load_pipeline
    from riskframe.tracking.mlflow_log import log_for_command

    formats = parse_formats(args.format)  # a typo fails before minutes of detectors
    _check_paths(args)  # so does an --out that is a file
    key = _signing_key(args.sign, formats)  # so does an unusable key
    baseline = load_baseline(args.baseline) if args.baseline else None  # and an unreadable baseline
    missing = unavailable(formats)  # a missing extra costs only its own report, reported at the end
    pipeline = load_pipeline(args.pipeline)  # it names the default --out, held before anything runs
    out = Path(args.out) if args.out else Path("reports") / pipeline.metadata.name
    with held(out), executor_of(args) as executor:
        progress = ProgressPrinter(sys.stderr, enabled=not args.quiet)
        assessment = assess(pipeline, args.policies, controls_dirs=args.controls_dirs, fail_on=args.fail_on,
                            jobs=args.jobs, seed=args.seed, executor=executor, progress=progress,
                            waivers=args.waiver_files)
        progress.close()
        assessment, comparison = rebase(assessment, baseline)
        rendered = [name for name in formats if name not in missing]
        written = render_reports(assessment, out, rendered, comparison) if rendered else []
        if key is not None:
            from riskframe.signing import sign_assessment

            written.append(sign_assessment(assessment, out, written, key))
    echo(summary_lines(assessment, written))
    _note_left_over(out, written)
    # Exit 2 when a requested output could not be made (the gate decision is printed above).
    problems = [f"--format {name}: {error}" for name, error in missing.items()]
    problems += log_for_command(args, assessment, written, "assess")
    echo([f"riskframe: error: {problem}" for problem in problems], sys.stderr)
    return 2 if problems else 0 if assessment.gate.decision == "pass" else 1


def summary_lines(assessment: Any, written: list[Path]) -> list[str]:
    """What a person reads in the terminal: the decision, the score, why, and where to look; one
    item per line (reasons quote waiver justifications and titles: see :func:`riskframe.io.terminal.echo`)."""
    from riskframe.io.paths import shown_path
    from riskframe.reports import decision

    gate, summary = assessment.gate, assessment.summary
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in summary.counts.items() if n)
    lines = [
        f"Gate: {gate.decision.upper()} (fail_on: {gate.fail_on}"
        + (f", set by --fail-on; the policies fail at {gate.policy_fail_on})"
           if gate.fail_on_source == "command-line" else ")"),
        f"Risk score: {summary.risk_score:g}/100 ({summary.level})",
        decision.decision_sentence(assessment),
        f"Results: {counts or 'none'}",
    ]
    shown = 0
    for section in decision.sections(assessment):
        lines.append(f"{section.title}:")
        lines += [f"  - {reason}" for reason in section.reasons[:max(0, 10 - shown)]]
        if len(section.reasons) > max(0, 10 - shown):
            lines.append(f"  ... and {len(section.reasons) - max(0, 10 - shown)} more (see the report)")
        shown += len(section.reasons)
    # Which files the gate applied: a bare name such as data-poisoning resolves to a NAME.yaml in
    # the working directory before the bundled policy.
    lines.append("Policies: " + ", ".join(f"{p.name} ({shown_path(p.path)})" for p in assessment.policies))
    lines.append("Reports: " + (", ".join(p.as_posix() for p in written) or "none"))
    return lines


def _note_left_over(out: Path, written: list[Path]) -> None:
    """Name report files of other formats in --out: this run did not replace them."""
    from riskframe.commands.out_folder import left_over
    from riskframe.reports import FORMATS
    from riskframe.signing.statement import ENVELOPE_FILE

    known = [name for renderer in FORMATS.values() for name in renderer.files] + [ENVELOPE_FILE]
    stale = left_over(out, written, known)
    if stale:
        echo([f"riskframe: note: {out.as_posix()} also holds {', '.join(stale)}, which this run did not write "
              "(not in --format): older reports, not of this assessment"], file=sys.stderr)


def _check_paths(args: argparse.Namespace) -> None:
    import importlib.util

    from riskframe.errors import MissingDependencyError, RiskframeError, UsageError

    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: is a file; reports go into a folder")
    if getattr(args, "mlflow_uri", None) and importlib.util.find_spec("mlflow") is None:
        raise RiskframeError(f"--mlflow-uri: {MissingDependencyError('mlflow', 'mlflow')}")


def _signing_key(path: str | None, formats: list[str]) -> Any:
    if path is None:
        return None
    from riskframe.errors import UsageError
    from riskframe.signing import load_private_key

    if "json" not in formats:
        raise UsageError("--sign needs the json format: the signed statement's first subject is assessment.json")
    return load_private_key(path)
