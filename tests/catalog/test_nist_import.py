"""Importing the NIST AI RMF 1.0 Core: counts, ids, statements, and refusals located in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskframe.catalog.model import NistCatalog
from riskframe.catalog.nist_import import import_nist, write_nist
from riskframe.catalog.store import catalog_dir
from riskframe.errors import CatalogImportError

FIXTURES = Path(__file__).parent / "fixtures"
NIST_CORE = FIXTURES / "nist-ai-rmf-1.0-core.yaml"


def test_the_core_has_4_functions_19_categories_72_subcategories(nist: NistCatalog) -> None:
    assert (nist.framework, nist.version, nist.source) == ("NIST AI RMF", "1.0", "nist-ai-rmf-1.0-core.yaml")
    assert (len(nist.functions), len(nist.categories), len(nist.subcategories)) == (4, 19, 72)
    per_function = {f.id: sum(1 for s in nist.subcategories if s.function == f.id) for f in nist.functions}
    assert per_function == {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}


def test_functions_carry_their_abbreviations_in_the_frameworks_order(nist: NistCatalog) -> None:
    assert [(f.id, f.abbreviation) for f in nist.functions] == [
        ("GOVERN", "GV"), ("MAP", "MP"), ("MEASURE", "MS"), ("MANAGE", "MG")]


def test_ids_are_written_as_policies_write_them(nist: NistCatalog) -> None:
    security = next(s for s in nist.subcategories if s.id == "MEASURE 2.7")
    assert (security.function, security.category) == ("MEASURE", "MEASURE 2")
    assert security.statement == ("AI system security and resilience – as identified in the map function – are "
                                  "evaluated and documented.")
    assert next(c for c in nist.categories if c.id == "MEASURE 2").statement == (
        "AI systems are evaluated for trustworthy characteristics.")


def test_subcategories_are_in_numeric_order(nist: NistCatalog) -> None:
    measure_2 = [s.id for s in nist.subcategories if s.category == "MEASURE 2"]
    assert measure_2 == [f"MEASURE 2.{n}" for n in range(1, 14)]  # 2.10 after 2.9, not after 2.1


@pytest.mark.parametrize(("content", "expected"), [
    ("framework: NIST AI RMF\nversion: '1.0'\nfunctions:\n  MEASURE:\n    summary: s\n"
     "    categories: {'2': c}\n    subcategories:\n      2.7: x\n",
     r":8:7: functions\.MEASURE\.subcategories\.2\.7: write the number as quoted text \(\"2\.7\"\); YAML reads an "
     r"unquoted 2\.10 as 2\.1"),
    ("framework: NIST AI RMF\nversion: '1.0'\nfunctions:\n  MEASUER:\n    summary: s\n",
     r":4:3: functions\.MEASUER: unknown function 'MEASUER' \(did you mean 'MEASURE'\?\); the Core has GOVERN, "
     r"MAP, MEASURE, MANAGE"),
    ("framework: NIST AI RMF\nversion: '1.0'\nfunctions:\n  MAP:\n    summary: s\n"
     "    categories: {'1': c}\n    subcategories: {'2.1': x}\n",
     r"functions\.MAP\.subcategories\.2\.1: subcategory MAP 2\.1 belongs to category MAP 2, which is not listed"),
    ("framework: NIST AI RMF\nfunctions:\n  MAP:\n    summary: ''\n    categories: {'1': c}\n"
     "    subcategories: {'1.1': x}\n",
     r"functions\.MAP\.summary: must be a non-empty statement\n.*version: must be a version such as \"1\.0\""),
])
def test_every_problem_in_the_file_is_reported_located(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "core.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogImportError, match=expected) as caught:
        import_nist(path)
    assert str(caught.value).startswith(f"{path}: cannot import the NIST AI RMF Core:\n{path}:")


def test_a_core_missing_functions_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "core.yaml"
    path.write_text("framework: NIST AI RMF\nversion: '1.0'\nfunctions:\n  MAP:\n    summary: s\n"
                    "    categories: {'1': c}\n    subcategories: {'1.1': x}\n", encoding="utf-8")
    with pytest.raises(CatalogImportError, match=r"functions: missing functions: GOVERN, MEASURE, MANAGE"):
        import_nist(path)


def test_an_atlas_release_is_not_taken_for_the_core() -> None:
    with pytest.raises(CatalogImportError, match=r"trimmed\.yaml: not the NIST AI RMF Core: expected a mapping with "
                                                  r"'framework', 'version' and 'functions'"):
        import_nist(FIXTURES / "ATLAS-4.9.1-trimmed.yaml")


def test_the_committed_catalog_is_what_the_importer_makes_of_the_core(tmp_path: Path, nist: NistCatalog) -> None:
    written = write_nist(nist, tmp_path)
    assert written.name == "nist-ai-rmf-1.0.yaml"
    committed = catalog_dir() / written.name
    assert committed.read_text(encoding="utf-8") == written.read_text(encoding="utf-8"), (
        f"{committed} differs from the import of {NIST_CORE}; regenerate it (atlas_catalog/README.md)")
