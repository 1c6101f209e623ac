"""Look-ups over the catalogs: ids in every accepted form, relations, suggestions, broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskframe.catalog.model import NIST_FUNCTIONS
from riskframe.catalog.store import Catalog, latest_atlas_file, load_catalog, normalize_nist_id
from riskframe.errors import DocumentError

# NIST ids -------------------------------------------------------------------------------------


@st.composite
def nist_spellings(draw: st.DrawFn, canonical: str) -> str:
    """``canonical`` ('MEASURE 2.7') as a person might write it: MS-2.7, measure_2.7, ' Ms 2.7 '."""
    function, number = canonical.split(" ")
    name = draw(st.sampled_from([function, NIST_FUNCTIONS[function]]))
    name = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in name)
    separator = draw(st.sampled_from([" ", "-", "_", ".", "  ", " - ", ""]))
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return f"{padding}{name}{separator}{number}{padding}"


@given(data=st.data())
def test_every_accepted_spelling_of_a_subcategory_finds_it(catalog: Catalog, data: st.DataObject) -> None:
    canonical = data.draw(st.sampled_from(sorted(catalog.subcategories)))
    written = data.draw(nist_spellings(canonical))
    assert normalize_nist_id(written) == canonical
    assert catalog.nist_id(written) == canonical
    assert catalog.nist_problem(written) is None


@given(text=st.text(max_size=16))
def test_any_text_is_a_known_subcategory_or_none(catalog: Catalog, text: str) -> None:
    found = catalog.nist_id(text)
    assert found is None or found in catalog.subcategories
    assert (catalog.nist_problem(text) is None) == (found is not None)


@pytest.mark.parametrize(("written", "expected"), [
    ("MEASURE 2.7", "MEASURE 2.7"), ("MS-2.7", "MEASURE 2.7"), ("measure-2.7", "MEASURE 2.7"),
    ("gv_1.1", "GOVERN 1.1"), ("MG 4.3", "MANAGE 4.3"), ("map5.2", "MAP 5.2"), ("MS-2", "MEASURE 2"),
    ("MEASURE", None), ("AML.T0020", None), ("MX-2.7", None), ("MEASURE 2.7.1", None), ("", None),
])
def test_nist_id_forms(written: str, expected: str | None) -> None:
    assert normalize_nist_id(written) == expected


def test_an_unknown_subcategory_gets_a_suggestion(catalog: Catalog) -> None:
    assert catalog.nist_id("MESURE 2.7") is None
    assert catalog.nist_problem("MESURE 2.7") == (
        "unknown NIST AI RMF subcategory 'MESURE 2.7' (did you mean 'MEASURE 2.7'?); write it as 'MEASURE 2.7' "
        "(also accepted: 'MS-2.7', 'measure-2.7')")
    assert catalog.nist_problem("MS-2.14") is not None


# ATLAS look-ups --------------------------------------------------------------------------------


def test_technique_relations(catalog: Catalog) -> None:
    assert catalog.technique(" aml.t0020 ").name == "Poison Training Data"  # type: ignore[union-attr]
    assert [t.id for t in catalog.subtechniques("AML.T0010")] == [
        "AML.T0010.000", "AML.T0010.001", "AML.T0010.002", "AML.T0010.003", "AML.T0010.004", "AML.T0010.005"]
    assert "AML.M0007" in [m.id for m in catalog.mitigations_for("AML.T0020")]
    assert [c.id for c in catalog.case_studies_using("AML.T0020")] == ["AML.CS0002", "AML.CS0009", "AML.CS0025"]
    assert catalog.subtechniques("AML.T0020") == []


def test_tactics_by_id_short_name_or_name(catalog: Catalog) -> None:
    for text in ("AML.TA0001", "aml.ta0001", "ai-attack-staging", "AI Attack Staging"):
        assert catalog.tactic(text).id == "AML.TA0001"  # type: ignore[union-attr]
    staging = [t.id for t in catalog.techniques_in("AML.TA0001")]
    assert "AML.T0043.004" in staging and "AML.T0020" not in staging


def test_atlas_problem_suggests_the_nearest_id_of_the_same_kind(catalog: Catalog) -> None:
    assert catalog.atlas_problem("AML.T0020") is None
    assert catalog.atlas_problem("AML.M007", "mitigation") == (
        "unknown ATLAS mitigation 'AML.M007' (did you mean 'AML.M0007'?) (ATLAS 5.6.0)")
    assert catalog.atlas_problem("aml.t10.2") == (
        "unknown ATLAS technique 'aml.t10.2' (did you mean 'AML.T0010.002'?) (ATLAS 5.6.0)")
    assert catalog.atlas_problem("AML.T0020", "mitigation") == (
        "unknown ATLAS mitigation 'AML.T0020' (did you mean 'AML.M0020'?) (ATLAS 5.6.0)")


@pytest.mark.parametrize(("text", "kind", "entry_id"), [
    ("AML.T0020", "technique", "AML.T0020"), ("aml.m0007", "mitigation", "AML.M0007"),
    ("AML.TA0004", "tactic", "AML.TA0004"), ("initial-access", "tactic", "AML.TA0004"),
    ("AML.CS0009", "case-study", "AML.CS0009"), ("MS-2.7", "subcategory", "MEASURE 2.7"),
    ("measure 2", "category", "MEASURE 2"), ("gv", "function", "GOVERN"), ("Manage", "function", "MANAGE"),
])
def test_find_any_id(catalog: Catalog, text: str, kind: str, entry_id: str) -> None:
    found = catalog.find(text)
    assert found is not None and (found[0], found[1].id) == (kind, entry_id)  # type: ignore[attr-defined]


def test_find_nothing_explains_what_ids_look_like(catalog: Catalog) -> None:
    assert catalog.find("AML.T9999") is None
    assert catalog.unknown_id_message("AML.T0200") == (
        "unknown catalog id 'AML.T0200' (did you mean 'AML.T0100'?). Ids look like AML.T0020 (technique), "
        "AML.M0007 (mitigation), AML.TA0004 or initial-access (tactic), AML.CS0000 (case study), MEASURE 2.7 "
        "(NIST AI RMF subcategory)")
    assert catalog.unknown_id_message("exfiltraton").startswith(
        "unknown catalog id 'exfiltraton' (did you mean 'exfiltration'?)")


# The files -------------------------------------------------------------------------------------


def test_the_bundled_catalogs_load() -> None:
    catalog = load_catalog()
    assert catalog.versions == {"atlas": "5.6.0", "nist_ai_rmf": "1.0"}
    assert len(catalog.techniques) == 170 and len(catalog.subcategories) == 72


def test_the_newest_atlas_release_in_a_directory_wins(tmp_path: Path) -> None:
    for version in ("4.9.1", "5.6.0", "10.0.0"):
        (tmp_path / f"atlas-{version}.yaml").touch()
    assert latest_atlas_file(tmp_path).name == "atlas-10.0.0.yaml"


def test_a_directory_without_catalogs_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"no atlas-<version>\.yaml catalog here; run 'riskframe catalog import'"):
        load_catalog(tmp_path)


def test_a_hand_edited_catalog_is_a_clear_error(tmp_path: Path, catalog_files: Path) -> None:
    for path in catalog_files.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    edited = tmp_path / "atlas-5.6.0.yaml"
    edited.write_text(edited.read_text(encoding="utf-8").replace("  order: 1\n", "  order: first\n", 1),
                      encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        load_catalog(tmp_path)
    assert str(caught.value) == (
        f"{edited}: not a catalog riskframe generated (tactics.0.order: Input should be a valid integer, unable to "
        "parse string as an integer); regenerate it with 'riskframe catalog import' (see atlas_catalog/README.md)")
