"""The README's policy snippet validates, and the errors the README shows are the ones riskframe
prints for that snippet with the mistakes the README describes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from riskframe.commands.validate import validate_files

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
# Waiver dates are judged as of a fixed day: as of the real today, the suite would start failing once
# the snippet's waiver expires (or runs longer than max_waiver_days), whatever the change under test.
CHECKED_ON = date(2026, 11, 28)


def _policy_snippet() -> str:
    return README.split("### A policy", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]


def _shown_errors() -> list[str]:
    return README.split("$ riskframe validate policies/prod.yaml\n", 1)[1].split("```", 1)[0].splitlines()


@pytest.fixture
def prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``policies/prod.yaml``, relative to the working directory as in the README."""
    (tmp_path / "policies").mkdir()
    monkeypatch.chdir(tmp_path)
    return Path("policies/prod.yaml")


def test_the_readme_policy_validates(prod: Path) -> None:
    prod.write_text(_policy_snippet(), encoding="utf-8")

    problems, lines = validate_files([str(prod)], [], today=CHECKED_ON)

    assert problems == []
    assert lines == ["ok: policies/prod.yaml (Policy prod-ml, 3 requirements, extends data-poisoning, 1 waiver)"]


def test_the_readme_errors_are_those_of_its_policy_with_the_mistakes_it_describes(prod: Path) -> None:
    text = _policy_snippet()
    assert "    severity: critical\n" in text and "max_poison_fraction: 0.002" in text
    text = text.replace("    severity: critical\n", "    severity: critical\n    threats: [AML.T0020, AML.T0200]\n", 1)
    prod.write_text(text.replace("max_poison_fraction: 0.002", "max_poison_fraction: 1.5"), encoding="utf-8")

    problems, _ = validate_files([str(prod)], [], today=CHECKED_ON)

    assert [str(problem) for problem in problems] == _shown_errors()


def _detector_snippet() -> str:
    return README.split("### Writing a detector", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_detector_is_complete_and_passes_the_contract_suite(tmp_path: Path) -> None:
    """Its imports and the dataset API it uses are real: the class runs through every contract check."""
    import types

    from riskframe.testing import CHECKS

    module = types.ModuleType("mypackage_balance")
    exec(compile(_detector_snippet(), "README.md", "exec"), module.__dict__)
    detector = module.ClassBalance
    for index, check in enumerate(CHECKS):
        (tmp_path / str(index)).mkdir()
        check(detector, tmp_path / str(index))


def test_no_install_pins_a_release_tag_that_does_not_exist() -> None:
    """No riskframe release is tagged: README and docs pin a commit (a tag, once one exists, goes here)."""
    import re

    root = Path(__file__).resolve().parents[1]
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"riskframe[^\s\"]*@v\d+\.\d+|rev: v\d+\.\d+", text), path.name
