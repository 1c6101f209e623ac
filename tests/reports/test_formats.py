"""The format registry in riskframe/reports/__init__.py: discovery, --format parsing, writing files."""

from __future__ import annotations

import re
import types

import pytest

from riskframe import reports
from riskframe.errors import InputError, RegistryError, UsageError
from riskframe.reports import FORMATS, Renderer, collect_renderers, parse_formats, render


def _module(name: str, renderer: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.RENDERER = renderer  # type: ignore[attr-defined]
    return module


def _renderer(name: str, files: tuple[str, ...] = ("out.txt",), produced: str = "out.txt") -> Renderer:
    return Renderer(
        name=name,
        description="test format",
        files=files,
        render=lambda assessment, context: {produced: assessment.pipeline.name.encode()},
    )


def test_the_three_foundation_formats_are_found_with_their_file_names() -> None:
    assert {name: FORMATS[name].files for name in ("json", "md", "html")} == {
        "json": ("assessment.json",),
        "md": ("report.md",),
        "html": ("report.html",),
    }


def test_parse_formats_strips_lowercases_and_drops_repeats() -> None:
    assert parse_formats(" json , MD,,html,json ") == ["json", "md", "html"]


def test_an_unknown_format_suggests_the_nearest_and_lists_the_known_ones() -> None:
    with pytest.raises(
        UsageError,
        match=r"^--format: unknown report format 'htm' \(did you mean 'html'\?\); "
        r"known formats: ",
    ) as caught:
        parse_formats("json,htm")
    assert str(caught.value).endswith("known formats: " + ", ".join(sorted(FORMATS)))
    assert isinstance(caught.value, InputError)  # the CLI turns it into exit 2


def test_no_format_at_all_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^--format: no report format given; known formats: cyclonedx, html, json, junit, md, navigator, oscal, sarif$"):
        parse_formats(" , ")


def test_render_writes_the_contract_file_names_in_the_requested_order(assessment, tmp_path) -> None:
    out = tmp_path / "reports" / "run-1"
    written = render(assessment, out, ["html", "json", "md"])
    assert written == [out / "report.html", out / "assessment.json", out / "report.md"]
    assert sorted(p.name for p in out.iterdir()) == ["assessment.json", "report.html", "report.md"]  # no temporaries


def test_render_takes_the_formats_as_one_string_too(assessment, tmp_path) -> None:
    """As ``--format`` does: "html" is one format, not four letters."""
    assert [p.name for p in render(assessment, tmp_path, "html, md")] == ["report.html", "report.md"]


def test_render_replaces_an_earlier_report(assessment, tmp_path) -> None:
    (tmp_path / "report.md").write_text("stale")
    render(assessment, tmp_path, ["md"])
    assert (tmp_path / "report.md").read_text(encoding="utf-8").startswith("## riskframe: gate FAILED")


def test_render_refuses_an_unknown_format_before_writing_anything(assessment, tmp_path) -> None:
    with pytest.raises(UsageError, match="unknown report format 'pdf'"):
        render(assessment, tmp_path / "out", ["json", "pdf"])
    assert not (tmp_path / "out").exists()


def test_a_format_that_writes_an_undeclared_file_is_a_registry_error(assessment, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(reports.FORMATS, "sneaky", _renderer("sneaky", produced="../escape.txt"))
    with pytest.raises(
        RegistryError, match=re.escape("report format 'sneaky' produced undeclared files ['../escape.txt']")
    ):
        render(assessment, tmp_path, ["sneaky"])
    assert list(tmp_path.iterdir()) == []


def test_a_new_format_is_one_module_with_a_renderer(assessment, tmp_path, monkeypatch) -> None:
    found = collect_renderers([_module("riskframe.reports.txt", _renderer("txt")), types.ModuleType("helpers")])
    assert list(found) == ["txt"]
    monkeypatch.setitem(reports.FORMATS, "txt", found["txt"])
    assert render(assessment, tmp_path, parse_formats("txt")) == [tmp_path / "out.txt"]
    assert (tmp_path / "out.txt").read_text() == "digits-classifier"


def test_two_modules_declaring_one_format_name_is_an_error_not_an_overwrite() -> None:
    first, second = _renderer("sarif"), _renderer("sarif")
    with pytest.raises(
        RegistryError,
        match=r"^report format 'sarif' is declared by both riskframe.reports.a "
        r"and riskframe.reports.b$",
    ) as caught:
        collect_renderers([_module("riskframe.reports.a", first), _module("riskframe.reports.b", second)])
    assert caught.value.detector is second


def test_a_renderer_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(RegistryError, match=r"^riskframe.reports.bad.RENDERER must be a riskframe.reports.Renderer$"):
        collect_renderers([_module("riskframe.reports.bad", {"name": "bad"})])


def test_importing_the_reports_package_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, riskframe.reports; "
        "print(sorted(m for m in ('matplotlib', 'jinja2', 'sklearn', 'cleanlab') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
