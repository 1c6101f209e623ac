"""riskframe scan-models: JSON shape, text output, exit codes, and nothing ever run."""

from __future__ import annotations

import argparse
import json
import pickle

import numpy as np
import pytest

from devtools.scanning.asm import Asm
from riskframe.commands import scan_models
from riskframe.errors import UsageError


def _cli(*argv: str) -> int:
    """The command's own parser and handler (errors propagate, as riskframe.cli.main sees them)."""
    parser = argparse.ArgumentParser(prog="riskframe")
    scan_models.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["scan-models", *argv])
    return int(args.handler(args))


@pytest.fixture
def models(tmp_path):
    folder = tmp_path / "models"
    (folder / "vendor").mkdir(parents=True)
    canary = tmp_path / "CANARY"
    (folder / "vendor" / "evil.pt").write_bytes(Asm(2).call("os", "system", f"touch {canary}").stop())
    (folder / "good.pkl").write_bytes(pickle.dumps({"w": np.ones(3)}))
    (folder / "notes.txt").write_text("from a vendor\n")
    return folder, canary


def test_json_lists_every_file_with_its_findings_and_exits_1(models, capsys):
    folder, canary = models

    code = _cli(str(folder), "--format", "json")

    report = json.loads(capsys.readouterr().out)
    assert code == 1 and not canary.exists()
    assert [(f["path"].removeprefix(str(folder) + "/"), f["verdict"]) for f in report["files"]] == [
        ("good.pkl", "safe"), ("notes.txt", "unsupported"), ("vendor/evil.pt", "unsafe")]
    evil = report["files"][2]
    assert {k: evil[k] for k in ("format", "verdict", "severity")} == {
        "format": "pickle", "verdict": "unsafe", "severity": "critical"}
    assert list(evil["findings"][0]) == ["global", "offset", "severity", "reason"]
    assert (evil["findings"][0]["global"], evil["findings"][0]["offset"]) == ("os.system", 2)
    assert report["summary"] == {"files": 3, "safe": 1, "unsafe": 1, "unsupported": 1,
                                 "findings": {"critical": 1, "high": 0, "medium": 0, "low": 0}, "worst": "critical"}


def test_text_output_shows_one_line_per_file_and_the_findings(models, capsys):
    folder, _ = models

    assert _cli(str(folder / "vendor" / "evil.pt"), str(folder / "good.pkl")) == 1

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"UNSAFE      critical {folder}/vendor/evil.pt  [pickle]"
    assert lines[1].startswith("    critical os.system at byte 2: runs operating-system commands")
    assert lines[2] == f"SAFE        -        {folder}/good.pkl  [pickle]"
    assert lines[-1] == "2 files: 1 safe, 1 unsafe, 0 unsupported (1 critical)"


def test_safe_files_exit_0_and_unsupported_ones_exit_3_unless_allowed(models, capsys):
    folder, _ = models

    assert _cli(str(folder / "good.pkl")) == 0
    assert _cli(str(folder / "good.pkl"), str(folder / "notes.txt")) == 3
    assert _cli(str(folder / "good.pkl"), str(folder / "notes.txt"), "--allow-unsupported") == 0
    assert _cli(str(folder / "good.pkl"), str(folder / "notes.txt"), "--strict") == 3  # the old flag: now the default
    assert _cli(str(folder), "--allow-unsupported") == 1  # unsafe wins


def test_the_help_names_every_exit_code(capsys):
    from riskframe import cli

    with pytest.raises(SystemExit):
        cli.main(["scan-models", "--help"])

    text = " ".join(capsys.readouterr().out.split())
    assert ("Exit codes: 0 every file is safe; 1 a file is unsafe; 2 bad usage; 3 no file is unsafe, but nothing "
            "vouches for one (unsupported).") in text
    assert "--allow-unsupported" in text and "--strict" not in text


def test_allow_trusts_a_site_class(tmp_path, capsys):
    (tmp_path / "m.pkl").write_bytes(Asm(2).call("mypackage.models", "Net").stop())

    assert _cli(str(tmp_path / "m.pkl")) == 1
    assert _cli(str(tmp_path / "m.pkl"), "--allow", "mypackage.models.Net") == 0


def test_a_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=rf"^riskframe scan-models: no such file or folder: {tmp_path}/nope$"):
        _cli(str(tmp_path / "nope"))


def test_through_the_real_cli_a_missing_path_exits_2(tmp_path, capsys):
    from riskframe import cli

    assert cli.main(["scan-models", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"riskframe scan-models: no such file or folder: {tmp_path}/nope"
    (tmp_path / "w.pkl").write_bytes(pickle.dumps([1]))
    assert cli.main(["scan-models", str(tmp_path / "w.pkl"), "--format", "json"]) == 0


def test_one_file_is_counted_in_the_singular_and_a_finding_without_offset_has_no_at(tmp_path, capsys):
    from devtools.scanning.corpus_files import keras_bytes

    lambda_layer = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                    "config": {"name": "lambda", "arguments": {}, "function": "identity"}}
    (tmp_path / "model.keras").write_bytes(keras_bytes([lambda_layer]))

    assert _cli(str(tmp_path / "model.keras")) == 1

    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == ("    high     config.json: keras.layers.Lambda: config.json holds a Lambda layer: its Python "
                        "function is rebuilt from the file on load")
    assert lines[-1] == "1 file: 0 safe, 1 unsafe, 0 unsupported (1 high)"


def test_a_fifo_is_refused_or_passed_over_never_read(tmp_path, capsys):
    """Reading a FIFO blocks for ever: given, it is a usage error; in a folder, it is not a file to scan."""
    import os

    from riskframe import cli

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "w.pkl").write_bytes(pickle.dumps([1]))
    assert cli.main(["scan-models", str(tmp_path / "pipe")]) == 2
    assert capsys.readouterr().err.strip() == f"riskframe scan-models: not a regular file or folder: {tmp_path}/pipe"
    assert cli.main(["scan-models", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 file: 1 safe, 0 unsafe, 0 unsupported (no findings)"


def test_a_file_that_cannot_be_read_is_its_own_result_not_a_lost_report(tmp_path, capsys):
    """A symlink to /proc/self/mem opens but every read fails: that file is unsupported, the rest is reported."""
    from riskframe import cli

    (tmp_path / "w.pkl").write_bytes(pickle.dumps([1]))
    (tmp_path / "evil.pkl").write_bytes(Asm(2).call("os", "system", "true").stop())
    (tmp_path / "mem.bin").symlink_to("/proc/self/mem")

    assert cli.main(["scan-models", str(tmp_path), "--format", "json"]) == 1

    files = {f["path"].removeprefix(f"{tmp_path}/"): f for f in json.loads(capsys.readouterr().out)["files"]}
    assert {name: f["verdict"] for name, f in files.items()} == {
        "evil.pkl": "unsafe", "mem.bin": "unsupported", "w.pkl": "safe"}
    assert files["mem.bin"]["format"] == "unreadable"
    assert files["mem.bin"]["notes"][0].startswith("cannot be read (the data cannot be read past byte 0 (OSError: ")
    assert cli.main(["scan-models", str(tmp_path / "mem.bin"), str(tmp_path / "w.pkl")]) == 3
