"""``riskframe controls list|show ID|doc``: the controls a policy can name, and their parameters.

``list`` names every control (bundled and ``--controls DIR``) with its detector; ``show ID`` gives one
control and each parameter of its detector (type, default, allowed values, what it does, and what
the control itself sets); ``doc`` prints the Markdown reference that docs/controls.md holds.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "controls", help="list the controls, show one with its detector's parameters, or print docs/controls.md",
        description="The controls a policy requirement can name, and each detector parameter's default and range.")
    parser.add_argument("--controls", dest="controls_dirs", action="append", default=[], metavar="DIR",
                        help="a folder of extra control documents, besides the bundled ones (repeatable)")
    commands = parser.add_subparsers(dest="controls_command", metavar="COMMAND", required=True)
    commands.add_parser("list", help="every control with its detector and title").set_defaults(handler=_list)
    show = commands.add_parser("show", help="one control and its detector's parameters")
    show.add_argument("control", metavar="ID", help="a control id, e.g. label-flip-screen")
    show.set_defaults(handler=_show)
    commands.add_parser("doc", help="the Markdown reference of the bundled controls (docs/controls.md)").set_defaults(
        handler=_doc)


def _loaded(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    from riskframe.detectors.registry import default_registry
    from riskframe.spec.resolved import load_all_controls

    return load_all_controls(args.controls_dirs), default_registry()


def _list(args: argparse.Namespace) -> int:
    controls, _ = _loaded(args)
    width = max((len(c) for c in controls), default=0)
    echo([f"{c.id:<{width}}  {c.detector:<28} {c.title}" for c in sorted(controls.values(), key=lambda c: c.id)])
    return 0


def _show(args: argparse.Namespace) -> int:
    import difflib

    from riskframe.errors import UsageError
    from riskframe.reports.controls_reference import control_lines

    controls, registry = _loaded(args)
    control = controls.get(args.control)
    if control is None:
        near = difflib.get_close_matches(args.control, list(controls), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else "; riskframe controls list names them"
        raise UsageError(f"controls show: unknown control {args.control!r}{hint}")
    echo(control_lines(control, registry.get(control.detector)))
    return 0


def _doc(args: argparse.Namespace) -> int:
    from riskframe.detectors.registry import builtin_registry
    from riskframe.reports.controls_reference import reference_markdown
    from riskframe.spec.resolved import load_all_controls

    # The built-in detectors only: the reference is the same whatever plugins are installed here.
    sys.stdout.write(reference_markdown(load_all_controls(args.controls_dirs), builtin_registry()))
    return 0
