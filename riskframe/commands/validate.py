"""``riskframe validate FILE...``: check documents without running anything.

Each file is checked on its own and every problem of every file is printed, so one run of
``validate`` (e.g. in a pre-commit hook) shows everything to fix. Controls named on the command
line count as defined when the policies among the files are checked.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskframe.errors import DocumentError, Problem


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate", help="check policies, controls and pipelines against schema, catalogs and detectors",
        description="Check documents (told apart by their kind:) against their schema, the ATLAS and "
                    "NIST catalogs, the detector registry and the controls. Exit 0 when all are valid, 2 otherwise.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="policy, control or pipeline documents")
    parser.add_argument("--controls", dest="controls_dirs", action="append", default=[], metavar="DIR",
                        help="a folder of extra control documents (repeatable)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    problems, lines = validate_files(args.files, args.controls_dirs)
    for problem in problems:
        print(problem, file=sys.stderr)
    for line in lines:
        print(line)
    return 2 if problems else 0


def validate_files(files: list[str], controls_dirs: list[str]) -> tuple[list[Problem], list[str]]:
    """Every problem in ``files`` and an ``ok:`` line per valid file."""
    from riskframe.catalog import load_catalog
    from riskframe.detectors.registry import default_registry
    from riskframe.engine.graph import build_stage_graph
    from riskframe.engine.inputs import load_all_controls
    from riskframe.spec import Control, Pipeline, Policy, load_document
    from riskframe.spec.resolve import check_control, check_pipeline, check_policy

    catalog, registry = load_catalog(), default_registry()
    documents, problems = [], []
    for path in files:
        try:
            documents.append(load_document(path))
        except DocumentError as exc:
            problems += exc.problems
    controls = load_all_controls(controls_dirs)
    controls.update({d.id: d for d in documents if isinstance(d, Control)})
    lines = []
    for doc in documents:
        if isinstance(doc, Control):
            found = check_control(doc, catalog, registry)
            what = f"Control {doc.id}, detector {doc.detector}"
        elif isinstance(doc, Policy):
            found = check_policy(doc, controls, catalog, registry)
            what = f"Policy {doc.metadata.name}, {len(doc.requirements)} requirements"
        else:
            assert isinstance(doc, Pipeline)
            found = check_pipeline(doc) or _graph_problems(doc, build_stage_graph)
            what = f"Pipeline {doc.metadata.name}, {len(doc.stages)} stages"
        problems += found
        if not found:
            lines.append(f"ok: {doc.source.path} ({what})")
    return problems, lines


def _graph_problems(pipeline: Any, build: Any) -> list[Problem]:
    try:
        build(pipeline)
    except DocumentError as exc:
        return list(exc.problems)
    return []
