"""The ATLAS matrix behind the heat map and the Navigator layers, and the heat map in report.html."""

from __future__ import annotations

import pytest

from riskframe.catalog import load_catalog
from riskframe.reports.html_report import render_html
from riskframe.reports.matrix import atlas_matrix


@pytest.fixture(scope="module")
def tree(html_page, parse_html):
    return parse_html(html_page)


def test_tactics_are_columns_in_matrix_order(assessment) -> None:
    catalog = load_catalog()
    matrix = atlas_matrix(assessment, catalog)
    assert [c.tactic.id for c in matrix.columns] == [t.id for t in sorted(catalog.atlas.tactics, key=lambda t: t.order)]
    assert matrix.columns[0].tactic.shortname == "reconnaissance"
    assert matrix.columns[-1].tactic.name == "Impact"


def test_each_technique_has_its_state(assessment) -> None:
    matrix = atlas_matrix(assessment)
    cells = {(c.tactic.shortname, cell.technique_id): cell for c in matrix.columns for cell in c.cells}
    assert cells[("persistence", "AML.T0020")].state == "covered"
    assert cells[("persistence", "AML.T0020")].level == "high"
    assert cells[("initial-access", "AML.T0010.002")].state == "unverified"
    assert cells[("execution", "AML.T0051")].state == "gap"
    # Sub-techniques only where the policy names them, right after their parent.
    initial = [
        cell.technique_id for cell in next(c for c in matrix.columns if c.tactic.shortname == "initial-access").cells
    ]
    assert initial.index("AML.T0010.002") == initial.index("AML.T0010") + 1
    assert not any(t.startswith("AML.T0010.00") and t != "AML.T0010.002" for t in initial)
    everything = atlas_matrix(assessment, subtechniques=True, gaps=False)
    assert {cell.technique_id for c in everything.columns for cell in c.cells} == {t.id for t in assessment.atlas}


def test_the_heat_map_colours_techniques_under_their_tactics(tree) -> None:
    table = tree.find("table", class_="matrix")[0]
    headers = [th.text for th in table.find("thead")[0].find("th")]
    assert headers[:3] == ["Reconnaissance", "Resource Development", "Initial Access"] and len(headers) == 16
    hot = {td.attrs["data-technique"]: td for td in table.find("td", class_="heat-high")}
    assert set(hot) == {"AML.T0020", "AML.T0059"}
    assert "high 0.72" in hot["AML.T0020"].text
    assert hot["AML.T0020"].find("a")[0].attrs["href"] == "#technique-aml-t0020"
    assert tree.find("tr", id="technique-aml-t0020")  # the technique's row in the table above
    [unverified] = table.find("td", class_="heat-unverified")
    assert unverified.attrs["data-technique"] == "AML.T0010.002" and "no verdict" in unverified.text
    columns = [[td for td in row.find("td")] for row in table.find("tbody")[0].find("tr")]
    assert all(len(row) == 16 for row in columns)  # a rectangle: every tactic a column
    persistence = [row[5].attrs.get("data-technique") for row in columns]
    assert "AML.T0020" in persistence


def test_a_different_atlas_version_is_said(assessment, parse_html) -> None:
    older = assessment.model_copy(update={"tool": assessment.tool.model_copy(update={"catalogs": {"atlas": "4.9.1"}})})
    caption = parse_html(render_html(older)).find("figure", class_="atlas-matrix")[0].find("figcaption")[0].text
    assert caption.endswith("The matrix is ATLAS 5.6.0; this assessment used ATLAS 4.9.1.")
