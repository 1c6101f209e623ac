"""``riskframe garak ENDPOINT --probes SPEC --out FILE``: run garak against an endpoint file and keep
its report, for the ``garak-report`` control (needs the garak extra)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "garak", help="run garak's probes against an endpoint file and write its report",
        description="Run garak (the garak extra) against the model an endpoint file (kind: Endpoint) reaches: "
                    "its OpenAI-compatible URL and key from the environment, or a python endpoint served on "
                    "127.0.0.1 for the run. The report is what the garak-report control reads.")
    parser.add_argument("endpoint", metavar="ENDPOINT", help="an endpoint file (kind: Endpoint)")
    parser.add_argument("--probes", required=True, help="garak's probe spec, e.g. dan,promptinject,leakreplay")
    parser.add_argument("--out", "-o", required=True, metavar="FILE", help="where the report goes (.report.jsonl)")
    parser.add_argument("--prompt-cap", type=int, default=10, help="prompts per probe at most (default 10)")
    parser.add_argument("--generations", type=int, default=1, help="answers per prompt (default 1)")
    parser.add_argument("--root", metavar="DIR", default=".",
                        help="the folder the endpoint file and its weights must stay in (default: the current one)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.data.roots import DataRoots
    from riskframe.llm.endpoint import load_endpoint
    from riskframe.llm.garak_run import run_garak
    from riskframe.spec.pipeline import Artifact

    root = Path(args.root).resolve()
    relative = os.path.relpath(Path(args.endpoint).resolve(), root)
    endpoint = load_endpoint(Artifact(name="endpoint", type="endpoint", path=relative), DataRoots(root))
    out = run_garak(endpoint, args.probes, Path(args.out), prompt_cap=args.prompt_cap, generations=args.generations)
    echo(f"garak report of {endpoint.label}: {out.as_posix()}")
    return 0
