"""Importing official ATLAS releases: what is kept, how quirks become warnings, what is refused."""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskframe.catalog.atlas_import import atlas_from_document, import_atlas, write_atlas
from riskframe.catalog.model import AtlasCatalog
from riskframe.catalog.store import catalog_dir
from riskframe.errors import CatalogImportError
from riskframe.spec.common import STAGE_KINDS
from riskframe.spec.yaml_source import parse_yaml

FIXTURES = Path(__file__).parent / "fixtures"
ATLAS_FULL = FIXTURES / "ATLAS.yaml"
ATLAS_TRIMMED = FIXTURES / "ATLAS-5.6.0-trimmed.yaml"
ATLAS_OLD_TRIMMED = FIXTURES / "ATLAS-4.9.1-trimmed.yaml"
NIST_CORE = FIXTURES / "nist-ai-rmf-1.0-core.yaml"

# The official release -------------------------------------------------------------------------


def test_the_official_release_imports_whole(atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    catalog, _ = atlas_import
    assert catalog.version == "5.6.0"
    assert catalog.source == "ATLAS.yaml"
    assert (len(catalog.tactics), len(catalog.techniques), len(catalog.mitigations), len(catalog.case_studies)) == (
        16, 170, 35, 57)
    assert sum(1 for t in catalog.techniques if t.parent) == 69


def test_its_quirks_are_warnings_naming_entry_and_line(atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    _, warnings = atlas_import
    path = str(ATLAS_FULL)
    assert warnings == [
        f"{path}:4053:7: AML.M0002 techniques[7]: links technique AML.T0043.001 twice; kept once",
        f"{path}:4172:7: AML.M0004 techniques[11]: links technique AML.T0043.001 twice; kept once",
        f"{path}:4787:7: AML.M0018 ml-lifecycle[6]: a technique link (AML.T0052.001) inside the lifecycle "
        "list; imported as a technique this mitigation addresses",
        f"{path}:5404:7: AML.M0034 ml-lifecycle[4]: a technique link (AML.T0052.001) inside the lifecycle "
        "list; imported as a technique this mitigation addresses",
    ]


def test_tactics_keep_matrix_order_and_navigator_short_names(atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    tactics = atlas_import[0].tactics
    assert [t.order for t in tactics] == list(range(1, 17))
    assert [(t.id, t.shortname) for t in tactics[:4]] == [
        ("AML.TA0002", "reconnaissance"), ("AML.TA0003", "resource-development"),
        ("AML.TA0004", "initial-access"), ("AML.TA0000", "ai-model-access")]
    staging = next(t for t in tactics if t.id == "AML.TA0001")
    assert (staging.name, staging.shortname, staging.order) == ("AI Attack Staging", "ai-attack-staging", 13)


def test_a_technique_keeps_tactics_and_maturity(atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    poison = _by_id(atlas_import[0].techniques, "AML.T0020")
    assert (poison.name, poison.tactics, poison.maturity, poison.parent) == (
        "Poison Training Data", ["AML.TA0003", "AML.TA0006"], "realized", None)


def test_sub_techniques_name_their_parent_and_inherit_its_tactics(
        atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    techniques = {t.id: t for t in atlas_import[0].techniques}
    data = techniques["AML.T0010.002"]
    assert (data.name, data.parent, data.maturity) == ("Data", "AML.T0010", "realized")
    # The release lists tactics on top-level techniques only; every sub-technique sits under its parent's.
    for sub in techniques.values():
        if sub.parent:
            assert sub.tactics == techniques[sub.parent].tactics, sub.id


def test_a_technique_link_inside_the_lifecycle_list_is_kept_as_a_link(
        atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    training = _by_id(atlas_import[0].mitigations, "AML.M0018")
    assert training.techniques[-1] == "AML.T0052.001"
    assert training.lifecycle == list(STAGE_KINDS)
    assert training.category == ["Policy"]


def test_mitigations_map_lifecycle_to_stage_kinds_in_lifecycle_order(
        atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    sanitize = _by_id(atlas_import[0].mitigations, "AML.M0007")
    assert sanitize.lifecycle == ["data-understanding", "data-preparation", "monitoring"]
    assert "AML.T0020" in sanitize.techniques
    assert len(set(_by_id(atlas_import[0].mitigations, "AML.M0002").techniques)) == len(
        _by_id(atlas_import[0].mitigations, "AML.M0002").techniques)


def test_case_studies_keep_type_and_the_techniques_of_their_procedure(
        atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    tay = _by_id(atlas_import[0].case_studies, "AML.CS0009")
    assert (tay.name, tay.type) == ("Tay Poisoning", "incident")
    assert "AML.T0020" in tay.techniques
    assert len(tay.techniques) == len(set(tay.techniques))


# Older release -------------------------------------------------------------------------------


def test_an_older_release_without_maturity_imports_with_one_warning_for_it() -> None:
    catalog, warnings = import_atlas(ATLAS_OLD_TRIMMED)
    assert catalog.version == "4.9.1"
    assert len(catalog.tactics) == 15
    assert all(t.maturity is None for t in catalog.techniques)
    path = str(ATLAS_OLD_TRIMMED)
    assert warnings == [
        f"{path}:326:3: matrices[0].techniques: no technique records a maturity (older releases did not); "
        "maturity is left unknown",
        f"{path}:582:7: AML.M0016 ml-lifecycle[3]: a technique link (AML.T0018.001) inside the lifecycle list; "
        "imported as a technique this mitigation addresses",
        f"{path}:585:7: AML.M0016 ml-lifecycle[4]: a technique link (AML.T0018.002) inside the lifecycle list; "
        "imported as a technique this mitigation addresses",
    ]
    scanning = _by_id(catalog.mitigations, "AML.M0016")
    assert scanning.techniques == ["AML.T0011.000", "AML.T0018.001", "AML.T0018.002"]
    assert scanning.lifecycle == ["model-engineering", "deployment", "monitoring"]


def test_the_pre_matrices_layout_imports(tmp_path: Path) -> None:
    data = _trimmed()
    matrix = data.pop("matrices")[0]
    data.update(tactics=matrix["tactics"], techniques=matrix["techniques"])
    catalog, _ = import_atlas(_write(tmp_path, data))
    assert len(catalog.techniques) == 30
    assert catalog.mitigations == []


# Quirks that are not in the official files (yet) ------------------------------------------


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: _matrix(d)["techniques"].append(copy.deepcopy(_matrix(d)["techniques"][0])),
     r"AML\.T0016 id: defined again \(first at line \d+\); the second definition is skipped"),
    (lambda d: _entry(d, "techniques", "AML.T0020")["tactics"].append("AML.TA0099"),
     r"AML\.T0020 tactics\[2\]: names tactic 'AML\.TA0099', which this release does not define"),
    (lambda d: _entry(d, "techniques", "AML.T0010.002").update({"subtechnique-of": "AML.T0999"}),
     r"AML\.T0010\.002 subtechnique-of: parent 'AML\.T0999' is not a technique of this release; "
     r"imported without a parent"),
    (lambda d: _entry(d, "mitigations", "AML.M0007")["techniques"].append({"id": "AML.T0200"}),
     r"AML\.M0007 techniques\[4\]: names technique 'AML\.T0200', which this release does not define "
     r"\(did you mean 'AML\.T0020'\?\); link dropped"),
    (lambda d: _entry(d, "mitigations", "AML.M0007")["ml-lifecycle"].append("Data Preperation"),
     r"AML\.M0007 ml-lifecycle\[3\]: unknown ML lifecycle phase 'Data Preperation' "
     r"\(did you mean 'Data Preparation'\?\); skipped"),
    (lambda d: _entry(d, "techniques", "AML.T0020").update(maturity="likely"),
     r"AML\.T0020 maturity: unknown maturity 'likely' .*left unknown"),
    (lambda d: _entry(d, "techniques", "AML.T0020").pop("name"),
     r"AML\.T0020 name: missing or empty name; entry skipped"),
    (lambda d: _matrix(d)["mitigations"].append("AML.M0099"),
     r"matrices\[0\]\.mitigations\[3\]: expected a mitigation mapping, got text; skipped"),
    (lambda d: _entry(d, "techniques", "AML.T0020").update(id="T0020"),
     r"matrices\[0\]\.techniques\[8\]\.id: 'T0020' is not an ATLAS technique id; entry skipped"),
])
def test_unsound_entries_and_links_become_warnings(tmp_path: Path, mutate: Any, expected: str) -> None:
    data = _trimmed()
    mutate(data)
    catalog, warnings = import_atlas(_write(tmp_path, data))
    assert any(re.search(expected, w) for w in warnings), warnings
    _assert_consistent(catalog)


# Refused --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "expected"), [
    ("- just\n- a list\n", r"not a MITRE ATLAS release: expected a mapping with 'version' and 'matrices' "
                           r"\(the ATLAS\.yaml of github\.com/mitre-atlas/atlas-data\); found a list"),
    ("id: ATLAS\nversion: 5.6.0\nmatrices: []\n", r"not a usable ATLAS release: 'matrices' holds no matrix"),
    ("matrices: [{id: ATLAS, techniques: []}]\n", r"'version' must be a release number such as 5\.6\.0\. "
                                                  r"Got None instead\."),
    ("version: ../../etc\nmatrices: [{id: ATLAS}]\n", r"'version' must be a release number"),
    ("version: 1.0\nmatrices: [{id: ATLAS, tactics: [], techniques: []}]\n", r"it defines no techniques"),
    ("matrices: [\n", r"invalid YAML"),
])
def test_a_file_that_is_not_an_atlas_release_is_refused(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "ATLAS.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogImportError, match=expected):
        import_atlas(path)


def test_the_nist_core_is_not_taken_for_atlas() -> None:
    with pytest.raises(CatalogImportError, match=r"not a MITRE ATLAS release: .*found keys framework, version, "
                                                  r"functions"):
        import_atlas(NIST_CORE)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogImportError, match=r"cannot import .*nope\.yaml: file not found"):
        import_atlas(tmp_path / "nope.yaml")


# Fuzzing: whatever the file says, the import is refused or consistent ---------------------


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=12),
    st.sampled_from(["AML.T0020", "AML.T0010", "AML.TA0003", "AML.M0007", "Deployment", "realized", "AML.T0099"]),
    st.lists(st.sampled_from(["AML.T0020", "AML.TA0006", "Deployment", "x"]), max_size=3),
    st.lists(st.lists(st.integers(), max_size=2), min_size=1, max_size=2),
    st.dictionaries(st.sampled_from(["id", "name", "use"]), st.text(max_size=8), max_size=2),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data(), edits=st.integers(min_value=1, max_value=4))
def test_any_edit_of_a_release_imports_consistently_or_is_refused(draw: st.DataObject, edits: int) -> None:
    data = _small_release()
    for _ in range(edits):
        # sampled from the slots that exist now, so every field, entry and link is as likely a target
        container, key = draw.draw(st.sampled_from(list(_slots(data))))
        if draw.draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw.draw(_VALUES)
    try:
        catalog, warnings = atlas_from_document(parse_yaml(yaml.safe_dump(data, sort_keys=False), "fuzz.yaml"))
    except CatalogImportError:
        return
    assert all(w.startswith("fuzz.yaml") for w in warnings)
    _assert_consistent(catalog)
    with tempfile.TemporaryDirectory() as out:
        written = write_atlas(catalog, out)
        assert AtlasCatalog.model_validate(yaml.safe_load(written.read_text(encoding="utf-8"))) == catalog


# The committed catalog -------------------------------------------------------------------------


def test_the_committed_catalog_is_what_the_importer_makes_of_the_official_release(
        tmp_path: Path, atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    written = write_atlas(atlas_import[0], tmp_path)
    committed = catalog_dir() / written.name
    assert committed.read_text(encoding="utf-8") == written.read_text(encoding="utf-8"), (
        f"{committed} differs from the import of {ATLAS_FULL}; regenerate it (atlas_catalog/README.md)")
    assert (catalog_dir() / "ATLAS-LICENSE.txt").read_bytes() == (FIXTURES / "ATLAS-LICENSE.txt").read_bytes()


def test_the_written_catalog_has_no_prose_and_carries_the_license(
        tmp_path: Path, atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    written = write_atlas(atlas_import[0], tmp_path)
    text = written.read_text(encoding="utf-8")
    assert written.name == "atlas-5.6.0.yaml"
    assert text.startswith("# MITRE ATLAS 5.6.0: tactics, techniques, mitigations, case studies (ids, names, links).\n"
                           "# Generated by 'riskframe catalog import ATLAS.yaml'; do not edit by hand.\n")
    assert "description" not in text and "summary" not in text and "use:" not in text
    assert len(text) < ATLAS_FULL.stat().st_size / 8
    assert (tmp_path / "ATLAS-LICENSE.txt").read_text(encoding="utf-8").startswith("Copyright 2021-2025 MITRE")


def test_writing_keeps_a_license_already_there(tmp_path: Path, atlas_import: tuple[AtlasCatalog, list[str]]) -> None:
    (tmp_path / "ATLAS-LICENSE.txt").write_text("the newer release's license\n", encoding="utf-8")
    write_atlas(atlas_import[0], tmp_path)
    assert (tmp_path / "ATLAS-LICENSE.txt").read_text(encoding="utf-8") == "the newer release's license\n"


# helpers ------------------------------------------------------------------------------------


def _by_id(entries: list[Any], entry_id: str) -> Any:
    return next(e for e in entries if e.id == entry_id)


def _trimmed() -> dict[str, Any]:
    with ATLAS_TRIMMED.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return data


def _small_release() -> dict[str, Any]:
    """The trimmed release without its prose: quick to dump and parse a few dozen times."""
    data = _trimmed()
    for entries in (*_matrix(data).values(), data["case-studies"]):
        for entry in entries if isinstance(entries, list) else []:
            for key in ("description", "summary", "references", "ATT&CK-reference", "created_date", "modified_date",
                        "incident-date", "target", "actor", "reporter"):
                entry.pop(key, None)
            for link in entry.get("techniques", []) if isinstance(entry.get("techniques"), list) else []:
                link.pop("use", None)
            for step in entry.get("procedure", []):
                step.pop("description", None)
    return data


def _matrix(data: dict[str, Any]) -> dict[str, Any]:
    return data["matrices"][0]  # type: ignore[no-any-return]


def _entry(data: dict[str, Any], section: str, entry_id: str) -> dict[str, Any]:
    return next(e for e in _matrix(data)[section] if e["id"] == entry_id)


def _write(directory: Path, data: dict[str, Any]) -> Path:
    path = directory / "ATLAS.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _slots(node: Any) -> Any:
    """Every (container, key) below ``node``: the places an edit can land."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in list(items):
        yield node, key
        yield from _slots(child)


def _assert_consistent(catalog: AtlasCatalog) -> None:
    """What 'import what is sound' promises: every id unique, every link resolves."""
    tactics = {t.id for t in catalog.tactics}
    techniques = {t.id: t for t in catalog.techniques}
    for entries in (catalog.tactics, catalog.techniques, catalog.mitigations, catalog.case_studies):
        ids = [e.id for e in entries]
        assert len(ids) == len(set(ids))
    for technique in techniques.values():
        assert set(technique.tactics) <= tactics
        if technique.parent:
            assert techniques[technique.parent].parent is None
    for mitigation in catalog.mitigations:
        assert set(mitigation.techniques) <= set(techniques)
        assert len(mitigation.techniques) == len(set(mitigation.techniques))
        assert set(mitigation.lifecycle) <= set(STAGE_KINDS)
    for study in catalog.case_studies:
        assert set(study.techniques) <= set(techniques)
