"""``riskframe test POLICY_TESTS_DIR``: run policy test cases (like ``opa test``).

Each case assesses a pipeline fixture against the test file's policies, with the real detectors,
and compares every requirement's status with the expected one. Exit 0 when every case passes, 1
when one fails, 2 when a test file is invalid or a case cannot run.
"""

from __future__ import annotations

import argparse
from typing import Any

from riskframe.errors import DocumentError
from riskframe.io.terminal import echo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "test", help="run policy tests: pipeline fixtures and the status each requirement must end in",
        description="Run the cases of every kind: PolicyTest document under PATH (a file or a folder, searched "
                    "recursively). Exit 0 all passed, 1 a case failed, 2 invalid test file or a case could not run.")
    parser.add_argument("path", metavar="POLICY_TESTS_DIR", help="a folder of policy test files, or one file")
    parser.add_argument("--run", metavar="REGEX", help="only the cases whose name matches REGEX")
    parser.add_argument("--verbose", "-v", action="store_true", help="show every expectation, not only failed ones")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import re

    from riskframe.engine.policy_tests import find_test_files, load_policy_test, run_tests
    from riskframe.errors import UsageError

    if args.run:
        try:
            re.compile(args.run)
        except re.error as exc:
            raise UsageError(f"--run: not a regular expression ({exc}). Got {args.run!r} instead.") from None
    files = find_test_files(args.path)
    if not files:
        raise UsageError(f"{args.path}: no kind: PolicyTest document found")
    tests: list[Any] = []
    problems: list[Any] = []
    for path in files:  # every bad test file is reported before any case runs
        try:
            tests.append(load_policy_test(path))
        except DocumentError as exc:
            problems += exc.problems
    if problems:
        raise DocumentError(problems)
    outcomes = run_tests(tests, args.run)
    echo(render(outcomes, args.verbose))
    if any(o.outcome == "error" for o in outcomes):
        return 2
    return 1 if any(o.outcome == "fail" for o in outcomes) else 0


def render(outcomes: list[Any], verbose: bool = False) -> list[str]:
    """One line per case (PASS, FAIL or ERROR), the differences under a failed one, and a tally;
    one item per terminal line."""
    lines: list[str] = []
    current = None
    for o in outcomes:
        if o.file != current:
            current = o.file
            lines.append(o.file)
        lines.append(f"  {o.outcome.upper():<5} {o.case} ({o.seconds:.1f}s)")
        if o.outcome == "error":
            lines += [f"        {line}" for line in o.error]
        for m in o.mismatches:
            lines.append(f"        {m.what}: expected {' or '.join(m.expected)}, got {m.actual}")
            lines += [f"          - {r.id}: {r.status.replace('_', ' ')}: {r.summary}" for r in m.results]
        if verbose and o.outcome == "pass":
            lines += [f"        {what}: {actual}" for what, actual in o.checked]
    counts = {k: sum(o.outcome == k for o in outcomes) for k in ("pass", "fail", "error")}
    tally = f"{len(outcomes)} case{'s' if len(outcomes) != 1 else ''}: {counts['pass']} passed, {counts['fail']} failed"
    lines.append(tally + (f", {counts['error']} could not run" if counts["error"] else ""))
    if not outcomes:
        lines.append("(no case matched --run)")
    return lines


