"""``riskframe waivers list [POLICY|WAIVERS|FOLDER ...] [--within DAYS]``: every waiver and its status.

A waiver is *active* until its ``expires`` date (inclusive), *expiring* when that date is within
``--within`` days (30 by default), and *expired* after it. Inherited waivers are listed with the
file and line they are written at, once even when several policies inherit them. A folder stands
for every policy and waiver file (``kind: Policy`` or ``kind: Waivers``) directly in it; its other
YAML files (pipelines, controls, policy tests) are passed over, and a folder with none is an error;
so is a YAML file there that cannot be read, which might be a policy whose waivers would go missing.
A bare name (``data-poisoning``) is a policy name: ``NAME.yaml`` in the current directory, else
among the bundled policies.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="riskframe")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["waivers", "list", "policies/data-poisoning.yaml", "--within", "14"])
>>> args.handler(args)  # doctest: +SKIP
No waivers in policies/data-poisoning.yaml.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from riskframe.errors import UsageError
from riskframe.io.terminal import echo, echo_json, escape

STATUSES = ("expired", "expiring", "active")


@dataclass(frozen=True)
class WaiverRow:
    """One waiver as ``waivers list`` shows it."""

    status: str
    expires: str
    days_left: int
    policy: str
    requirement: str
    stage: str
    control: str
    approved_by: str
    source: str
    justification: str


def register(subparsers: Any) -> None:
    waivers = subparsers.add_parser(
        "waivers", help="list waivers with their status (active, expiring, expired)",
        description="Work with the waivers of policies and waiver files.")
    commands = waivers.add_subparsers(dest="waivers_command", metavar="COMMAND", required=True)
    listing = commands.add_parser(
        "list", help="list every waiver with its status: active, expiring within DAYS, or expired",
        description="List the waivers of policies (their own and inherited ones) and of waiver files "
                    "(kind: Waivers), expired first, then by expiry date.")
    listing.add_argument("documents", nargs="*", metavar="POLICY",
                         help="policy files or bundled policy names, waiver files, and folders of them "
                              "(default: the bundled policies)")
    listing.add_argument("--within", type=_days, default=30, metavar="DAYS",
                         help="call a waiver expiring when it expires within DAYS days (default 30)")
    listing.add_argument("--today", type=_date, metavar="YYYY-MM-DD",
                         help="judge expiry as of this date (default: today)")
    listing.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    listing.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    documents = args.documents or _bundled_policies()
    rows = waiver_rows(documents, today=args.today or date.today(), within=args.within)
    if args.format == "json":
        echo_json([asdict(r) for r in rows])
    elif not rows:
        echo(f"No waivers in {', '.join(map(str, documents))}.")
    else:
        echo([*table(rows), counts_line(rows, args.within)])
    return 0


def waiver_rows(documents: Sequence[str | Path], *, today: date, within: int = 30) -> list[WaiverRow]:
    """Every waiver of ``documents`` (policies, by path or bundled name, and waiver files), expired
    first, then by expiry date; a waiver inherited by several policies appears once.

    Examples
    --------
    >>> from datetime import date
    >>> waiver_rows(["data-poisoning"], today=date(2030, 1, 1))
    []
    """
    from riskframe.spec.bound_waivers import file_waivers, policy_waivers
    from riskframe.spec.waivers import days_left, waiver_status

    seen: dict[str, WaiverRow] = {}
    for bound in (b for doc in expand_folders(documents) for b in _waivers_of(doc, policy_waivers, file_waivers)):
        w = bound.waiver
        left = days_left(w, today)
        status: str = waiver_status(w, today)
        if status == "active" and left <= within:
            status = "expiring"
        seen.setdefault(bound.where, WaiverRow(
            status=status, expires=w.expires.isoformat(), days_left=left, policy=bound.policy or "-",
            requirement=w.requirement, stage=w.stage or "*", control=w.control or "*", approved_by=w.approved_by,
            source=bound.where, justification=w.justification))
    return sorted(seen.values(), key=lambda r: (r.status != "expired", r.expires, r.source))


def expand_folders(documents: Sequence[str | Path]) -> list[str | Path]:
    """``documents`` with each folder replaced by the policy and waiver files directly in it, by name.

    Raises
    ------
    UsageError
        A folder holds no policy or waiver file.

    Examples
    --------
    >>> [Path(p).name for p in expand_folders(["policies/"])]  # doctest: +SKIP
    ['backdoor.yaml', 'data-poisoning.yaml', 'supply-chain.yaml']
    """
    from riskframe.spec.yaml_source import load_yaml

    out: list[str | Path] = []
    for document in documents:
        folder = Path(document)
        if not folder.is_dir():
            out.append(document)
            continue
        files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        # The kind decides before the file is loaded in full: a pipeline in the folder is no mistake,
        # but unreadable YAML is (load_yaml raises its located error), since it may be a policy.
        found = [p for p in files if _kind(load_yaml(p).data) in ("Policy", "Waivers")]
        if not found:
            raise UsageError(f"{document}: no policy or waiver file (kind: Policy or Waivers) in this folder")
        out += found
    return out


def _kind(data: Any) -> Any:
    return data.get("kind") if isinstance(data, dict) else None


def _waivers_of(document: str | Path, policy_waivers: Any, file_waivers: Any) -> list[Any]:
    from riskframe.spec import Policy, load_document
    from riskframe.spec.load import resolve_policy
    from riskframe.spec.waivers import WaiverSet

    loaded = load_document(document) if Path(document).is_file() else resolve_policy(document)
    if isinstance(loaded, Policy):
        return policy_waivers(loaded)  # type: ignore[no-any-return]
    if isinstance(loaded, WaiverSet):
        return file_waivers(loaded)  # type: ignore[no-any-return]
    raise UsageError(f"{document}: a {type(loaded).__name__.lower()} document has no waivers; "
                     "give policies or waiver files (kind: Waivers)")


def table(rows: Sequence[WaiverRow]) -> list[str]:
    """A plain-text table, one waiver a line, the justification last (cells escaped before the
    columns are measured: see :mod:`riskframe.io.terminal`)."""
    headers = ["STATUS", "EXPIRES", "DAYS", "POLICY", "REQUIREMENT", "STAGE", "CONTROL", "APPROVED BY", "SOURCE",
               "JUSTIFICATION"]
    cells = [[escape(cell) for cell in (r.status, r.expires, str(r.days_left), r.policy, r.requirement, r.stage,
                                        r.control, r.approved_by, r.source, r.justification)] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers[:-1])]
    lines = []
    for line in [headers, *cells]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1])
    return lines


def counts_line(rows: Sequence[WaiverRow], within: int) -> str:
    """``3 waivers: 1 active, 1 expiring within 30 days, 1 expired.``"""
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    return (f"{len(rows)} waiver{'s' if len(rows) != 1 else ''}: {counts['active']} active, "
            f"{counts['expiring']} expiring within {within} days, {counts['expired']} expired.")


def _bundled_policies() -> list[str]:
    from riskframe.io.resources import bundled_dir

    return [str(p) for p in sorted(bundled_dir("policies").glob("*.yaml"))]


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of days. Got {text!r} instead.") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more. Got {value} instead.")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date (YYYY-MM-DD). Got {text!r} instead.") from None
