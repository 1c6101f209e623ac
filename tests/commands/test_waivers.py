"""``riskframe waivers list``, ``validate`` on waivers, and ``assess --waivers`` end to end with the
built-in artifact-integrity detector on real files."""

from __future__ import annotations

import json
import textwrap
from datetime import date, timedelta

import pytest

from riskframe import cli
from riskframe.spec.inherit import display_path

TODAY = date.today()


def entry(requirement, expires, who="jane.doe@example.org", why="Vendor re-publishes the digests", extra=""):
    return (f"  - requirement: {requirement}\n    justification: {why}\n    approved_by: {who}\n"
            f"    expires: {expires}\n{extra}")


@pytest.fixture
def policies(tmp_path):
    parent = tmp_path / "base.yaml"
    parent.write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: base}
        requirements:
          - id: SC-1
            title: Vendor data is the data the vendor published
            severity: high
            controls: [{control: artifact-integrity}]
        waivers:
        """) + entry("SC-1", "2025-03-31", extra="    stage: ingest\n"))
    child = tmp_path / "team.yaml"
    child.write_text("apiVersion: riskframe/v1\nkind: Policy\nmetadata: {name: team}\nextends: [base]\nwaivers:\n"
                     + entry("SC-1", "2025-04-20", who="Jane Doe", why="Digests pinned after the audit"))
    waivers = tmp_path / "q2.yaml"
    waivers.write_text("apiVersion: riskframe/v1\nkind: Waivers\nwaivers:\n"
                       + entry("SC-1", "2025-09-01", who="ciso@example.org", why="Accepted for Q2"))
    return parent, child, waivers


def test_list_shows_every_waiver_with_its_status(policies, capsys):
    parent, child, waivers = policies
    argv = ["waivers", "list", str(child), str(parent), str(waivers), "--today", "2025-04-01", "--within", "30"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    base, team, q2 = (display_path(p) for p in policies)
    rows = [line.split() for line in out[1:-1]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("expired", "2025-03-31", "-1"), ("expiring", "2025-04-20", "19"),
                                                  ("active", "2025-09-01", "153")]
    assert out[0].split() == ["STATUS", "EXPIRES", "DAYS", "POLICY", "REQUIREMENT", "STAGE", "CONTROL", "APPROVED",
                              "BY", "SOURCE", "JUSTIFICATION"]
    assert out[1].split()[3:9] == ["team", "SC-1", "ingest", "*", "jane.doe@example.org", f"{base}:10"]
    assert out[2].split()[3:7] == ["team", "SC-1", "*", "*"] and out[2].endswith("Digests pinned after the audit")
    assert f" {team}:6 " in out[2]
    assert out[3].split()[3] == "-" and f"{q2}:4" in out[3]  # a waiver file's waiver belongs to no one policy
    assert out[-1] == "3 waivers: 1 active, 1 expiring within 30 days, 1 expired."  # base's waiver listed once


def test_list_as_json(policies, capsys):
    _, child, _ = policies
    assert cli.main(["waivers", "list", str(child), "--today", "2025-04-25", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["status"], r["days_left"], r["approved_by"]) for r in rows] == [
        ("expired", -25, "jane.doe@example.org"), ("expired", -5, "Jane Doe")]


def test_list_without_waivers_says_so(capsys):
    assert cli.main(["waivers", "list", "data-poisoning"]) == 0
    assert capsys.readouterr().out.strip() == "No waivers in data-poisoning."


def test_list_of_a_pipeline_is_a_usage_error(tmp_path, capsys):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("apiVersion: riskframe/v1\nkind: Pipeline\nmetadata: {name: p}\nstages:\n"
                        "  - {name: s, kind: deployment}\n")
    assert cli.main(["waivers", "list", str(pipeline)]) == 2
    assert capsys.readouterr().err.strip() == (f"{pipeline}: a pipeline document has no waivers; give policies or "
                                               "waiver files (kind: Waivers)")


def test_validate_refuses_an_expired_waiver_unless_allowed(policies, capsys):
    parent, _, waivers = policies
    assert cli.main(["validate", str(parent)]) == 2
    assert capsys.readouterr().err.strip().startswith(
        f"{parent}:13:5: waivers[0].expires: the waiver expired on 2025-03-31 (")
    assert cli.main(["validate", "--allow-expired", str(parent), str(waivers)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"ok: {parent} (Policy base, 1 requirement, 1 waiver)",
                                                    f"ok: {waivers} (Waivers, 1 waiver)"]


def test_validate_checks_a_waiver_file_against_the_policies_given(tmp_path, policies, capsys):
    parent, _, _ = policies
    soon = TODAY + timedelta(days=10)
    waivers = tmp_path / "w.yaml"
    waivers.write_text("apiVersion: riskframe/v1\nkind: Waivers\nwaivers:\n" + entry("SC-2", soon))
    assert cli.main(["validate", "--allow-expired", str(parent), str(waivers)]) == 2
    assert capsys.readouterr().err.strip() == (f"{waivers}:4:5: waivers[0].requirement: no requirement 'SC-2' in "
                                               "policy 'base' (did you mean 'SC-1'?)")
    waivers.write_text(waivers.read_text().replace("SC-2", "SC-1"))
    assert cli.main(["validate", str(waivers)]) == 0
    assert capsys.readouterr().out.strip() == (f"ok: {waivers} (Waivers, 1 waiver; requirements not checked: "
                                               "no policy among the files)")


PIPELINE = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {{name: vendor-feed, criticality: high}}
stages:
  - name: ingest
    kind: data-understanding
    trust: untrusted
    artifacts:
      - {{name: feed, type: files, path: feed.csv, sha256: "{digest}"}}
"""


def test_assess_with_a_waiver_file_passes_the_gate_and_reports_the_waiver(tmp_path, policies, capsys):
    parent, _, _ = policies
    (tmp_path / "feed.csv").write_text("a,b\n1,2\n")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE.format(digest="0" * 64))  # not the file's digest: the control fails
    parent.write_text(parent.read_text().split("waivers:")[0])
    out = tmp_path / "out"
    argv = ["assess", str(pipeline), "--policy", str(parent), "--out", str(out), "--format", "json,md", "-q"]
    assert cli.main(argv) == 1
    capsys.readouterr()

    waivers = tmp_path / "now.yaml"
    waivers.write_text("apiVersion: riskframe/v1\nkind: Waivers\nwaivers:\n"
                       + entry("SC-1", TODAY + timedelta(days=7), extra="    control: artifact-integrity\n"))
    assert cli.main([*argv, "--waivers", str(waivers)]) == 0
    printed = capsys.readouterr().out
    assert "Gate: PASS (fail_on: high)" in printed and "waived until" in printed
    result = json.loads((out / "assessment.json").read_text())["results"][0]
    assert result["status"] == "waived" and result["waiver"]["justification"] == "Vendor re-publishes the digests"
    assert "Vendor re-publishes the digests" in (out / "report.md").read_text()


def test_list_a_folder_of_policies_and_waiver_files(policies, tmp_path, monkeypatch, capsys):
    """Every policy and waiver file directly in the folder; its pipelines and other YAML passed over."""
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.format(digest="0" * 64))
    (tmp_path / "notes.txt").write_text("not YAML")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["waivers", "list", "./", "--today", "2025-04-01", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["source"], r["status"]) for r in rows] == [("base.yaml:10", "expired"), ("team.yaml:6", "expiring"),
                                                          ("q2.yaml:4", "active")]


def test_a_folder_without_policies_or_waivers_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "pipeline.yaml").write_text(PIPELINE.format(digest="0" * 64))
    assert cli.main(["waivers", "list", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"{tmp_path}: no policy or waiver file (kind: Policy or Waivers) in this "
                                       "folder\n")


def test_unreadable_yaml_in_a_folder_is_a_located_error_not_passed_over(policies, tmp_path, capsys):
    """It may be a policy: listing the folder without it would hide its waivers."""
    (tmp_path / "broken.yaml").write_text("kind: Policy\nwaivers: [unclosed\n")
    assert cli.main(["waivers", "list", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'broken.yaml'}:3:1: invalid YAML: ") and "Traceback" not in err


def test_a_policy_name_is_looked_up_in_the_working_directory_then_among_the_bundled(policies, tmp_path,
                                                                                    monkeypatch, capsys):
    """As docs/policies.md says: a name is NAME.yaml in the working directory, else a bundled policy;
    a policy kept in policies/ is named by its path."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "team.yaml").rename(tmp_path / "policies" / "team.yaml")
    (tmp_path / "base.yaml").rename(tmp_path / "policies" / "base.yaml")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["waivers", "list", "team"]) == 2
    assert capsys.readouterr().err.startswith(
        "team: no policy named 'team' in the current folder or among the bundled policies")
    assert cli.main(["waivers", "list", "policies/team.yaml", "--today", "2025-04-01", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    monkeypatch.chdir(tmp_path / "policies")
    assert cli.main(["waivers", "list", "team", "--today", "2025-04-01", "--format", "json"]) == 0  # team.yaml, here
    assert [r["source"] for r in json.loads(capsys.readouterr().out)] == ["base.yaml:10", "team.yaml:6"]
