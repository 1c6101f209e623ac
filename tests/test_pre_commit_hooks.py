"""The pre-commit hook riskframe offers (.pre-commit-hooks.yaml): its shape, and that the files it
selects in this repository are the riskframe documents and pass ``riskframe validate``."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from riskframe.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _hook() -> dict:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return hook


def test_the_hook_runs_riskframe_validate_on_all_files_at_once() -> None:
    hook = _hook()
    assert hook["id"] == "riskframe-validate"
    assert hook["entry"] == "riskframe validate --no-data" and hook["language"] == "python"
    assert hook["require_serial"] is True and hook["types"] == ["yaml"]
    assert set(hook) <= {"id", "name", "description", "entry", "language", "types", "files", "require_serial"}


def test_its_files_are_the_riskframe_documents_and_they_validate(tmp_path, capsys) -> None:
    pattern = re.compile(_hook()["files"])
    for path in ("policies/prod.yaml", "ml/controls/extra.yml", "pipeline.yaml", "svc/pipeline-prod.yaml"):
        assert pattern.search(path), path
    for path in (".github/workflows/ci.yaml", "docker-compose.yaml", "config/pipelines.txt", "mkdocs.yml"):
        assert not pattern.search(path), path
    # A repository laid out as docs/ci.md suggests: the hook picks its documents and they validate.
    tiny = ROOT / "tests/reports/fixtures/tiny-pipeline"
    files = {
        "policies/integrity.yaml": (tiny / "policy.yaml").read_text(),
        "controls/artifact-integrity.yaml": (ROOT / "controls/artifact-integrity.yaml").read_text(),
        "pipeline.yaml": (tiny / "pipeline.yaml").read_text(),
        ".github/workflows/ci.yaml": "on: push\njobs: {}\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    selected = sorted(name for name in files if pattern.search(name))
    assert selected == ["controls/artifact-integrity.yaml", "pipeline.yaml", "policies/integrity.yaml"]
    entry = _hook()["entry"].split()[1:]  # as the hook runs it: without the data files
    assert entry == ["validate", "--no-data"]
    assert main([*entry, *(str(tmp_path / name) for name in selected)]) == 0, capsys.readouterr().err
