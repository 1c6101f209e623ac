"""``riskframe scan-models PATH...``: scan model files for code that would run when loaded.

Folders are walked. Every file is recognised by content and scanned statically (see
:mod:`riskframe.scanning`); nothing is unpickled or imported. ``--format json`` prints::

    {"files": [{"path", "format", "verdict", "severity",
                "findings": [{"global", "offset", "severity", "reason"}]}],
     "summary": {"files", "safe", "unsafe", "unsupported", "findings": {severity: count}, "worst"}}

Exit 0 when no file is unsafe, 1 when one is (``--strict``: or is in a format the scan does not
recognise), 2 on bad usage (a path that does not exist).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from riskframe.errors import UsageError
from riskframe.terminal import echo, echo_json

_SEVERITIES = ("low", "medium", "high", "critical")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan-models", help="scan model files (pickle, joblib, PyTorch, numpy, ...) for code that runs on load",
        description="Statically scan model files for globals that would run code when the file is loaded. "
                    "Folders are walked; formats are recognised by content. Nothing is loaded. "
                    "Exit 0 when no file is unsafe, 1 when one is, 2 on bad usage.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="model files or folders")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--allow", action="append", default=[], metavar="MODULE.NAME",
                        help="also trust this global (your own model class; repeatable)")
    parser.add_argument("--strict", action="store_true",
                        help="also exit 1 when a file's format is not recognised")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from riskframe.scanning import Allowlist, iter_files

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"riskframe scan-models: no such file or folder: {', '.join(missing)}")
    special = [p for p in args.paths if not (Path(p).is_file() or Path(p).is_dir())]
    if special:  # a FIFO or device: reading it would block, and it holds no model
        raise UsageError(f"riskframe scan-models: not a regular file or folder: {', '.join(special)}")
    allowlist = Allowlist(args.allow)
    results = [_scan(path, allowlist) for path in iter_files(args.paths)]
    report: dict[str, Any] = {"files": results, "summary": summarise(results)}
    if args.format == "json":
        echo_json(report)
    else:
        echo(render_text(report))
    unsafe = report["summary"]["unsafe"] or (args.strict and report["summary"]["unsupported"])
    return 1 if unsafe else 0


def _scan(path: Path, allowlist: Any) -> dict[str, Any]:
    from riskframe.scanning import FileScan, scan_file

    try:
        return scan_file(path, allowlist=allowlist).to_dict()
    except OSError as exc:  # unreadable (permissions, a file vanishing mid-walk): reported, not fatal
        scan = FileScan(str(path), "unreadable", recognised=False, notes=[f"cannot be read: {exc.strerror or exc}"])
        return scan.to_dict()


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by verdict and by finding severity, and the worst severity seen."""
    verdicts = Counter(r["verdict"] for r in results)
    severities = Counter(f["severity"] for r in results for f in r["findings"])
    worst = max(severities, key=_SEVERITIES.index, default=None)
    return {"files": len(results), "safe": verdicts["safe"], "unsafe": verdicts["unsafe"],
            "unsupported": verdicts["unsupported"],
            "findings": {s: severities[s] for s in reversed(_SEVERITIES)}, "worst": worst}


def render_text(report: dict[str, Any]) -> list[str]:
    """One line per file, its findings indented under it, then a summary line; one item per terminal
    line (paths, member names and globals come from the files: :func:`riskframe.terminal.echo`)."""
    lines = []
    for entry in report["files"]:
        severity = entry["severity"] or "-"
        lines.append(f"{entry['verdict'].upper():<11} {severity:<8} {entry['path']}  [{entry['format']}]")
        for finding in entry["findings"]:
            where = f"{finding['member']}: " if finding.get("member") else ""
            at = f" at byte {finding['offset']}" if finding["offset"] is not None else ""
            what = finding["global"] or "(structure)"
            lines.append(f"    {finding['severity']:<8} {where}{what}{at}: {finding['reason']}")
        lines.extend(f"    note: {note}" for note in entry.get("notes", ()))
    summary = report["summary"]
    counts = ", ".join(f"{n} {s}" for s, n in summary["findings"].items() if n) or "no findings"
    files = "1 file" if summary["files"] == 1 else f"{summary['files']} files"
    lines.append(f"{files}: {summary['safe']} safe, {summary['unsafe']} unsafe, "
                 f"{summary['unsupported']} unsupported ({counts})")
    return lines
