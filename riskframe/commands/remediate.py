"""``riskframe remediate ASSESSMENT --out DIR``: quarantine the flagged samples and write the rest.

Reads an ``assessment.json``, collects the samples that the trusted sample-level results flagged,
checks every flagged dataset against the sha256 the assessment recorded (a changed file is an
error: the flags no longer apply), and writes into DIR: each dataset without its flagged samples
(``<artifact>.npz``), ``quarantine.csv`` and ``quarantine.json`` (index, detector, control,
result, score, reason) and ``pipeline.yaml``, the pipeline pointing at the filtered data, ready
for ``riskframe assess``. Exit 0 when written, 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "remediate", help="write the training data without the samples an assessment flagged, with a quarantine "
                          "manifest and a pipeline for the filtered data",
        description="Quarantine the samples that sample-level results of an assessment flagged: write each "
                    "dataset without them, a manifest of what was removed and why, and a copy of the pipeline "
                    "pointing at the filtered data. Exit 0 when written, 2 on bad input.")
    parser.add_argument("assessment", metavar="ASSESSMENT_JSON", help="an assessment.json written by riskframe assess")
    parser.add_argument("--out", "-o", required=True, metavar="DIR", help="folder to write into")
    parser.add_argument("--control", dest="controls", action="append", default=[], metavar="ID",
                        help="trust only this control's results (repeatable; default: every control)")
    parser.add_argument("--result", dest="results", action="append", default=[], metavar="RESULT_ID",
                        help="trust exactly this result, whatever its status (repeatable)")
    parser.add_argument("--min-score", type=_score, default=0.0, metavar="S",
                        help="quarantine only samples flagged with a score of at least S, in [0, 1] (default 0)")
    parser.add_argument("--include-passing", action="store_true",
                        help="also act on the flags of passing results (default: failing and warning ones only)")
    parser.add_argument("--pipeline", metavar="FILE",
                        help="where the assessed pipeline file is (default: the path the assessment recorded)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.io.terminal import echo
    from riskframe.remediation.flags import Selection, describe
    from riskframe.remediation.remediate import remediate

    selection = Selection(tuple(args.controls), tuple(args.results), args.min_score, args.include_passing)
    done = remediate(args.assessment, args.out, selection, pipeline_path=args.pipeline)
    flags = done.collected.flags
    lines = [f"No flagged samples in the trusted results ({len(done.collected.used)} sample-level results read); "
             "nothing quarantined." if not flags else f"Quarantined {describe(flags)}."]
    lines += [f"  {filtered.source.artifact.name}: {filtered.rows} rows -> {filtered.kept} kept, "
              f"{filtered.removed.size} removed ({filtered.output.as_posix()})" for filtered in done.filtered]
    if done.collected.below_min_score:
        lines.append(f"  {done.collected.below_min_score} flags below --min-score {args.min_score:g} were left in.")
    lines.append("Wrote: " + ", ".join(p.as_posix() for p in done.written))
    if done.pipeline is not None:
        lines.append(f"Next: riskframe assess {done.pipeline.as_posix()} --policy ...")
    echo(lines)
    return 0


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1]. Got {text!r} instead.") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1]. Got {value:g} instead.")
    return value
