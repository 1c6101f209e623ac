"""``riskframe history DIR [--format text|html] [--out FILE]``: the risk score over time, per pipeline,
of every assessment.json under a folder (oldest first, by ``created_at``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history", help="the risk score over time of the assessments in a folder",
        description="Read every assessment.json under DIR (recursively), order them by created_at, and print "
                    "(text) or plot (html) the risk score over time, per pipeline.")
    parser.add_argument("directory", metavar="DIR", help="a folder of assessments (searched recursively)")
    parser.add_argument("--format", "-f", choices=("text", "html"), default="text", help="output (default text)")
    parser.add_argument("--out", "-o", metavar="FILE",
                        help="where the HTML page goes (default: DIR/history.html); text goes to stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.compare.history import collect_history
    from riskframe.io.files import write_atomically
    from riskframe.reports.base import rendered_text
    from riskframe.reports.history_text import FORMATS

    history = collect_history(args.directory)
    page = rendered_text(history, FORMATS[args.format])
    if args.format == "text":
        echo(page.splitlines())
        return 0
    out = Path(args.out) if args.out else Path(args.directory) / "history.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, page.encode("utf-8"))
    echo(f"Risk over time of {', '.join(history.pipelines) or 'no pipeline'} "
         f"({history.count} assessments): {out.as_posix()}")
    return 0
