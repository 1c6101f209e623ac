"""``riskframe history``: real assessments in nested folders, ordered by when they were made."""

from __future__ import annotations

import base64
import re

import pytest

from riskframe import cli
from riskframe.compare.history import collect_history
from riskframe.reports.history_text import sparkline
from riskframe.reports.json_report import dumps_assessment, load_assessment


@pytest.fixture(scope="module")
def folder(tmp_path_factory, real):
    """Four assessments of 'tiny' and one of 'other', file names in a different order than their dates,
    and a JSON file that is no assessment."""
    root = tmp_path_factory.mktemp("history")
    good = load_assessment(real.assessment_file(root / "work-good", real.workspace(root / "ws-g", skewed=False)))
    bad = load_assessment(real.assessment_file(root / "work-bad", real.workspace(root / "ws-b", skewed=True)))
    runs = root / "runs"
    for name, source, when in (("a/assessment.json", bad, "2030-03-01T09:00:00+00:00"),
                               ("b/assessment.json", good, "2030-01-01T09:00:00+00:00"),
                               ("c/nested/assessment.json", bad, "2030-02-01T09:00:00+00:00"),
                               ("d/assessment.json", good, "2030-04-01T09:00:00+00:00")):
        (runs / name).parent.mkdir(parents=True, exist_ok=True)
        (runs / name).write_bytes(dumps_assessment(source.model_copy(update={"created_at": when})))
    other = good.model_copy(update={"created_at": "2030-01-15T00:00:00+00:00",
                                    "pipeline": good.pipeline.model_copy(update={"name": "other"})})
    (runs / "other.json").write_bytes(dumps_assessment(other))
    (runs / "a/threat-model-layer.json").write_text('{"domain": "atlas-atlas", "techniques": []}')
    return runs, good.summary.risk_score, bad.summary.risk_score


def test_assessments_are_ordered_by_when_they_were_made_per_pipeline(folder):
    runs, low, high = folder
    history = collect_history(runs)
    assert list(history.pipelines) == ["other", "tiny"]
    assert [p.created_at.month for p in history.pipelines["tiny"]] == [1, 2, 3, 4]
    assert [p.risk_score for p in history.pipelines["tiny"]] == [low, high, high, low]
    assert [p.gate for p in history.pipelines["tiny"]] == ["pass", "fail", "fail", "pass"]
    assert history.skipped == [(runs / "a/threat-model-layer.json").as_posix()]


def test_the_text_trend(folder, capsys):
    runs, low, high = folder
    assert cli.main(["history", str(runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"5 assessments of 2 pipelines in {runs}"
    assert out[1] == "(1 other JSON file skipped)"
    tiny = out.index(f"tiny: risk {low:g} -> {low:g}  {sparkline([low, high, high, low])}")
    rows = out[tiny + 2:tiny + 6]
    assert rows[0].split() == ["2030-01-01T09:00:00+00:00", f"{low:.1f}", "low", "pass", "0", "0", "0"]
    assert rows[1].split()[-1] == f"{high - low:+.1f}" and rows[3].split()[-1] == f"{low - high:+.1f}"


def test_the_html_plot_is_one_self_contained_page(folder, tmp_path, capsys):
    runs, _, _ = folder
    out = tmp_path / "trend.html"
    assert cli.main(["history", str(runs), "--format", "html", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"Risk over time of other, tiny (5 assessments): {out.as_posix()}"
    page = out.read_text()
    charts = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(charts) == 2
    assert base64.b64decode(charts[1]).lstrip().startswith(b"<?xml")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert page.index("2030-01-01T09:00:00+00:00") < page.index("2030-02-01T09:00:00+00:00")


def test_a_broken_assessment_is_a_located_error(folder, tmp_path, capsys):
    runs, _, _ = folder
    broken = tmp_path / "runs"
    broken.mkdir()
    text = (runs / "b/assessment.json").read_text().replace('"decision": "pass"', '"decision": "maybe"', 1)
    (broken / "assessment.json").write_text(text)
    assert cli.main(["history", str(broken)]) == 2
    err = capsys.readouterr().err
    assert re.match(rf"{re.escape(str(broken / 'assessment.json'))}:\d+:\d+: gate\.decision: must be one of "
                    r"pass, fail\. Got 'maybe' instead\.", err)
    assert cli.main(["history", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'missing'}: folder not found"
