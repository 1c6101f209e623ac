"""``riskframe scan-models PATH...``: scan model files for code that would run when loaded.

Folders are walked. Every file is recognised by content and scanned statically (see
:mod:`riskframe.scanning`); nothing is unpickled or imported. ``--format json`` prints::

    {"files": [{"path", "format", "verdict", "severity",
                "findings": [{"global", "offset", "severity", "reason"}]}],
     "summary": {"files", "safe", "unsafe", "unsupported", "findings": {severity: count}, "worst"}}

Exit codes (:data:`EXIT_CODES`): 0 every file is safe; 1 a file is unsafe; 2 bad usage (a path that
does not exist); 3 no file is unsafe but nothing vouches for one (its format is not recognised, it
cannot be read, or part of it cannot be scanned), unless ``--allow-unsupported``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from riskframe.errors import UsageError
from riskframe.io.terminal import echo, echo_json
from riskframe.vocabulary import LEVELS, level_rank

EXIT_SAFE, EXIT_UNSAFE, EXIT_UNSUPPORTED = 0, 1, 3  # 2 is bad usage, as for every command
EXIT_CODES = {EXIT_SAFE: "every file is safe", EXIT_UNSAFE: "a file is unsafe", 2: "bad usage",
              EXIT_UNSUPPORTED: "no file is unsafe, but nothing vouches for one (unsupported)"}


def register(subparsers: Any) -> None:
    codes = "; ".join(f"{code} {meaning}" for code, meaning in sorted(EXIT_CODES.items()))
    parser = subparsers.add_parser(
        "scan-models", help="scan model files (pickle, joblib, PyTorch, numpy, ...) for code that runs on load",
        description="Statically scan model files for globals that would run code when the file is loaded. "
                    "Folders are walked; formats are recognised by content. Nothing is loaded. "
                    f"Exit codes: {codes}.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="model files or folders")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--allow", action="append", default=[], metavar="MODULE.NAME",
                        help="also trust this global (your own model class; repeatable)")
    parser.add_argument("--allow-unsupported", action="store_true",
                        help="exit 0 rather than 3 when no file is unsafe but some are unsupported")
    # --strict made unsupported files exit non-zero; that is the default now. Kept so scripts run.
    parser.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)
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
    return exit_code(report["summary"], allow_unsupported=args.allow_unsupported)


def exit_code(summary: dict[str, Any], *, allow_unsupported: bool = False) -> int:
    """1 when a file is unsafe, else 3 when one is unsupported (unless allowed), else 0."""
    if summary["unsafe"]:
        return EXIT_UNSAFE
    if summary["unsupported"] and not allow_unsupported:
        return EXIT_UNSUPPORTED
    return EXIT_SAFE


def _scan(path: Path, allowlist: Any) -> dict[str, Any]:
    from riskframe.scanning import FileScan, scan_file

    try:
        return scan_file(path, allowlist=allowlist).to_dict()
    except OSError as exc:  # cannot be opened (permissions, a file vanishing mid-walk): reported, not fatal
        return FileScan.unreadable(str(path), exc.strerror or str(exc)).to_dict()


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by verdict and by finding severity, and the worst severity seen."""
    verdicts = Counter(r["verdict"] for r in results)
    severities = Counter(f["severity"] for r in results for f in r["findings"])
    worst = max(severities, key=level_rank, default=None)
    return {"files": len(results), "safe": verdicts["safe"], "unsafe": verdicts["unsafe"],
            "unsupported": verdicts["unsupported"],
            "findings": {s: severities[s] for s in reversed(LEVELS)}, "worst": worst}


def render_text(report: dict[str, Any]) -> list[str]:
    """One line per file, its findings indented under it, then a summary line; one item per terminal
    line (paths, member names and globals come from the files: :func:`riskframe.io.terminal.echo`)."""
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
