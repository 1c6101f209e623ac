"""The ``riskframe`` command line.

Exit codes: 0 the gate passed (or the command succeeded); 1 the gate failed; 2 invalid input or
usage, printed as ``file:line:col: field: message`` without a traceback.

Command modules import their heavy dependencies inside their handlers, so ``riskframe --help``
stays fast (it imports neither scikit-learn, cleanlab nor matplotlib).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from riskframe import __version__
from riskframe.errors import InputError, RiskframeError
from riskframe.io.terminal import echo

# Each module has register(subparsers) and imports what its handler needs inside the handler.
_COMMANDS = (
    "riskframe.commands.validate",
    "riskframe.commands.assess",
    "riskframe.commands.assess_all",
    "riskframe.commands.report",
    "riskframe.commands.threat_model",
    "riskframe.commands.diff",
    "riskframe.commands.history",
    "riskframe.commands.profile",
    "riskframe.commands.remediate",
    "riskframe.commands.scan_models",
    "riskframe.commands.policy",
    "riskframe.commands.controls",
    "riskframe.commands.waivers",
    "riskframe.commands.policy_test",
    "riskframe.commands.keygen",
    "riskframe.commands.verify",
    "riskframe.commands.mlflow",
    "riskframe.catalog.commands",
    "riskframe.commands.schema",
    "riskframe.commands.garak",  # issue 15: garak against an endpoint
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskframe",
        description="ATLAS-aligned policy-as-code risk assessment for machine-learning pipelines.",
        epilog="Exit codes: 0 gate passed, 1 gate failed, 2 invalid input or usage.",
    )
    parser.add_argument("--version", action="version", version=f"riskframe {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if not args.command else 2
    try:
        return int(handler(args))
    except InputError as exc:  # one line per problem: text from a file never starts a line of its own
        echo(exc.lines(), sys.stderr)
        return 2
    except RiskframeError as exc:
        first, *rest = exc.lines()
        echo([f"riskframe: error: {first}", *rest], sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("riskframe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `riskframe catalog list | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # an unwritable --out, a full disk: the user's to fix, not a crash
        echo(f"riskframe: error: {exc.strerror or exc}: {exc.filename}" if exc.filename else
             f"riskframe: error: {exc}", sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
