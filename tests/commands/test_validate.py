"""``riskframe validate`` on policy tests (``kind: PolicyTest``) and waiver files (``kind: Waivers``):
what the pre-commit hook hands it from a policies/ folder validates, and their mistakes are located."""

from __future__ import annotations

import json
import textwrap
from datetime import date, timedelta
from pathlib import Path

from riskframe.cli import main

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "policies/tests/fixtures/clean/pipeline.yaml"
POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: integrity}
requirements:
  - id: IN-1
    title: Data is what its source published
    severity: high
    threats: [AML.T0010.002]
    controls:
      - control: artifact-integrity
"""


def test_every_document_of_the_policies_folder_validates(capsys):
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "policies").rglob("*.yaml"))

    assert main(["validate", *(str(ROOT / f) for f in files)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"ok: {ROOT}/policies/tests/data-poisoning_test.yaml (PolicyTest data-poisoning, 4 cases for " \
           "../data-poisoning.yaml)" in out
    assert len(out.splitlines()) == len(files)


def test_a_policy_test_with_a_shape_mistake_is_located(tmp_path, capsys):
    (tmp_path / "policy.yaml").write_text(POLICY)
    test = tmp_path / "integrity_test.yaml"
    test.write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: PolicyTest
        metadata: {{name: integrity}}
        policies: [policy.yaml]
        cases:
          - name: clean
            pipeline: {CLEAN}
            expect: {{IN-1: passed}}
            gaet: pass
        """))

    assert main(["validate", str(test)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{test}:8:14: cases[0].expect.IN-1: must be one of pass, warn, fail, error, skipped, waived, "
        "not_applicable, not-assessed. Got 'passed' instead (did you mean 'pass'?).",
        f"{test}:9:5: cases[0].gaet: unknown field (did you mean 'gate'?). Allowed fields: description, expect, "
        "fail_on, gate, name, pipeline, today",
    ]


def test_a_policy_test_naming_what_does_not_exist_is_located(tmp_path, capsys):
    (tmp_path / "policy.yaml").write_text(POLICY)
    test = tmp_path / "integrity_test.yaml"
    test.write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: PolicyTest
        metadata: {{name: integrity}}
        policies: [policy.yaml, missing.yaml]
        cases:
          - name: clean
            pipeline: {CLEAN}
            expect: {{IN-2: pass, IN-1@ingset: pass}}
        """))

    assert main(["validate", str(test)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{test}:4:25: policies[1]: no policy file 'missing.yaml' next to the test file",
        f"{test}:8:14: cases[0].expect.IN-2: no requirement 'IN-2' in the policies (did you mean 'IN-1'?)",
        f"{test}:8:26: cases[0].expect.IN-1@ingset: no stage 'ingset' in pipeline {CLEAN} (did you mean "
        "'ingest'?)",
    ]


def test_a_waiver_file_validates_with_its_policy_and_its_mistakes_are_located(tmp_path, capsys):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    waivers = tmp_path / "waivers.yaml"
    expires = date.today() + timedelta(days=30)
    entry = ("  - {requirement: %s, justification: the vendor re-signs the data next week, "
             f"approved_by: Jane Doe, expires: {expires}}}\n")
    waivers.write_text("apiVersion: riskframe/v1\nkind: Waivers\nwaivers:\n" + entry % "IN-1")

    assert main(["validate", str(policy), str(waivers)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"ok: {waivers} (Waivers, 1 waiver)"

    waivers.write_text("apiVersion: riskframe/v1\nkind: Waivers\nwaivers:\n" + entry % "IN-9")
    assert main(["validate", str(policy), str(waivers)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{waivers}:4:6: waivers[0].requirement: no requirement 'IN-9' in policy 'integrity' (did you mean 'IN-1'?)"]


def test_the_schemas_of_policy_tests_and_waivers_are_printed(capsys):
    for kind, title in (("policytest", "PolicyTest"), ("waivers", "WaiverSet")):
        assert main(["schema", kind]) == 0
        schema = json.loads(capsys.readouterr().out)
        assert schema["title"] == title and schema["$schema"].endswith("/2020-12/schema")
        assert "kind" in schema["required"]


def test_the_policy_schema_takes_policies_as_written(capsys):
    """Overrides under extends: carry only what changes; a policy without extends: is complete."""
    import jsonschema
    import yaml

    assert main(["schema", "policy"]) == 0
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    as_json = lambda text: json.loads(json.dumps(yaml.safe_load(text), default=str))  # noqa: E731 (dates)
    for bundled in sorted((ROOT / "policies").glob("*.yaml")):
        assert list(validator.iter_errors(as_json(bundled.read_text()))) == [], bundled
    head = "apiVersion: riskframe/v1\nkind: Policy\nmetadata: {name: p}\n"
    override = head + "extends: [data-poisoning]\nrequirements:\n  - {id: DP-1, severity: critical}\n"
    assert list(validator.iter_errors(as_json(override))) == []
    assert list(validator.iter_errors(as_json(head + "extends: [data-poisoning]\n"))) == []
    incomplete = head + "requirements:\n  - {id: X-1, severity: critical}\n"
    assert sorted(e.message for e in validator.iter_errors(as_json(incomplete))) == [
        "'controls' is a required property", "'title' is a required property"]
    assert [e.message for e in validator.iter_errors(as_json(head))] == ["'requirements' is a required property"]


def test_a_misspelt_column_of_a_table_is_located_at_its_key(tmp_path, capsys):
    (tmp_path / "wine.csv").write_text("bottle,alcohol,cultivar\nB-1,13.2,barolo\nB-2,12.1,barbera\n")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Pipeline
        metadata: {name: wine}
        stages:
          - name: ingest
            kind: data-understanding
            artifacts:
              - {name: raw, type: dataset, path: wine.csv, labels: cultivar, id_column: botle}
        """))

    assert main(["validate", str(pipeline)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"{pipeline}:8:70: stages[0].artifacts[0].id_column: wine.csv has no column 'botle' (looked up in its "
        "header, of 3 columns); did you mean 'bottle'?")

    pipeline.write_text(pipeline.read_text().replace("botle", "bottle"))
    assert main(["validate", str(pipeline)]) == 0


PARITY = """\
apiVersion: riskframe/v1
kind: Pipeline
metadata: {name: parity}
stages:
  - name: ingest
    kind: data-understanding
    artifacts:
      - {name: raw, type: dataset, path: missing.npz}
      - {name: odd, type: dataset, path: table.xyz}
      - {name: tab, type: dataset, path: table.csv, labels: lable}
"""


def test_validate_rejects_what_assess_would_reject_located(tmp_path, capsys, monkeypatch):
    """A missing file, an unknown suffix and a misspelt column: assess stops on each, so validate does."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "table.csv").write_text("x1,x2,label\n1,2,0\n3,4,1\n")
    (tmp_path / "table.xyz").write_text("x1,x2,label\n1,2,0\n")
    (tmp_path / "pipeline.yaml").write_text(PARITY)
    assert main(["validate", "pipeline.yaml"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"pipeline.yaml:8:36: stages[0].artifacts[0].path: file not found: {tmp_path}/missing.npz",
        "pipeline.yaml:9:9: stages[0].artifacts[1].format: cannot read a dataset of format 'unknown'; declare "
        "format: npz, npy, csv, parquet or images",
        "pipeline.yaml:10:53: stages[0].artifacts[2].labels: table.csv has no column 'lable' (looked up in its "
        "header, of 3 columns); did you mean 'label'?",
    ]
    assert main(["validate", "--no-data", "pipeline.yaml"]) == 0  # documents and paths only


def test_validate_a_folder_checks_every_yaml_file_under_it(capsys):
    assert main(["validate", str(ROOT / "controls")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(list((ROOT / "controls").glob("*.yaml"))) and all(line.startswith("ok: ") for line in out)


def test_validate_a_folder_without_yaml_is_a_usage_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"{tmp_path}: a folder with no .yaml or .yml file to validate\n"
