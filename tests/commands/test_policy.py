"""``riskframe policy show`` and ``riskframe validate`` on policies that extend others."""

from __future__ import annotations

import json
import textwrap

import pytest

from riskframe import cli
from riskframe.spec.inherit import display_path


@pytest.fixture
def child(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: team, version: 2.0.0}
        extends: [data-poisoning]
        exclude:
          - {id: DP-2, reason: The vendor audits outliers}
        risk_appetite: {fail_on: medium}
        requirements:
          - id: DP-1
            severity: critical
            controls:
              - control: label-flip-screen
                with: {max_poison_fraction: 0.01}
        """))
    return path


def test_show_resolved_prints_every_value_with_its_file_and_line(child, capsys):
    assert cli.main(["policy", "show", str(child), "--resolved"]) == 0
    out = capsys.readouterr().out.splitlines()
    bundled, mine = "policies/data-poisoning.yaml", display_path(child)
    assert out[:4] == [
        "# The effective policy team, from 2 files (each applied over the ones before):",
        f"#   {bundled}",
        f"#   {mine}",
        "# Every value is followed by the file and line it came from ('default': no file sets it).",
    ]
    lines = {line.split("#")[0].strip(): line.rsplit("# ", 1)[1] for line in out[5:] if "# " in line}
    assert lines["- id: DP-1"] == f"{bundled}:34"
    assert lines["severity: critical"] == f"{mine}:10"
    assert lines["title: Training labels show no targeted or random flipping"] == f"{bundled}:35"
    assert lines["max_poison_fraction: 0.01"] == f"{mine}:13"
    assert lines["reason: The vendor audits outliers"] == f"{mine}:6"
    assert lines["fail_on: medium"] == f"{mine}:7"
    assert lines["max_waiver_days: 365"] == "default"
    assert not any("anomalous samples" in text for text in lines)  # DP-2's title: excluded


def test_show_summarises_lineage_requirements_and_exclusions(child, capsys):
    assert cli.main(["policy", "show", str(child)]) == 0
    out = capsys.readouterr().out
    mine = display_path(child)
    assert out.splitlines()[:3] == [
        f"Policy team 2.0.0 ({mine})",
        f"  extends: data-poisoning (applied in order: policies/data-poisoning.yaml -> {mine})",
        "  gate: fails at medium risk or above; waivers run at most 365 days",
    ]
    assert (f"  DP-1  critical  Training labels show no targeted or random flipping  [controls: label-flip-screen; "
            f"policies/data-poisoning.yaml:34, overridden at {mine}:9]") in out
    assert f"  DP-2: The vendor audits outliers [{mine}:6]" in out


def test_show_json_maps_every_field_to_its_source(child, capsys):
    assert cli.main(["policy", "show", str(child), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data["policy"]["requirements"]] == ["DP-1", "DP-3"]
    assert data["sources"]["requirements[0].severity"] == f"{display_path(child)}:10:5"
    assert data["sources"]["requirements[1].title"] == "policies/data-poisoning.yaml:55:5"
    assert data["files"] == ["policies/data-poisoning.yaml", display_path(child)]


def test_show_a_bundled_policy_by_name(capsys):
    assert cli.main(["policy", "show", "data-poisoning"]) == 0
    assert capsys.readouterr().out.startswith("Policy data-poisoning 1.0.0 (policies/data-poisoning.yaml)")


def test_show_a_broken_chain_exits_2_with_the_located_error(child, capsys):
    child.write_text(child.read_text().replace("[data-poisoning]", "[data-poison]"))
    assert cli.main(["policy", "show", str(child)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"{child}:4:11: extends[0]: no policy named 'data-poison' next to this file or among the bundled policies "
        "(did you mean 'data-poisoning'?)")


def test_show_an_unknown_name_on_the_command_line_names_the_current_folder(capsys):
    assert cli.main(["policy", "show", "data-poisonin"]) == 2
    assert capsys.readouterr().err.strip() == (
        "data-poisonin: no policy named 'data-poisonin' in the current folder or among the bundled policies "
        "(did you mean 'data-poisoning'?)")


def test_validate_resolves_extends(child, capsys):
    assert cli.main(["validate", str(child)]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {child} (Policy team, 2 requirements, extends data-poisoning)"


def test_validate_reports_a_bad_override_against_the_detector_in_the_child(child, capsys):
    child.write_text(child.read_text().replace("max_poison_fraction: 0.01", "max_poison_fraction: 1.5"))
    assert cli.main(["validate", str(child)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"{child}:13:16: requirements[0].controls[0].with.max_poison_fraction: must be a number in [0, 1]. "
        "Got 1.5 instead.")
