"""``riskframe test``: the policy tests shipped in policies/tests pass; failing and invalid cases are
reported the way a policy author needs them."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from riskframe import cli
from riskframe.engine.policy_tests import find_test_files

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "policies/tests/fixtures"

# Only the digest check: a real detector that reads files but trains nothing, so these cases are fast.
INTEGRITY_POLICY = """\
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


def write_test(folder: Path, cases: str, policies: str = "[policy.yaml]") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.yaml").write_text(INTEGRITY_POLICY)
    path = folder / "integrity_test.yaml"
    path.write_text("apiVersion: riskframe/v1\nkind: PolicyTest\nmetadata: {name: integrity}\n"
                    f"policies: {policies}\ncases:\n" + textwrap.indent(textwrap.dedent(cases), "  "))
    return path


@pytest.mark.slow  # over 3 s (issue 13's fast lane)
def test_the_shipped_policy_tests_pass(capsys):
    assert cli.main(["test", str(ROOT / "policies/tests")]) == 0
    lines = [re.sub(r" \(\d+\.\d+s\)$", "", line) for line in capsys.readouterr().out.splitlines()]
    assert [lines[0], lines[4], lines[9]] == [
        f"{ROOT / 'policies/tests'}/{name}_test.yaml" for name in ("backdoor", "data-poisoning", "supply-chain")]
    assert lines[5:9] == [
        "  PASS  clean data from the vendor passes every requirement",
        "  PASS  a fifth of the 7s relabelled as 1s fails the label check and the gate",
        "  PASS  noise images labelled 3 fail the outlier check, a medium finding the gate lets through",
        "  PASS  data edited after its digest was pinned fails the integrity check and the gate",
    ]
    assert all(line.startswith("  PASS  ") for line in [*lines[1:4], *lines[10:14]])
    assert lines[14:] == ["11 cases: 11 passed, 0 failed"]


def test_a_failing_case_shows_what_moved_and_why(tmp_path, capsys):
    path = write_test(tmp_path, f"""\
        - name: tampered data passes
          pipeline: {FIXTURES / 'tampered/pipeline.yaml'}
          expect: {{IN-1: [pass, warn]}}
          gate: pass
        - name: clean data passes
          pipeline: {FIXTURES / 'clean/pipeline.yaml'}
          expect: {{IN-1@ingest: pass}}
        """)
    assert cli.main(["test", str(path), "-v"]) == 1
    out = [re.sub(r" \(\d+\.\d+s\)$", "", line) for line in capsys.readouterr().out.splitlines()]
    assert out[1:3] == ["  FAIL  tampered data passes", "        IN-1: expected pass or warn, got fail"]
    assert out[3].startswith("          - IN-1/ingest/artifact-integrity: fail: 0 of 1 artifact match their "
                             "declared sha256")
    assert out[4:] == ["        gate: expected pass, got fail", "  PASS  clean data passes",
                       "        IN-1@ingest: pass", "2 cases: 1 passed, 1 failed"]
    assert cli.main(["test", str(path), "--run", "^clean"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 case: 1 passed, 0 failed"


def test_every_mistake_in_a_test_file_is_located_before_anything_runs(tmp_path, capsys):
    path = write_test(tmp_path, f"""\
        - name: one
          pipeline: {FIXTURES / 'clean/pipeline.yaml'}
          expect: {{IN-2: pass, IN-1@ingset: pass}}
        - name: one
          pipeline: missing.yaml
          gate: pass
        - name: two
          pipeline: {FIXTURES / 'clean/pipeline.yaml'}
          expect: {{IN-1: passed}}
        - name: three
          pipeline: {FIXTURES / 'clean/pipeline.yaml'}
        """)
    assert cli.main(["test", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}:14:14: cases[2].expect.IN-1: must be one of pass, warn, fail, error, skipped, waived, "
        "not_applicable, not-assessed. Got 'passed' instead (did you mean 'pass'?).",
        f"{path}:15:5: cases[3]: a case needs `expect:` (statuses by requirement), `gate:`, or both",
    ]
    # Shape first; once the shape is right, the references.
    fixed = path.read_text().replace("IN-1: passed", "IN-1: pass").replace(
        "  - name: three\n", "  - name: three\n    gate: pass\n")
    path.write_text(fixed)
    assert cli.main(["test", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:8:14: cases[0].expect.IN-2: no requirement 'IN-2' in the policies (did you mean 'IN-1'?)",
        f"{path}:8:26: cases[0].expect.IN-1@ingset: no stage 'ingset' in pipeline "
        f"{FIXTURES / 'clean/pipeline.yaml'} (did you mean 'ingest'?)",
        f"{path}:9:5: cases[1].name: case name already used by cases[0]",
        f"{path}:10:5: cases[1].pipeline: no pipeline file 'missing.yaml' next to the test file",
    ]


def test_a_case_that_cannot_run_is_an_error_not_a_failure(tmp_path, capsys):
    fixture = tmp_path / "fixture"
    fixture.mkdir()
    (fixture / "pipeline.yaml").write_text((FIXTURES / "clean/pipeline.yaml").read_text())  # no raw.npz beside it
    path = write_test(tmp_path, f"""\
        - name: data went missing
          pipeline: {fixture / 'pipeline.yaml'}
          gate: pass
        """)
    assert cli.main(["test", str(path)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"  ERROR data went missing \(\d+\.\d+s\)", out[1])
    assert out[2] == (f"        {fixture / 'pipeline.yaml'}:12:36: stages[0].artifacts[0].path: file not found: "
                      f"{fixture / 'raw.npz'}")
    assert out[-1] == "1 case: 0 passed, 0 failed, 1 could not run"


def test_only_policy_test_documents_are_collected():
    assert find_test_files(ROOT / "policies") == [
        ROOT / f"policies/tests/{name}_test.yaml" for name in ("backdoor", "data-poisoning", "supply-chain")]
    with pytest.raises(Exception, match="no such file or folder"):
        find_test_files(ROOT / "policies/nope")
