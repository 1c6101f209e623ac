"""docs/controls.md and riskframe controls list|show: read from the controls and the detector registry."""

from __future__ import annotations

from pathlib import Path

from riskframe import cli
from riskframe.detectors.registry import builtin_registry
from riskframe.reports.controls_reference import parameters, reference_markdown
from riskframe.spec.resolved import load_all_controls

DOC = Path(__file__).resolve().parents[2] / "docs" / "controls.md"


def test_docs_controls_md_is_up_to_date() -> None:
    """Regenerate with `riskframe controls doc > docs/controls.md`."""
    assert DOC.read_text(encoding="utf-8") == reference_markdown(load_all_controls(), builtin_registry())


def test_every_control_and_every_parameter_is_in_the_reference() -> None:
    text, registry = DOC.read_text(encoding="utf-8"), builtin_registry()
    for control in load_all_controls().values():
        section = text.split(f"\n## {control.id}\n", 1)[1].split("\n## ", 1)[0]
        for parameter in parameters(registry[control.detector]):
            assert f"| `{parameter.name}` |" in section, (control.id, parameter.name)


def test_a_parameter_shows_its_default_and_range() -> None:
    folds = next(p for p in parameters(builtin_registry()["label-issues"]) if p.name == "folds")
    assert (folds.type, folds.default, folds.allowed) == ("integer", "5", ">= 2 and <= 20")
    model = next(p for p in parameters(builtin_registry()["label-issues"]) if p.name == "model")
    assert model.allowed == 'one of "ensemble", "logistic", "knn", "svm", "boosting"'


def test_controls_list_and_show(capsys) -> None:
    assert cli.main(["controls", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(load_all_controls()) and listed[0].startswith("activation-analysis ")
    assert cli.main(["controls", "show", "label-flip-screen"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[:2] == ["label-flip-screen: Ensure training labels show no targeted or random flipping",
                         "  detector: label-issues"]
    assert "    folds (integer, default 5, >= 2 and <= 20): stratified folds (reduced to the smallest class size)" \
        in shown


def test_an_unknown_control_suggests_the_nearest(capsys) -> None:
    assert cli.main(["controls", "show", "label-flip-scren"]) == 2
    assert capsys.readouterr().err == ("controls show: unknown control 'label-flip-scren' "
                                       "(did you mean 'label-flip-screen'?)\n")
