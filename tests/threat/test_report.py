"""The threat model's formats: JSON, Markdown, a self-contained HTML page, an ATLAS Navigator layer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from riskframe.errors import UsageError
from riskframe.reports import navigator as assessment_layers
from riskframe.reports.base import RenderContext
from riskframe.threat import build_threat_model
from riskframe.threat.report import FORMATS, parse_formats, write_threat_model


@pytest.fixture
def model(pipeline_file, policy_writer):
    policy = policy_writer("p.yaml", ("P-1", "high", "AML.T0020", ("label-flip-screen",)),
                           ("P-2", "medium", "AML.T0011.000", ("artifact-integrity",)))
    return build_threat_model(pipeline_file, [policy], created_at="2030-01-01T00:00:00+00:00")


def _rendered(name, model):
    (content,) = FORMATS[name].render(model, RenderContext(Path("unused"))).values()
    return content


def test_unknown_formats_are_usage_errors_with_a_suggestion():
    with pytest.raises(UsageError) as error:
        parse_formats("md,naviagtor")
    assert str(error.value) == ("--format: unknown format 'naviagtor' (did you mean 'navigator'?); "
                                "known formats: json, md, html, navigator")
    with pytest.raises(UsageError, match=r"^--format: no format given"):
        parse_formats(" , ")


def test_every_format_is_written_under_its_own_name(model, tmp_path):
    written = write_threat_model(model, tmp_path / "out", list(FORMATS))
    assert [p.name for p in written] == ["threat-model.json", "threat-model.md", "threat-model.html",
                                         "threat-model-layer.json"]
    assert json.loads(written[0].read_text())["kind"] == "ThreatModel"
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_the_markdown_tells_the_story(model):
    text = _rendered("md", model).decode()
    assert text.startswith("# Threat model of two-sources\n")
    assert "### 1. vendor → deploy: high (0.64)" in text
    assert "Stages: vendor → prepare → train → deploy. Riskiest stage: deploy." in text
    assert ("| AML.T0010 AI Supply Chain Compromise | realized | kind: mitigated at data-understanding by "
            "AML.M0014, AML.M0023; trust: untrusted source: data, models or code from outside the organisation "
            "enter the pipeline here | — | high (0.56) |") in text
    assert "## Coverage gaps (" in text and "| AML.T0010 AI Supply Chain Compromise | realized |" in text
    assert "Controls run here: label-flip-screen for P-1; artifact-integrity for P-2." in text


def test_the_html_page_is_self_contained_and_escaped(model):
    page = _rendered("html", model).decode()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert '<ol class="chain" aria-label="Tactic progression">' in page
    assert "vendor → deploy: high (0.64)" in page
    assert "<script" not in page


def test_the_navigator_layer_scores_every_applicable_technique(model):
    layer = json.loads(_rendered("navigator", model))
    assert (layer["domain"], layer["versions"]) == (assessment_layers.DOMAIN, assessment_layers.VERSIONS)
    scored = {t["techniqueID"]: t for t in layer["techniques"] if "score" in t}
    assert set(scored) == {t.id for t in model.techniques}
    poison = model.technique("AML.T0020")
    assert scored["AML.T0020"]["score"] == round(100 * poison.max_residual)
    assert scored["AML.T0020"]["comment"].endswith("Covered by label-flip-screen (requirements P-1).")
    assert scored["AML.T0010"]["comment"].endswith("No requirement of the policy addresses it.")
    assert all(0 <= t["score"] <= 100 for t in scored.values())
