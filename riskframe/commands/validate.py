"""``riskframe validate FILE...``: check documents without running anything.

Each file is checked on its own and every problem of every file is printed, so one run of
``validate`` (e.g. in a pre-commit hook) shows everything to fix. Controls named on the command
line count as defined when the policies among the files are checked, and waiver files are checked
against the policies among the files. A policy is checked as resolved (its ``extends:`` merged in).
A waiver that has already expired is an error unless ``--allow-expired``. A policy test
(``kind: PolicyTest``) is checked as ``riskframe test`` loads it: the policies, pipelines and
waiver files it names exist and load, and every requirement and stage it expects a status of exists.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from riskframe.errors import DocumentError, Problem
from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate", help="check policies, controls, pipelines, waivers and policy tests without running anything",
        description="Check documents (told apart by their kind:) against their schema, the ATLAS and "
                    "NIST catalogs, the detector registry and the controls. Exit 0 when all are valid, 2 otherwise.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="policy, control, pipeline, waiver (kind: Waivers) or policy test (kind: PolicyTest) "
                             "documents, or folders of them (every .yaml and .yml file under the folder)")
    parser.add_argument("--controls", dest="controls_dirs", action="append", default=[], metavar="DIR",
                        help="a folder of extra control documents (repeatable)")
    parser.add_argument("--no-data", action="store_true",
                        help="check a pipeline's documents and paths only, not its data files (where the data is "
                             "not checked out, e.g. a pre-commit hook); by default every artifact is opened as "
                             "assess opens it: a missing file, an unknown format or a misspelt column is an error")
    parser.add_argument("--allow-expired", action="store_true",
                        help="accept waivers that have already expired (assess reports them as not applied)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    files = expand(args.files)
    problems, lines = validate_files(files, args.controls_dirs, allow_expired=args.allow_expired,
                                     data=not args.no_data)
    echo([str(problem) for problem in problems], sys.stderr)
    echo(lines)
    return 2 if problems else 0


def expand(paths: list[str]) -> list[str]:
    """Files as given, and each folder as the YAML files under it (sorted, in its subfolders too).

    Raises
    ------
    UsageError
        A folder that holds no ``.yaml`` or ``.yml`` file.
    """
    from pathlib import Path

    from riskframe.errors import UsageError

    out: list[str] = []
    for given in paths:
        folder = Path(given)
        if not folder.is_dir():
            out.append(given)
            continue
        found = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        if not found:
            raise UsageError(f"{given}: a folder with no .yaml or .yml file to validate")
        out += [p.as_posix() for p in found]
    return out


def validate_files(files: list[str], controls_dirs: list[str], *, today: date | None = None,
                   allow_expired: bool = False, data: bool = True) -> tuple[list[Problem], list[str]]:
    """Every problem in ``files`` and an ``ok:`` line per valid file (waiver dates judged on ``today``)."""
    from riskframe.catalog import load_catalog
    from riskframe.data.roots import path_problems
    from riskframe.detectors.registry import default_registry
    from riskframe.engine.policy_tests import PolicyTest
    from riskframe.spec import Control, Pipeline, Policy
    from riskframe.spec.bound_waivers import date_problems, policy_waivers
    from riskframe.spec.check import check_control, check_pipeline, check_policy
    from riskframe.spec.graph import build_stage_graph
    from riskframe.spec.resolved import load_all_controls
    from riskframe.spec.waivers import WaiverSet

    catalog, registry = load_catalog(), default_registry()
    documents: list[Any] = []
    problems: list[Problem] = []
    for path in files:
        try:
            documents.append(_load(path))
        except DocumentError as exc:
            problems += exc.problems
    controls = load_all_controls(controls_dirs)
    controls.update({d.id: d for d in documents if isinstance(d, Control)})
    lines = []
    today = today or date.today()
    policies = [d for d in documents if isinstance(d, Policy)]
    for doc in documents:
        if isinstance(doc, WaiverSet):
            found, what = _check_waivers(doc, policies, today, allow_expired)
        elif isinstance(doc, Control):
            found = check_control(doc, catalog, registry)
            what = f"Control {doc.id}, detector {doc.detector}"
        elif isinstance(doc, PolicyTest):
            found, what = [], _policy_test_line(doc)
        elif isinstance(doc, Policy):
            found = check_policy(doc, controls, catalog, registry) + \
                date_problems(policy_waivers(doc), [doc], today, allow_expired)
            what = _policy_line(doc)
        else:
            assert isinstance(doc, Pipeline)
            found = check_pipeline(doc) or _graph_problems(doc, build_stage_graph) or path_problems(doc)
            if not found and data:
                from riskframe.engine.prepare import artifact_problems

                found = artifact_problems(doc)  # what assess would stop on: files, formats, columns
            what = f"Pipeline {doc.metadata.name}, {len(doc.stages)} stages"
        problems += found
        if not found:
            lines.append(f"ok: {doc.source.path} ({what})")
    return problems, lines


def _load(path: str) -> Any:
    """The document in ``path``; a policy test with what it names checked (as ``riskframe test`` does)."""
    from riskframe.engine.policy_tests import is_policy_test, load_policy_test
    from riskframe.spec import load_document

    return load_policy_test(path) if is_policy_test(path) else load_document(path)


def _check_waivers(doc: Any, policies: list[Any], today: date, allow_expired: bool) -> tuple[list[Problem], str]:
    """A waiver file's problems: its references against the policies among the files (if any),
    its dates against ``today``."""
    from riskframe.spec.bound_waivers import date_problems, file_waivers, reference_problems

    bound = file_waivers(doc)
    found = (reference_problems(bound, policies) if policies else []) + date_problems(bound, policies, today,
                                                                                      allow_expired)
    what = f"Waivers, {_count(len(bound), 'waiver')}"
    return found, what + ("" if policies else "; requirements not checked: no policy among the files")


def _policy_line(policy: Any) -> str:
    extends = f", extends {', '.join(policy.extends)}" if policy.extends else ""
    waivers = f", {_count(len(policy.waivers), 'waiver')}" if policy.waivers else ""
    return f"Policy {policy.metadata.name}, {_count(len(policy.requirements), 'requirement')}{extends}{waivers}"


def _policy_test_line(test: Any) -> str:
    return f"PolicyTest {test.metadata.name}, {_count(len(test.cases), 'case')} for {', '.join(test.policies)}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _graph_problems(pipeline: Any, build: Any) -> list[Problem]:
    try:
        build(pipeline)
    except DocumentError as exc:
        return list(exc.problems)
    return []
