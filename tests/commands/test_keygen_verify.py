"""``riskframe keygen``, ``riskframe assess --sign`` and ``riskframe verify`` end to end: exit codes
and the messages a person reads."""

from __future__ import annotations

import stat
import textwrap
from pathlib import Path

import pytest

from riskframe import cli
from riskframe.io.digests import sha256_path


@pytest.fixture
def run(capsys):
    """``run(*argv) -> (exit code, stdout, stderr)`` through riskframe's own ``main``."""

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A pinned file in a pipeline, a policy checking pins; the working directory is the project."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data/vendor.csv").write_text("id,label\n1,a\n2,b\n")
    pin = sha256_path(tmp_path / "data/vendor.csv")
    (tmp_path / "pipeline.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: Pipeline
        metadata: {{name: cli-demo}}
        stages:
          - name: ingest
            kind: data-understanding
            trust: untrusted
            artifacts:
              - {{name: vendor, type: files, path: data/vendor.csv, sha256: "{pin}"}}
        """))
    (tmp_path / "policy.yaml").write_text(textwrap.dedent("""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: pins}
        requirements:
          - {id: PIN-1, title: Pinned inputs match, severity: high, controls: [{control: artifact-integrity}]}
        """))
    return tmp_path


def _assess(run, *extra: str):
    return run("assess", "pipeline.yaml", "--policy", "policy.yaml", "--out", "reports", "-q", *extra)


def test_keygen_assess_sign_and_verify(run, project):
    code, out, _ = run("keygen", "--out", "keys/ci")
    assert code == 0
    assert out.splitlines()[0] == ("Private key: keys/ci.key (mode 0600; keep it secret, sign with: "
                                   "riskframe assess ... --sign keys/ci.key)")
    assert stat.S_IMODE((project / "keys/ci.key").stat().st_mode) == 0o600

    code, out, _ = _assess(run, "--sign", "keys/ci.key")
    assert code == 0
    assert out.splitlines()[-1] == ("Reports: reports/assessment.json, reports/report.md, reports/report.html, "
                                    "reports/assessment.intoto.jsonl")

    code, out, err = run("verify", "reports", "--key", "keys/ci.pub")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Verified: reports/assessment.intoto.jsonl is signed by key ")
    assert lines[0].endswith("; 7 files match their signed sha256")
    assert lines[1].startswith("Signed verdict: gate PASS (fail_on: high), risk score ")


def test_an_edited_input_fails_verification_naming_the_file(run, project):
    run("keygen", "--out", "ci")
    _assess(run, "--sign", "ci.key")
    (project / "data/vendor.csv").write_text("id,label\n1,a\n2,a\n")
    (project / "reports/report.md").write_text("# All good\n")

    code, out, err = run("verify", "reports", "--key", "ci.pub")

    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0].startswith("FAILED: reports/report.md: edited after signing (signed sha256 ")
    assert lines[1].startswith("FAILED: data/vendor.csv: edited after signing (signed sha256 ")
    assert lines[2].startswith("Verification FAILED: 2 problems (key ")


def test_a_file_added_to_the_signed_folder_fails_verification_naming_it(run, project):
    """Before: 'Verified' with a forged report beside the signed ones, as if it were vouched for."""
    run("keygen", "--out", "ci")
    _assess(run, "--sign", "ci.key", "--format", "json")
    (project / "reports/report.html").write_text("<h1>Gate: PASS</h1>\n")
    (project / "reports/extra").mkdir()
    (project / "reports/extra/riskframe.sarif").write_text("{}\n")

    code, out, err = run("verify", "reports", "--key", "ci.pub")

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "FAILED: reports/extra/riskframe.sarif: not signed: added to the assessment directory after signing "
        "(or left there by an earlier run)",
        "FAILED: reports/report.html: not signed: added to the assessment directory after signing "
        "(or left there by an earlier run)",
        err.splitlines()[-1]]
    assert err.splitlines()[-1].startswith("Verification FAILED: 2 problems (key ")


def test_another_key_fails_and_bad_usage_exits_2(run, project):
    run("keygen", "--out", "ci")
    run("keygen", "--out", "other")
    _assess(run, "--sign", "ci.key")

    code, _, err = run("verify", "reports", "--key", "other.pub")
    assert code == 1 and "signed with another key (keyid " in err

    assert run("verify", "reports", "--key", "missing.pub")[::2] == (2, "missing.pub: public key file not found\n")
    assert run("verify", "nowhere", "--key", "ci.pub")[::2] == (2, "nowhere: no such assessment directory\n")
    code, _, err = run("keygen", "--out", "ci")
    assert (code, err) == (2, "ci.key already exists; choose another --out prefix or pass --force to replace it\n")


def test_sign_refuses_before_running_anything(run, project):
    run("keygen", "--out", "ci")

    code, _, err = _assess(run, "--sign", "ci.pub")
    assert (code, err) == (2, "ci.pub: not a PEM private key (this is a public key; --sign needs the private "
                              ".key file)\n")
    code, _, err = _assess(run, "--sign", "ci.key", "--format", "md")
    assert (code, err) == (2, "--sign needs the json format: the signed statement's first subject is assessment.json\n")
    assert not (project / "reports").exists()
