"""report.html: structure, self-containment, escaping and the pictures, checked with html.parser."""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from riskframe.assessment import PipelineInfo, StageInfo
from riskframe.reports import render
from riskframe.reports.charts import MAX_GRAPH_STAGES
from riskframe.reports.html_report import render_html
from riskframe.reports.json_report import load_assessment


@pytest.fixture(scope="module")
def page(assessment) -> str:
    return render_html(assessment)


@pytest.fixture(scope="module")
def tree(page, parse_html):
    return parse_html(page)


def _only(elements):
    assert len(elements) == 1, f"expected one element, found {len(elements)}"
    return elements[0]


def test_the_page_has_every_section_under_headings(tree) -> None:
    assert _only(tree.find("html")).attrs["lang"] == "en"
    sections = [s.attrs["id"] for s in tree.find("section")]
    assert sections == ["findings", "nist", "atlas", "stages", "results", "inputs"]
    for section in tree.find("section"):
        heading = section.find("h2")[0]
        assert section.attrs["aria-labelledby"] == heading.attrs["id"]
    assert _only(tree.find("h1")).text == "Gate failed: high risk (72 out of 100)"


def test_the_header_says_the_decision_and_the_risk_in_words(tree) -> None:
    header = _only(tree.find("header", id="summary"))
    assert "Gate decision FAIL fails at high risk or above" in header.text
    assert "Overall risk 72 / 100 high" in header.text
    assert ("Gate failed: the gate is set to fail at 'high' risk or above, on a failed requirement of that severity, "
            "or when a check cannot run.") in header.text
    assert (
        "An estimated 0.94% (interval 0.71% to 1.2%) of the samples of 'train' in stage 'train' look poisoned"
    ) in header.text
    reasons = [li.text for li in _only(header.find("ul", class_="reasons")).find("li")]
    assert reasons[1] == "DP-4 at stage evaluate: label-issues on test ended in error; the gate fails closed"


def test_every_image_is_inline_with_alt_text(tree) -> None:
    images = tree.find("img")
    assert len(images) >= 4  # stage graph, flagged samples, two histograms
    for image in images:
        assert re.match(r"^data:image/(png|svg\+xml);base64,[A-Za-z0-9+/=]+$", image.attrs["src"])
        assert image.attrs.get("alt", "").strip()


def test_nothing_is_fetched_from_the_network(page, tree) -> None:
    for element in tree.iter():
        for name in ("src", "href", "srcset", "data", "action", "poster"):
            value = element.attrs.get(name, "")
            assert not re.match(r"^\s*(https?:)?//", value), f"<{element.tag} {name}={value!r}>"
    assert tree.find("script") == [] and tree.find("link") == [] and tree.find("iframe") == []
    style = _only(tree.find("style")).text
    assert "url(" not in style and "@import" not in style


def test_a_summary_holding_markup_is_shown_as_text(assessment, make_result, parse_html) -> None:
    hostile = make_result(
        status="fail",
        summary='<script>alert("x")</script><img src=x onerror=alert(1)>',
        evidence={"note": "<b>bold</b>"},
    )
    page = render_html(assessment.model_copy(update={"results": [hostile]}))
    tree = parse_html(page)
    assert tree.find("script") == []
    assert all(i.attrs["src"].startswith("data:") for i in tree.find("img"))
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    card = _only(tree.find("article"))
    assert '<script>alert("x")</script>' in _only(card.find("p", class_="summary")).text


def test_the_stage_graph_is_a_picture_of_every_stage(assessment, tree) -> None:
    figure = _only(tree.find("figure", class_="stage-graph"))
    image = _only(figure.find("img"))
    svg = base64.b64decode(image.attrs["src"].split(",", 1)[1])
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    for stage in assessment.pipeline.stages:
        assert f"{stage.name} ({stage.kind}, {stage.trust}," in image.attrs["alt"]
    assert "ingest (data-understanding, untrusted, low risk)" in image.attrs["alt"]
    rows = _only(tree.find("section", id="stages")).find("tbody")[0].find("tr")
    assert [r.find("th")[0].text for r in rows] == ["ingest", "prepare", "train", "evaluate", "deploy"]


def test_too_many_stages_give_a_note_instead_of_an_unreadable_picture(assessment, parse_html) -> None:
    count = MAX_GRAPH_STAGES + 1
    stages = [
        StageInfo(
            name=f"s{i}", kind="data-preparation", trust="trusted", needs=[f"s{i - 1}"] if i else [], artifacts=[]
        )
        for i in range(count)
    ]
    big = assessment.model_copy(
        update={"pipeline": PipelineInfo(name="big", path="big.yaml", owner=None, criticality="low", stages=stages)}
    )
    tree = parse_html(render_html(big))
    assert tree.find("figure", class_="stage-graph") == []
    note = _only(tree.find("section", id="stages")).find("p", class_="note")[0].text
    assert note == (
        f"The pipeline has {count} stages, more than the {MAX_GRAPH_STAGES} a picture can show "
        "legibly; the table lists them."
    )


def test_the_picture_shown_first_and_large_is_the_one_its_detector_marked_prominent(assessment, parse_html) -> None:
    # Prominence is the attachment's own field: a name is no signal either way.
    flip = assessment.results[0]
    histogram, grid = flip.attachments
    renamed = [histogram.model_copy(update={"name": "flagged-vs-kept.png"}),
               grid.model_copy(update={"name": "grid.png"})]
    page = render_html(assessment.model_copy(update={
        "results": [flip.model_copy(update={"attachments": renamed}), *assessment.results[1:]]}))
    card = _only(parse_html(page).find("article", id="result-dp-1-train-label-issues-train"))
    figures = card.find("figure", class_="attachment")
    assert [f.attrs["class"] for f in figures] == ["attachment prominent", "attachment"]
    assert _only(figures[0].find("img")).attrs["src"] == f"data:image/png;base64,{grid.data}"


def test_the_label_flip_finding_shows_the_share_and_the_flagged_images_first(assessment, tree) -> None:
    flip = assessment.results[0]
    grid = next(a for a in flip.attachments if a.name == "flagged-samples.png")
    assert flip.attachments[0].name == "score-histogram.png"  # the detector attached it second
    card = _only(tree.find("article", id="result-dp-1-train-label-issues-train"))
    assert _only(card.find("p", class_="callout")).text == "Estimated poisoned share: 0.94% (interval 0.71% to 1.2%)"
    figures = card.find("figure", class_="attachment")
    first = _only(figures[0].find("img"))
    assert first.attrs["src"] == f"data:image/png;base64,{grid.data}"
    assert first.attrs["alt"] == "The 12 most suspicious samples: given label -> suggested label"
    assert base64.b64decode(grid.data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert [f.find("figcaption")[0].text for f in figures][1] == "Scores of all samples, flagged vs kept"
    flagged = _only(card.find("table", class_="flagged"))
    assert flagged.find("caption")[0].text.startswith("18 flagged samples, most suspicious first")
    rows = [[cell.text for cell in row.find("td")] for row in flagged.find("tbody")[0].find("tr")]
    assert [row[1] for row in rows[:3]] == [str(i) for i in flip.evidence["flagged_indices"][:3]]
    assert rows[0][3] == "1 -> 7"
    pairs = [
        t for t in card.find("table", class_="evidence-table") if t.find("caption")[0].text.startswith("class pairs")
    ]
    assert [c.text for c in _only(pairs).find("th")] == ["given", "suggested", "count", "share of class", "targeted"]


def test_score_histograms_are_drawn_where_evidence_has_them(tree) -> None:
    histograms = {a.attrs["id"]: a.find("figure", class_="histogram") for a in tree.find("article")}
    assert {k for k, v in histograms.items() if v} == {
        "result-dp-1-train-label-issues-train",
        "result-dp-2-train-class-outliers-train",
    }
    alt = _only(histograms["result-dp-2-train-class-outliers-train"])
    assert "class 0: 3 flagged, 175 kept" in alt.find("img")[0].attrs["alt"]


def test_nist_counts_match_the_assessment(assessment, tree) -> None:
    expected = Counter((s.function, s.status) for s in assessment.nist)
    summary = _only(tree.find("table", class_="nist-summary"))
    seen = 0
    for row in summary.find("tbody")[0].find("tr"):
        function = row.attrs["data-function"]
        for cell in (c for c in row.find("td") if "data-status" in c.attrs):
            assert int(cell.text) == expected[(function, cell.attrs["data-status"])]
            seen += int(cell.text)
    assert seen == len(assessment.nist) == 72


def test_assessed_subcategories_are_listed_and_the_rest_collapsed(assessment, tree) -> None:
    listed = [
        row.find("th")[0].text
        for t in tree.find("table", class_="nist-assessed")
        for row in t.find("tbody")[0].find("tr")
    ]
    assert listed == ["MAP 4.1", "MEASURE 2.5", "MEASURE 2.7", "MANAGE 1.3"]
    collapsed = {d.attrs["data-function"]: len(d.find("li")) for d in tree.find("details", class_="nist-not-assessed")}
    assert collapsed == {"GOVERN": 19, "MAP": 17, "MEASURE": 20, "MANAGE": 12}


def test_atlas_techniques_show_tactics_maturity_status_and_residual(tree) -> None:
    rows = _only(tree.find("section", id="atlas")).find("tbody")[0].find("tr")
    first = [c.text for c in rows[0].children if not isinstance(c, str)]
    assert first[0] == "AML.T0020 Poison Training Data"
    assert first[1].startswith("AML.TA0003") and "AML.TA0006" in first[1]
    assert first[2:5] == ["realized", "failed", "high (0.72)"]
    last = [c.text for c in rows[-1].children if not isinstance(c, str)]
    assert last[3:5] == ["not assessed (no control produced a verdict)", "not assessed"]


def test_every_result_has_a_card_with_its_evidence_and_findings_link_to_them(assessment, tree) -> None:
    cards = tree.find("article")
    assert len(cards) == len(assessment.results)
    ids = {card.attrs["id"] for card in cards}
    links = [a.attrs["href"] for a in _only(tree.find("section", id="findings")).find("a")]
    assert links and all(link[1:] in ids for link in links)
    error = _only(tree.find("article", id="result-dp-4-evaluate-label-issues-test"))
    assert error.find("pre")[0].text == "TimeoutError: label-issues exceeded 600 s while fitting fold 3 of 5"
    for card in cards:
        assert card.find("table", class_="risk"), card.attrs["id"]


def test_rendering_is_deterministic_and_survives_a_json_round_trip(assessment, page, tmp_path) -> None:
    assert render_html(assessment) == page
    [json_path, html_path] = render(assessment, tmp_path, ["json", "html"])
    assert html_path.read_text(encoding="utf-8") == page
    assert render_html(load_assessment(json_path)) == page


def test_odd_evidence_never_breaks_the_page_and_caps_are_announced(assessment, make_result, parse_html) -> None:
    odd = make_result(
        status="fail",
        evidence={
            "flagged_indices": list(range(100_000)),
            "scores": "not a list",
            "score_histogram": {"edges": [0, 1], "flagged": [1, 2]},
            "deep": {"a": [{"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": 1}}}}}}}}}]},
            "long_text": "x" * 10_000,
            "ratio": float("nan"),
            "mixed": [1, {"a": 2}, [3]],
            "records": [{"k": i} for i in range(500)],
        },
        attachments=[{"name": "broken.png", "data": "@@not base64@@", "caption": ""}],
    )
    page = render_html(assessment.model_copy(update={"results": [odd]}))
    card = _only(parse_html(page).find("article"))
    assert "... and 99,990 more flagged samples (all of them are in assessment.json)." in card.text
    assert "... and 480 more rows (in the JSON below)." in card.text
    assert "Attachment broken.png cannot be shown: its data is not base64." in card.text
    assert card.find("figure") == []  # the malformed histogram and attachment are not drawn
    json_block = _only(card.find("details", class_="evidence-json")).find("pre")[0].text
    assert "99,950 more items not shown" in json_block and "nested too deep to show" in json_block
    assert len(page) < 400_000


def test_an_empty_assessment_still_renders(assessment, parse_html) -> None:
    empty = assessment.model_copy(update={"results": [], "atlas": [], "nist": [], "stages": [], "not_assessed": []})
    tree = parse_html(render_html(empty))
    assert "No control ran." in _only(tree.find("section", id="results")).text
    assert "The policy names no ATLAS technique." in _only(tree.find("section", id="atlas")).text
    assert "not assessed" in _only(tree.find("figure", class_="stage-graph")).find("img")[0].attrs["alt"]


def test_links_point_only_at_cards_that_exist(assessment, parse_html) -> None:
    nist = [
        entry.model_copy(update={"results": ["GONE/x/y"]}) if entry.id == "MAP 4.1" else entry
        for entry in assessment.nist
    ]
    tree = parse_html(render_html(assessment.model_copy(update={"nist": nist})))
    ids = {element.attrs["id"] for element in tree.iter() if "id" in element.attrs}
    internal = [a.attrs["href"][1:] for a in tree.find("a") if a.attrs.get("href", "").startswith("#")]
    assert internal and all(target in ids for target in internal)
    row = next(r for t in tree.find("table", class_="nist-assessed") for r in t.find("tr") if "MAP 4.1" in r.text)
    assert "GONE/x/y" in row.text and row.find("a") == []


def test_templates_autoescape_and_never_mark_text_safe() -> None:
    """Every HTML template is autoescaped, and none turns escaping off for a value (|safe, Markup,
    {% autoescape false %})."""
    from jinja2 import nodes

    from riskframe.io.resources import bundled_dir
    from riskframe.reports.templates import environment

    env = environment("html")
    names = sorted(p.name for p in bundled_dir("templates").glob("*.html.j2"))
    assert names == ["_result.html.j2", "history.html.j2", "report.html.j2", "threat-model.html.j2"]
    for name in names:
        assert env.autoescape(name) is True, name
        source = (bundled_dir("templates") / name).read_text(encoding="utf-8")
        tree = env.parse(source)
        assert not [f for f in tree.find_all(nodes.Filter) if f.name in ("safe", "forceescape")], name
        assert not list(tree.find_all(nodes.ScopedEvalContextModifier)), name
        assert "Markup" not in source, name


def test_hostile_text_in_an_assessment_stays_text_in_the_html_report(hostile_assessment_json, parse_html, tmp_path,
                                                                   capsys) -> None:
    from riskframe.cli import main

    source, hostile = hostile_assessment_json

    assert main(["report", str(source), "--format", "html", "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    page = (tmp_path / "out/report.html").read_text(encoding="utf-8")
    tree = parse_html(page)
    assert tree.find("script") == [] and tree.find("iframe") == []
    for element in tree.iter():
        assert not [name for name in element.attrs if name.startswith("on")], element.tag
        assert element.attrs.get("href", "#").startswith("#"), element.attrs
    assert all(re.match(r"^data:image/(png|svg\+xml);base64,", i.attrs["src"]) for i in tree.find("img"))
    urls = [e.attrs[name] for e in tree.iter() for name in ("href", "src", "action", "formaction", "srcset",
                                                            "poster", "data", "xlink:href") if name in e.attrs]
    assert urls and not [url for url in urls if "javascript:" in url.lower() or "//" in url.split(";")[0]]
    assert hostile.split("\n")[0] in tree.text  # shown, as text


def _scored(make_result, status, score=0.0):
    """A label screen's result with the risk the real model gives it (every term recorded)."""
    from riskframe.scoring import Verdict, score_result

    risk = score_result(Verdict("prepare", status, score, "high", ("realized",), 0.8), "high", exposed=True,
                        inherited=0.45, inherited_from="ingest")
    return make_result(id=f"DP-1/prepare/label-flip-screen/{status}", status=status, score=score, risk=risk,
                       metrics={"estimated_poison_fraction": 0.004, "estimated_poison_fraction_low": 0.0,
                                "estimated_poison_fraction_high": 0.01})


def _card(page: str, result_id: str) -> str:
    anchor = "result-" + re.sub(r"[^A-Za-z0-9_-]+", "-", result_id).strip("-").lower()
    return page.split(f'id="{anchor}"', 1)[1].split("</article>", 1)[0]


def test_a_passing_screen_shows_no_alarm_and_no_poisoned_share(assessment, make_result) -> None:
    passed = _scored(make_result, "pass")
    card = _card(render_html(assessment.model_copy(update={"results": [passed]})), passed.id)
    assert 'class="callout"' not in card and "Estimated poisoned share" not in card


def test_the_risk_terms_show_the_prior_and_how_the_terms_combine(assessment, make_result) -> None:
    failed = _scored(make_result, "fail", 0.5)
    card = _card(render_html(assessment.model_copy(update={"results": [failed]})), failed.id)
    rows = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in re.findall(r"<tr>(.*?)</tr>",
                                                                                   card.split('class="risk"')[1])]
    assert rows[1:] == [
        "ATLAS maturity prior m 0.60 the most mature ATLAS technique the result addresses",
        "untrusted input e 0.35 an untrusted stage is at or upstream of this one",
        "inherited h 0.45 from upstream stage ingest",
        "prior likelihood L0 0.86 1 - (1 - m)(1 - e)(1 - h): independent routes to the threat",
        "likelihood L 0.90 failed: likelihood raised to at least 0.90 by the evidence",
        "impact I 0.75 severity high (0.75) x the pipeline's criticality factor (1.00)",
        "inherent 0.64 L0 x I: before this result",
        "residual high 0.68 L x I: after this result",
    ]
    assert "+0.35" not in card  # the routes combine as independent events, not by addition
    assert ("any failure scores 0.60 to 0.75: it lands on high risk however much it found, and a larger finding "
            "scores little higher") in card
    assert 'class="callout"' in card  # a failure's poisoned share is the alarm
