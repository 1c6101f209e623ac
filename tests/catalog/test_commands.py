"""``riskframe catalog list | show | import``, run through a fresh argparse parser as the CLI runs them."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from riskframe.catalog.commands import register
from riskframe.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures"
Browse = Callable[..., tuple[int, str, str]]

CONTROL = """\
apiVersion: riskframe/v1
kind: Control
id: label-flip-screen
title: Ensure training labels show no targeted flipping
detector: label-issues
atlas: {detects: [aml.t0020], mitigates: [AML.M0007]}
nist: [MS-2.7]
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="riskframe")
    register(parser.add_subparsers())
    args = parser.parse_args(["catalog", *argv])
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def browse(catalog_files: Path, capsys: pytest.CaptureFixture[str]) -> Browse:
    """``browse("list", "--kind", "tactic")``: a list/show command on the catalogs made from the fixtures."""
    def _browse(*argv: str) -> tuple[int, str, str]:
        return run([*argv, "--catalog-dir", str(catalog_files)], capsys)
    return _browse


@pytest.fixture()
def controls(tmp_path: Path) -> Path:
    directory = tmp_path / "controls"
    directory.mkdir()
    (directory / "label-flip-screen.yaml").write_text(CONTROL, encoding="utf-8")
    return directory


# list --------------------------------------------------------------------------------------------


def test_list_prints_techniques_as_an_aligned_table(browse: Browse) -> None:
    code, out, _ = browse("list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 171
    assert re.fullmatch(r"ID +MATURITY +NAME +TACTICS", lines[0])
    assert re.search(r"^AML\.T0020 +realized +Poison Training Data +resource-development, persistence$", out, re.M)
    assert re.search(r"^AML\.T0010\.002 +realized +AI Supply Chain Compromise: Data +initial-access$", out, re.M)
    name_column = lines[0].index("NAME")
    assert all(line[name_column - 2:name_column] == "  " for line in lines[1:])


def test_list_by_tactic_accepts_id_or_short_name(browse: Browse) -> None:
    _, by_name, _ = browse("list", "--tactic", "ai-attack-staging")
    _, by_id, _ = browse("list", "--tactic", "AML.TA0001")
    assert by_name == by_id
    assert "AML.T0043.004  demonstrated  Craft Adversarial Data: Insert Backdoor Trigger" in by_name
    assert "AML.T0020" not in by_name


@pytest.mark.parametrize(("kind", "rows", "first_row"), [
    ("tactic", 16, r"AML\.TA0002 +reconnaissance +12 +Reconnaissance"),
    ("mitigation", 35, r"AML\.M0000 +Limit Public Release of Information +Policy +7 +data-understanding"),
    ("case-study", 57, r"AML\.CS0000 +exercise +6 +Evasion of Deep Learning Detector for Malware C&C Traffic"),
    ("subcategory", 72, r"GOVERN 1\.1 +Legal and regulatory requirements involving AI are understood, managed, "
                        r"and documented\."),
])
def test_list_each_kind(browse: Browse, kind: str, rows: int, first_row: str) -> None:
    _, out, _ = browse("list", "--kind", kind)
    lines = out.splitlines()
    assert len(lines) == rows + 1
    assert re.fullmatch(first_row, lines[1])


def test_list_as_json(browse: Browse) -> None:
    _, out, _ = browse("list", "--kind", "mitigation", "--format", "json")
    mitigations = {m["id"]: m for m in json.loads(out)}
    assert mitigations["AML.M0007"] == {
        "id": "AML.M0007", "name": "Sanitize Training Data", "category": ["Technical - ML"],
        "techniques": ["AML.T0010.002", "AML.T0020", "AML.T0018.000", "AML.T0059"],
        "lifecycle": ["data-understanding", "data-preparation", "monitoring"]}


def test_list_with_the_bundled_catalogs(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["list", "--kind", "tactic"], capsys)
    assert out.splitlines()[-1].split() == ["AML.TA0011", "impact", "19", "Impact"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--tactic", "imapct"], r"^unknown ATLAS tactic 'imapct' \(did you mean 'impact'\?\); tactics: reconnaissance, "),
    (["--kind", "mitigation", "--tactic", "impact"],
     r"^--tactic selects techniques; it cannot be combined with --kind mitigation$"),
])
def test_list_usage_errors(browse: Browse, argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        browse("list", *argv)


# show --------------------------------------------------------------------------------------------


def test_show_a_technique_with_everything_linked_to_it(browse: Browse, controls: Path) -> None:
    code, out, err = browse("show", "AML.T0020", "--controls", str(controls))
    assert code == 0 and err == ""
    assert out.splitlines()[:4] == [
        "AML.T0020  Poison Training Data",
        "  maturity:       realized",
        "  tactics:        AML.TA0003  Resource Development",
        "                  AML.TA0006  Persistence",
    ]
    assert "  parent:         -\n  sub-techniques: -\n" in out
    assert "                  AML.M0007  Sanitize Training Data\n" in out
    assert "  case studies:   AML.CS0002  VirusTotal Poisoning\n" in out
    assert re.search(r"  controls:       label-flip-screen  Ensure training labels show no targeted flipping\n"
                     r" +\(.*label-flip-screen\.yaml\)\n", out)
    assert out.endswith("  url:            https://atlas.mitre.org/techniques/AML.T0020\n")


def test_show_a_sub_technique_and_its_parent(browse: Browse, controls: Path) -> None:
    _, sub, _ = browse("show", "aml.t0010.002", "--controls", str(controls))
    assert sub.startswith("AML.T0010.002  AI Supply Chain Compromise: Data\n")
    assert "  parent:         AML.T0010  AI Supply Chain Compromise\n" in sub
    assert "  controls:       -\n" in sub
    _, parent, _ = browse("show", "AML.T0010", "--controls", str(controls))
    assert "  sub-techniques: AML.T0010.000  Hardware\n" in parent


def test_show_a_mitigation_with_its_stage_kinds(browse: Browse, controls: Path) -> None:
    _, out, _ = browse("show", "AML.M0007", "--controls", str(controls))
    assert out.splitlines()[:4] == [
        "AML.M0007  Sanitize Training Data",
        "  category:    Technical - ML",
        "  stage kinds: data-understanding, data-preparation, monitoring",
        "  techniques:  AML.T0010.002  AI Supply Chain Compromise: Data",
    ]
    assert "  controls:    label-flip-screen  " in out


def test_show_a_tactic_and_a_case_study(browse: Browse) -> None:
    _, tactic, _ = browse("show", "initial-access")
    assert tactic.splitlines()[:4] == [
        "AML.TA0004  Initial Access", "  shortname:  initial-access", "  order:      3",
        "  techniques: AML.T0010  AI Supply Chain Compromise  (+6 sub-techniques)"]
    _, study, _ = browse("show", "AML.CS0009")
    assert study.splitlines()[:3] == ["AML.CS0009  Tay Poisoning", "  type:       incident",
                                      "  techniques: AML.T0047  AI-Enabled Product or Service"]


def test_show_a_subcategory_in_any_accepted_spelling(browse: Browse, controls: Path) -> None:
    outputs = {browse("show", written, "--controls", str(controls))[1]
               for written in ("MEASURE 2.7", "MS-2.7", "measure-2.7")}
    assert len(outputs) == 1
    out = outputs.pop()
    assert out.splitlines()[:6] == [
        "MEASURE 2.7",
        "  also written: MS-2.7",
        "  function:     MEASURE",
        "  category:     MEASURE 2  AI systems are evaluated for trustworthy characteristics.",
        "  statement:    AI system security and resilience – as identified in the map function – are",
        "                  evaluated and documented.",
    ]
    assert "  controls:     label-flip-screen  " in out


def test_show_as_json(browse: Browse, controls: Path) -> None:
    _, out, _ = browse("show", "AML.T0020", "--format", "json", "--controls", str(controls))
    view = json.loads(out)
    assert (view["kind"], view["id"], view["maturity"]) == ("technique", "AML.T0020", "realized")
    assert view["tactics"][0] == {"id": "AML.TA0003", "name": "Resource Development",
                                  "shortname": "resource-development"}
    assert [c["id"] for c in view["controls"]] == ["label-flip-screen"]


def test_show_an_unknown_id_suggests_one(browse: Browse) -> None:
    with pytest.raises(UsageError, match=r"^unknown catalog id 'AML\.T020' \(did you mean 'AML\.T0020'\?\)\. "
                                         r"Ids look like AML\.T0020 \(technique\)"):
        browse("show", "AML.T020")
    with pytest.raises(UsageError, match=r"^unknown NIST AI RMF subcategory 'MS-9\.1'"):
        browse("show", "MS-9.1")


def test_show_survives_a_broken_control_file(browse: Browse, controls: Path) -> None:
    (controls / "broken.yaml").write_text("apiVersion: riskframe/v1\nkind: Control\nid: x\n", encoding="utf-8")
    code, out, err = browse("show", "AML.T0020", "--controls", str(controls))
    assert code == 0 and "  controls:       -\n" in out
    assert err.startswith("warning: controls not shown, a control file has errors:\n")
    assert "broken.yaml:1:1: title: required field is missing" in err


def test_show_with_a_missing_controls_directory(browse: Browse, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^--controls .*nowhere: no such directory$"):
        browse("show", "AML.T0020", "--controls", str(tmp_path / "nowhere"))


# import ------------------------------------------------------------------------------------------


def test_import_an_atlas_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["import", str(FIXTURES / "ATLAS-5.6.0-trimmed.yaml"), "--out", str(tmp_path)], capsys)
    assert code == 0
    assert out.endswith("atlas-5.6.0.yaml: ATLAS 5.6.0, 16 tactics, 30 techniques (13 sub-techniques), "
                        "3 mitigations, 2 case studies; 2 warnings\n")
    assert err.splitlines()[1].endswith("AML.M0018 ml-lifecycle[6]: a technique link (AML.T0052.001) inside the "
                                        "lifecycle list; imported as a technique this mitigation addresses")
    assert (tmp_path / "ATLAS-LICENSE.txt").read_bytes() == (FIXTURES / "ATLAS-LICENSE.txt").read_bytes()


def test_import_the_nist_core_then_browse_the_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["import", str(FIXTURES / "ATLAS-5.6.0-trimmed.yaml"), "--out", str(tmp_path)], capsys)
    code, out, _ = run(["import", str(FIXTURES / "nist-ai-rmf-1.0-core.yaml"), "--out", str(tmp_path)], capsys)
    assert code == 0
    assert out.endswith("nist-ai-rmf-1.0.yaml: NIST AI RMF 1.0, 4 functions, 19 categories, 72 subcategories\n")
    _, listing, _ = run(["list", "--catalog-dir", str(tmp_path)], capsys)
    assert len(listing.splitlines()) == 31


def test_importing_an_older_release_says_which_one_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["import", str(FIXTURES / "ATLAS-5.6.0-trimmed.yaml"), "--out", str(tmp_path)], capsys)
    _, out, err = run(["import", str(FIXTURES / "ATLAS-4.9.1-trimmed.yaml"), "--out", str(tmp_path)], capsys)
    assert out.splitlines()[1] == (f"note: atlas-5.6.0.yaml is newer and remains the ATLAS catalog riskframe uses "
                                   f"from {tmp_path}")
    assert "no technique records a maturity" in err


def test_import_copies_the_license_found_beside_the_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    release = tmp_path / "release"
    release.mkdir()
    shutil.copy(FIXTURES / "ATLAS-4.9.1-trimmed.yaml", release / "ATLAS.yaml")
    (release / "ATLAS-LICENSE.txt").write_text("Copyright 2021-2030 MITRE\n", encoding="utf-8")
    run(["import", str(release / "ATLAS.yaml"), "--out", str(tmp_path / "out")], capsys)
    assert (tmp_path / "out" / "ATLAS-LICENSE.txt").read_text(encoding="utf-8") == "Copyright 2021-2030 MITRE\n"


@pytest.mark.parametrize(("content", "message"), [
    ("kind: Policy\n", r"neither an ATLAS release \(a mapping with 'version' and 'matrices', as in ATLAS\.yaml "
                       r"of github\.com/mitre-atlas/atlas-data\) nor the NIST AI RMF Core \(a mapping with "
                       r"'functions'\)$"),
    ("matrices: [\n", r"^cannot import .*release\.yaml:2:1: invalid YAML: "),
    ("version: 5.6.0\nmatrices: []\n", r"release\.yaml: not a usable ATLAS release: 'matrices' holds no matrix$"),
])
def test_import_refuses_what_it_cannot_import(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                              message: str) -> None:
    path = tmp_path / "release.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        run(["import", str(path), "--out", str(tmp_path / "out")], capsys)


def test_import_of_a_missing_file_or_into_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match=r"nope\.yaml: file not found$"):
        run(["import", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)], capsys)
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(UsageError, match=r"^cannot write the catalog to .*a-file: "):
        run(["import", str(FIXTURES / "nist-ai-rmf-1.0-core.yaml"), "--out", str(blocker)], capsys)
