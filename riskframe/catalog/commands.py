"""``riskframe catalog list | show | import``: browse and update the ATLAS and NIST AI RMF catalogs.

Each sub-command's handler takes the parsed arguments, prints to stdout and returns the exit code;
user mistakes raise :class:`~riskframe.errors.UsageError`, which the CLI prints before exiting 2.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="riskframe")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["catalog", "show", "AML.T0020"])
>>> args.handler(args)  # doctest: +SKIP
AML.T0020  Poison Training Data
...
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from riskframe.catalog.atlas_import import (
    LICENSE_NAME,
    atlas_from_document,
    looks_like_atlas,
    read_release,
    write_atlas,
)
from riskframe.catalog.model import CaseStudy, Mitigation, Tactic, Technique
from riskframe.catalog.nist_import import looks_like_nist, nist_from_document, write_nist
from riskframe.catalog.store import Catalog, catalog_dir, latest_atlas_file, load_catalog
from riskframe.catalog.views import render_view, technique_name, view_of
from riskframe.errors import CatalogImportError, DocumentError, UsageError
from riskframe.io.paths import shown_path
from riskframe.io.terminal import echo, echo_json, escape
from riskframe.spec.validation import did_you_mean

KINDS = ("technique", "mitigation", "tactic", "subcategory", "case-study")

Rows = tuple[list[str], list[list[str]]]


def register(subparsers: Any) -> None:
    """Add the ``catalog`` command group to the CLI's sub-parsers."""
    catalog = subparsers.add_parser(
        "catalog", help="browse and update the ATLAS and NIST AI RMF catalogs",
        description="Browse the MITRE ATLAS and NIST AI RMF catalogs riskframe checks ids against, "
                    "or regenerate them from an official release.")
    commands = catalog.add_subparsers(dest="catalog_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="list techniques, mitigations, tactics, case studies or "
                                               "NIST subcategories")
    listing.add_argument("--kind", choices=KINDS, default="technique", help="what to list (default: technique)")
    listing.add_argument("--tactic", metavar="ID", help="only techniques under this tactic (id, e.g. AML.TA0004, "
                                                        "or Navigator short name, e.g. initial-access)")
    _add_browse_options(listing)
    listing.set_defaults(handler=run_list)

    show = commands.add_parser("show", help="show one entry and what it links to")
    show.add_argument("id", metavar="ID", help="AML.T0020, AML.M0007, AML.TA0004, AML.CS0000, MEASURE 2.7, MS-2.7, ...")
    show.add_argument("--controls", metavar="DIR", action="append", type=Path,
                      help="directory of control files to search (repeatable; default: riskframe's controls/)")
    _add_browse_options(show)
    show.set_defaults(handler=run_show)

    importing = commands.add_parser(
        "import", help="regenerate a catalog from an official ATLAS release or the NIST AI RMF Core file",
        description="Import an official ATLAS release (ATLAS.yaml from github.com/mitre-atlas/atlas-data) or "
                    "the NIST AI RMF Core YAML; the file's content tells which.")
    importing.add_argument("path", metavar="PATH", type=Path, help="ATLAS.yaml or nist-ai-rmf-1.0-core.yaml")
    importing.add_argument("--out", metavar="DIR", type=Path,
                           help="where to write the catalog (default: riskframe's atlas_catalog/)")
    importing.set_defaults(handler=run_import)


def _add_browse_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--catalog-dir", metavar="DIR", type=Path,
                        help="read the catalogs from DIR instead of riskframe's atlas_catalog/")


# list -------------------------------------------------------------------------------------------

def run_list(args: argparse.Namespace) -> int:
    """``riskframe catalog list``."""
    catalog = _catalog(args)
    entries = _entries(catalog, args.kind, args.tactic)
    if args.format == "json":
        _print_json([entry.model_dump(mode="json") for entry in entries])
        return 0
    headers, rows = _ROWS[args.kind](catalog, entries)
    echo(_table(headers, rows))
    return 0


def _entries(catalog: Catalog, kind: str, tactic_text: str | None) -> list[Any]:
    if tactic_text is not None:
        if kind != "technique":
            raise UsageError(f"--tactic selects techniques; it cannot be combined with --kind {kind}")
        tactic = catalog.tactic(tactic_text)
        if tactic is None:
            choices = [*catalog.tactics, *(t.shortname for t in catalog.tactics.values())]
            raise UsageError(f"unknown ATLAS tactic {tactic_text!r}{did_you_mean(tactic_text, choices)}; "
                             f"tactics: {', '.join(t.shortname for t in catalog.tactics.values())}")
        return catalog.techniques_in(tactic.id)
    tables: dict[str, list[Any]] = {
        "technique": catalog.atlas.techniques, "mitigation": catalog.atlas.mitigations,
        "tactic": catalog.atlas.tactics, "case-study": catalog.atlas.case_studies,
        "subcategory": catalog.nist.subcategories}
    return tables[kind]


def _technique_rows(catalog: Catalog, entries: list[Technique]) -> Rows:
    return ["ID", "MATURITY", "NAME", "TACTICS"], [
        [t.id, t.maturity or "-", technique_name(catalog, t),
         ", ".join(catalog.tactics[x].shortname for x in t.tactics)] for t in entries]


def _mitigation_rows(catalog: Catalog, entries: list[Mitigation]) -> Rows:
    return ["ID", "NAME", "CATEGORY", "TECHNIQUES", "STAGE KINDS"], [
        [m.id, m.name, ", ".join(m.category), str(len(m.techniques)), ", ".join(m.lifecycle)] for m in entries]


def _tactic_rows(catalog: Catalog, entries: list[Tactic]) -> Rows:
    return ["ID", "SHORTNAME", "TECHNIQUES", "NAME"], [
        [t.id, t.shortname, str(len(catalog.techniques_in(t.id))), t.name] for t in entries]


def _case_study_rows(catalog: Catalog, entries: list[CaseStudy]) -> Rows:
    return ["ID", "TYPE", "TECHNIQUES", "NAME"], [
        [c.id, c.type or "-", str(len(c.techniques)), c.name] for c in entries]


def _subcategory_rows(catalog: Catalog, entries: list[Any]) -> Rows:
    return ["ID", "STATEMENT"], [[s.id, textwrap.shorten(s.statement, 88, placeholder="...")] for s in entries]


_ROWS: dict[str, Callable[[Catalog, list[Any]], Rows]] = {
    "technique": _technique_rows, "mitigation": _mitigation_rows, "tactic": _tactic_rows,
    "case-study": _case_study_rows, "subcategory": _subcategory_rows}


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    # Cells are escaped before the columns are measured, so that a name with control characters
    # (an imported catalog is a file like any other) neither acts on the terminal nor skews the table.
    table = [[escape(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]


# show -------------------------------------------------------------------------------------------

def run_show(args: argparse.Namespace) -> int:
    """``riskframe catalog show ID``."""
    catalog = _catalog(args)
    found = catalog.find(args.id)
    if found is None:
        raise UsageError(catalog.unknown_id_message(args.id))
    kind, entry = found
    controls = _controls(args.controls) if kind in ("technique", "mitigation", "subcategory") else []
    shown = view_of(catalog, kind, entry, controls)
    if args.format == "json":
        _print_json({"kind": kind, **shown})
    else:
        echo(render_view(shown))
    return 0


def _controls(directories: list[Path] | None) -> list[Any]:
    """Controls whose links ``show`` reports: from ``directories``, else riskframe's ``controls/``."""
    from riskframe.spec.load import control_files, load_controls

    if directories:
        missing = [d for d in directories if not d.is_dir()]
        if missing:
            raise UsageError(f"--controls {missing[0]}: no such directory")
    else:
        from riskframe.io.resources import bundled_dir

        try:
            directories = [bundled_dir("controls")]
        except FileNotFoundError:  # a checkout before any control was written
            return []
    try:
        return list(load_controls(control_files(directories)).values())
    except DocumentError as exc:
        # A broken control file must not stop anyone browsing the catalog; validate reports it.
        echo(["warning: controls not shown, a control file has errors:", *exc.lines()], sys.stderr)
        return []


# import -----------------------------------------------------------------------------------------

def run_import(args: argparse.Namespace) -> int:
    """``riskframe catalog import PATH [--out DIR]``."""
    out = args.out or catalog_dir()
    try:
        document = read_release(args.path)
        if looks_like_atlas(document.data):
            summary = _import_atlas(document, args.path, out)
        elif looks_like_nist(document.data):
            summary = _import_nist(document, out)
        else:
            raise UsageError(f"{args.path}: neither an ATLAS release (a mapping with 'version' and 'matrices', "
                             "as in ATLAS.yaml of github.com/mitre-atlas/atlas-data) nor the NIST AI RMF Core "
                             "(a mapping with 'functions')")
    except CatalogImportError as exc:
        raise UsageError(exc.message, details=exc.details) from exc
    except OSError as exc:
        raise UsageError(f"cannot write the catalog to {out}: {exc.strerror or exc}") from exc
    load_catalog.cache_clear()  # the next look-up in this process sees the new files
    echo(summary)
    return 0


def _import_atlas(document: Any, source: Path, out: Path) -> list[str]:
    catalog, warnings = atlas_from_document(document)
    echo([f"warning: {warning}" for warning in warnings], sys.stderr)
    beside = source.parent / LICENSE_NAME
    written = write_atlas(catalog, out, license_file=beside if beside.is_file() else None)
    subtechniques = sum(1 for t in catalog.techniques if t.parent)
    summary = [f"wrote {shown_path(written)}: ATLAS {catalog.version}, {len(catalog.tactics)} tactics, "
               f"{len(catalog.techniques)} techniques ({subtechniques} sub-techniques), "
               f"{len(catalog.mitigations)} mitigations, {len(catalog.case_studies)} case studies; "
               f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}"]
    latest = latest_atlas_file(out)
    if latest != written:
        summary.append(f"note: {latest.name} is newer and remains the ATLAS catalog riskframe uses from "
                       f"{shown_path(out)}")
    return summary


def _import_nist(document: Any, out: Path) -> list[str]:
    nist = nist_from_document(document)
    written = write_nist(nist, out)
    return [f"wrote {shown_path(written)}: {nist.framework} {nist.version}, {len(nist.functions)} functions, "
            f"{len(nist.categories)} categories, {len(nist.subcategories)} subcategories"]


# shared -----------------------------------------------------------------------------------------

def _catalog(args: argparse.Namespace) -> Catalog:
    return load_catalog(args.catalog_dir) if args.catalog_dir else load_catalog()


def _print_json(data: Any) -> None:
    echo_json(data)
