"""riskframe.io.terminal, and every channel through which a document's or a file's text reaches the
terminal: a forged ``Gate: PASS`` line (a newline, then ANSI sequences that move up, erase the line
and return the carriage) must never become a line of its own, and no ESC byte may reach the terminal.

Each channel is driven through the real command line on files written to ``tmp_path``.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import zipfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools.scanning.asm import Asm
from riskframe.cli import main
from riskframe.io.terminal import echo, escape

# What an attacker writes: end the line, move the cursor up, erase that line, go to column 1, and
# print a verdict of their own.
FORGED = "\n\x1b[1A\x1b[2K\rGate: PASS (fail_on: critical)"
SHOWN = "\\n\\x1b[1A\\x1b[2K\\rGate: PASS (fail_on: critical)"


def test_escape_shows_control_characters_as_escapes_and_keeps_the_rest():
    assert escape(f"ok{FORGED}") == f"ok{SHOWN}"
    assert escape("caf\u00e9 \u2192 \u6f22\u5b57 C:\\data\\raw.npz") == "caf\u00e9 \u2192 \u6f22\u5b57 C:\\data\\raw.npz"
    assert escape("\x00\x7f\x85\x9b\u202egnp.exe\u2028\ufeff\ufffe\udcff") == (
        "\\x00\\x7f\\x85\\x9b\\u202egnp.exe\\u2028\\ufeff\\ufffe\\udcff")
    assert escape("\U000e0041") == "\\U000e0041"  # a tag character (invisible)


@given(st.text())
def test_escaped_text_is_one_printable_line(text):
    shown = escape(text)
    assert shown.isprintable() and escape(shown) == shown


def test_echo_prints_each_item_on_one_line():
    stream = io.StringIO()
    echo(["Gate: FAIL (fail_on: high)", f"  - reason{FORGED}"], stream)
    echo("one", stream)
    assert stream.getvalue() == f"Gate: FAIL (fail_on: high)\n  - reason{SHOWN}\none\n"


# The channels ------------------------------------------------------------------------------------

def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def _safe(output: str) -> list[str]:
    """The output's lines, once it is known to hold no ESC or carriage return."""
    assert "\x1b" not in output and "\r" not in output
    return output.splitlines()


def _project(tmp_path: Path) -> Path:
    """Two pinned files whose pins are wrong: PIN-1 fails but is waived with a forged justification,
    PIN-2 fails, so the real gate fails; the requirement titles are forged too."""
    np.savez(tmp_path / "a.npz", X=np.ones((4, 2)), y=[0, 1, 0, 1])
    np.savez(tmp_path / "b.npz", X=np.zeros((4, 2)), y=[0, 1, 0, 1])
    (tmp_path / "pipeline.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: Pipeline
        metadata: {{name: forged}}
        stages:
          - name: ingest
            kind: data-understanding
            trust: untrusted
            artifacts:
              - {{name: a, type: files, path: a.npz, sha256: "{'0' * 64}"}}
          - name: train
            kind: model-engineering
            needs: [ingest]
            artifacts:
              - {{name: b, type: files, path: b.npz, sha256: "{'0' * 64}"}}
        """))
    expires = (date.today() + timedelta(days=90)).isoformat()
    (tmp_path / "policy.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {{name: pins}}
        requirements:
          - id: PIN-1
            title: "Pinned{FORGED.encode('unicode_escape').decode()}"
            severity: critical
            controls: [{{control: artifact-integrity}}]
            scope: {{stages: [ingest]}}
          - id: PIN-2
            title: Pinned too
            severity: critical
            controls: [{{control: artifact-integrity}}]
            scope: {{stages: [train]}}
        waivers:
          - requirement: PIN-1
            justification: "accepted{FORGED.encode('unicode_escape').decode()}"
            approved_by: ciso@example.org
            expires: {expires}
        """))
    return tmp_path


def test_a_waiver_justification_cannot_forge_the_assess_gate_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(_project(tmp_path))

    code, output = _run(capsys, "assess", "pipeline.yaml", "--policy", "policy.yaml", "--out", "out", "-q")

    lines = _safe(output)
    assert code == 1
    assert [line for line in lines if line.startswith("Gate:")] == ["Gate: FAIL (fail_on: high)"]
    waived = next(line for line in lines if line.startswith("  - PIN-1 at stage ingest"))
    assert f": accepted{SHOWN} (found now: 0 of 1 artifact match their declared sha256; " in waived


def test_a_justification_cannot_forge_a_line_of_waivers_list(tmp_path, capsys):
    _project(tmp_path)

    code, output = _run(capsys, "waivers", "list", str(tmp_path / "policy.yaml"))

    lines = _safe(output)
    assert code == 0 and len(lines) == 3
    assert lines[1].endswith(f"  accepted{SHOWN}")


def test_a_requirement_title_cannot_forge_a_line_of_policy_show(tmp_path, capsys):
    (tmp_path / "policy.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {{name: titled}}
        requirements:
          - id: R-1
            title: "Pinned{FORGED.encode('unicode_escape').decode()}"
            severity: high
            controls: [{{control: artifact-integrity}}]
        """))

    code, output = _run(capsys, "policy", "show", str(tmp_path / "policy.yaml"))

    lines = _safe(output)
    assert code == 0
    assert not any(line.startswith("Gate:") for line in lines)
    assert any(line.startswith(f"  R-1  high      Pinned{SHOWN}  [controls: artifact-integrity;") for line in lines)


def test_a_key_of_a_document_cannot_forge_a_line_of_a_located_error(tmp_path, capsys):
    key = FORGED.encode("unicode_escape").decode()
    (tmp_path / "policy.yaml").write_text(f'apiVersion: riskframe/v1\nkind: Policy\nmetadata: {{name: p, "{key}": 1}}\n'
                                          "requirements: []\n")

    code, output = _run(capsys, "validate", str(tmp_path / "policy.yaml"))

    lines = _safe(output)
    assert code == 2
    assert lines[0].startswith(f"{tmp_path}/policy.yaml:3:")
    assert f"metadata.{SHOWN}: " in lines[0]
    assert not any(line.startswith("Gate:") for line in lines)


def _zip_with_member(path: Path, member: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, Asm(2).call("os", "system", "true").stop())


def test_a_zip_member_name_cannot_repaint_an_unsafe_scan(tmp_path, capsys):
    """Before: the member name moved the cursor up and rewrote the UNSAFE line as SAFE."""
    _zip_with_member(tmp_path / "model.zip", "data.pkl\n\x1b[1A\x1b[2K\rSAFE        -        model.zip  [zip]")

    code = main(["scan-models", str(tmp_path / "model.zip")])

    lines = _safe(capsys.readouterr().out)
    assert code == 1
    assert lines[0] == f"UNSAFE      critical {tmp_path}/model.zip  [zip]"
    assert not any(line.startswith("SAFE") for line in lines)
    assert any("data.pkl\\n\\x1b[1A\\x1b[2K\\rSAFE " in line for line in lines[1:])


def test_a_file_name_cannot_forge_a_line_of_scan_models(tmp_path, capsys):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "m.pkl\nGate: PASS").write_bytes(Asm(2).call("os", "system", "true").stop())

    code = main(["scan-models", str(folder)])

    lines = _safe(capsys.readouterr().out)
    assert code == 1
    assert lines[0] == f"UNSAFE      critical {folder}/m.pkl\\nGate: PASS  [pickle]"
    assert not any(line.startswith("Gate:") for line in lines)


def test_assessment_text_cannot_forge_a_line_of_diff(tmp_path, capsys, monkeypatch):
    import json

    monkeypatch.chdir(_project(tmp_path))
    main(["assess", "pipeline.yaml", "--policy", "policy.yaml", "--out", "old", "--format", "json", "-q"])
    data = json.loads(Path("old/assessment.json").read_text())
    data["results"][1]["summary"] = f"fine{FORGED}"
    data["results"][1]["status"] = "pass"
    Path("new").mkdir()
    Path("new/assessment.json").write_text(json.dumps(data))
    capsys.readouterr()

    code, output = _run(capsys, "diff", "old/assessment.json", "new/assessment.json")

    lines = _safe(output)
    assert code == 0
    assert not any(line.startswith("Gate:") for line in lines)
    assert any(line.endswith(f"fine{SHOWN}") for line in lines)


def test_the_real_terminal_gets_no_escape_byte(tmp_path):
    """The same channel through a separate process: what reaches the file descriptor is escaped."""
    _zip_with_member(tmp_path / "model.zip", "x\x1b]0;pwned\x07.pkl")

    result = subprocess.run([sys.executable, "-m", "riskframe", "scan-models", str(tmp_path / "model.zip")],
                            capture_output=True, timeout=120)

    assert result.returncode == 1 and b"Traceback" not in result.stderr
    assert b"\x1b" not in result.stdout and b"\x07" not in result.stdout
    assert b"x\\x1b]0;pwned\\x07.pkl" in result.stdout


@pytest.mark.parametrize("member", ["\udcff.pkl"])
def test_a_name_that_is_not_utf8_is_shown_not_a_crash(tmp_path, capsys, member):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / member).write_bytes(b"\x80\x04N.")

    code = main(["scan-models", str(folder)])

    lines = _safe(capsys.readouterr().out)
    assert code == 0 and lines[0].endswith("models/\\udcff.pkl  [pickle]")
