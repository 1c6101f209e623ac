"""riskframe mlflow tag: what it refuses before it writes anything (the round trip with a real MLflow
server is in tests/detectors/provenance/test_registry_approval.py)."""

from __future__ import annotations

import pytest

from riskframe import cli


def test_an_alias_is_refused_before_anything_is_read(tmp_path, capsys):
    code = cli.main(["mlflow", "tag", "models:/digits@champion", str(tmp_path / "missing.json")])

    assert code == 2
    assert capsys.readouterr().err == ("riskframe mlflow tag: 'models:/digits@champion' is not an exact model version; "
                                       "write models:/NAME/VERSION (an alias moves, an approval must not)\n")


def test_a_file_that_is_not_an_assessment_is_a_located_error(tmp_path, capsys):
    (tmp_path / "assessment.json").write_text("{not json")

    code = cli.main(["mlflow", "tag", "models:/digits/1", str(tmp_path / "assessment.json")])

    assert code == 2
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'assessment.json'}:1:2: not valid JSON")


def test_the_command_needs_a_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["mlflow"])

    assert exit_.value.code == 2
    assert "riskframe mlflow: error: the following arguments are required: COMMAND" in capsys.readouterr().err
