"""A realistic assessment built by hand: the poisoned-digits scenario as the engine would report it.

Five stages; results that pass, warn, fail, error, are waived and do not apply; a label-flip
result computed from real flips on scikit-learn's digits (7 -> 1), with flagged indices, scores,
class pairs, a score histogram and a real PNG grid of the flagged images; four ATLAS techniques;
all 72 NIST AI RMF subcategories with mixed statuses; a failing gate.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from riskframe.assessment import (
    ArtifactInfo,
    Assessment,
    ControlResult,
    InputFile,
    NistSubcategoryStatus,
    NotAssessed,
    PipelineInfo,
    PolicyInfo,
    Risk,
    RiskTerms,
    StageInfo,
    StageRisk,
    Summary,
    TechniqueStatus,
    ToolInfo,
)
from riskframe.engine.gate import decide
from riskframe.results import Attachment

# NIST AI RMF 1.0 Core: subcategories per category (4 functions, 19 categories, 72 subcategories).
NIST_STRUCTURE = {
    "GOVERN": [7, 3, 2, 3, 2, 2],
    "MAP": [6, 3, 5, 2, 2],
    "MEASURE": [3, 13, 3, 3],
    "MANAGE": [4, 4, 2, 3],
}
FLIP_SHARE = 0.10  # of the 7s, relabelled 1


def _digits_flip() -> dict[str, Any]:
    """Real flips on scikit-learn's digits, and what ``label-issues`` would find in them."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(0)
    sevens = np.flatnonzero(digits.target == 7)
    flipped = np.sort(rng.choice(sevens, size=round(FLIP_SHARE * len(sevens)), replace=False))
    labels = digits.target.copy()
    labels[flipped] = 1
    # The detector finds most flips and two honest mistakes, most suspicious first.
    honest = [int(np.flatnonzero(digits.target == 9)[3]), int(np.flatnonzero(digits.target == 4)[5])]
    found = [int(i) for i in flipped[:-2]] + honest
    scores = np.full(len(labels), 0.0)
    scores[found] = np.linspace(0.99, 0.71, len(found))
    others = np.setdiff1d(np.arange(len(labels)), found)
    scores[others] = rng.beta(1.0, 12.0, size=others.size)
    return {
        "images": digits.images,
        "labels": labels,
        "n": len(labels),
        "flagged": found,
        "scores": np.round(scores[found], 4).tolist(),
        "all_scores": scores,
        "given": [int(labels[i]) for i in found],
        "suggested": [7] * (len(found) - 2) + [0, 5],
    }


def _score_histogram(flip: dict[str, Any]) -> dict[str, Any]:
    """``evidence["score_histogram"]`` as ``label-issues`` writes it."""
    bins = np.linspace(0.0, 1.0, 21)
    flagged = np.zeros(flip["n"], dtype=bool)
    flagged[flip["flagged"]] = True

    def counts(mask: np.ndarray) -> list[int]:
        return np.histogram(flip["all_scores"][mask], bins)[0].tolist()

    labels = flip["labels"]
    per_class = {
        str(c): {"flagged": counts(flagged & (labels == c)), "kept": counts(~flagged & (labels == c))}
        for c in np.unique(labels)
    }
    return {
        "bins": [round(float(b), 2) for b in bins],
        "flagged": counts(flagged),
        "kept": counts(~flagged),
        "per_class": per_class,
    }


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _grid_png(flip: dict[str, Any]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 2.4))
    for position, index in enumerate(flip["flagged"][:12]):
        axes = figure.add_subplot(2, 6, position + 1)
        axes.imshow(flip["images"][index], cmap="gray_r", interpolation="nearest")
        axes.set_title(f"#{index}\n{flip['given'][position]} → {flip['suggested'][position]}", fontsize=7)
        axes.set_axis_off()
    return _png(figure)


def _histogram_png(flip: dict[str, Any]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 3))
    axes = figure.add_subplot()
    flagged = np.zeros(flip["n"], dtype=bool)
    flagged[flip["flagged"]] = True
    for name, mask in (("kept", ~flagged), ("flagged", flagged)):
        axes.hist(flip["all_scores"][mask], bins=20, range=(0, 1), alpha=0.6, label=name)
    axes.legend()
    return _png(figure)


def _risk(level: str, residual: float, inherited: float = 0.0, effect: str = "control passed") -> Risk:
    likelihood = min(1.0, residual / 0.8)
    return Risk(
        likelihood=likelihood,
        impact=0.8,
        inherent=min(1.0, 0.8 * 0.6),
        residual=residual,
        level=level,
        terms=RiskTerms(maturity_prior=0.6, exposure=0.15, inherited=inherited, control_effect=effect),
    )


def _make_result(**overrides: Any) -> ControlResult:
    """A passing digest check on the ingest stage, with any field overridden."""
    fields: dict[str, Any] = dict(
        id="DP-3/ingest/artifact-digest/raw",
        requirement="DP-3",
        policy="data-poisoning",
        requirement_title="Ingested data matches its declared digest",
        stage="ingest",
        control="artifact-digest",
        control_title="Artifacts match their declared sha256",
        detector="artifact-digest",
        artifact="raw",
        params={"chunk_size": 1048576},
        status="pass",
        severity="high",
        score=0.0,
        summary="1 of 1 artifacts match their declared sha256 digest.",
        metrics={"mismatches": 0.0, "checked": 1.0},
        evidence={"artifacts": [{"name": "raw", "sha256": "9f2c" * 16, "matches": True}]},
        risk=_risk("low", 0.12),
        atlas=["AML.T0010.002", "AML.T0019"],
        mitigations=["AML.M0014"],
        nist=["MAP 4.1", "MEASURE 2.7"],
        remediation="Re-download the artifact from its source.",
        duration_s=0.01,
    )
    fields.update(overrides)
    return ControlResult(**fields)


def _label_flip_result(flip: dict[str, Any]) -> ControlResult:
    n_flagged = len(flip["flagged"])
    return _make_result(
        id="DP-1/train/label-issues/train",
        requirement="DP-1",
        stage="train",
        artifact="train",
        requirement_title="Training labels are not poisoned (label flips)",
        control="label-issues",
        control_title="Label flips found by cleanlab",
        detector="label-issues",
        params={"model": "logistic-regression", "folds": 5, "threshold": 0.01},
        status="fail",
        score=0.87,
        summary=(
            f"{n_flagged} of {flip['n']} training samples look mislabelled (estimated poisoned share "
            "0.94%, above the 1% threshold); most are 7s labelled 1."
        ),
        metrics={
            "estimated_poison_fraction": 0.0094,
            "estimated_poison_fraction_low": 0.0071,
            "estimated_poison_fraction_high": 0.0118,
            "flagged_samples": float(n_flagged),
            "flagged_fraction": n_flagged / flip["n"],
        },
        evidence={
            "flagged_indices": flip["flagged"],
            "scores": flip["scores"],
            "given_labels": flip["given"],
            "suggested_labels": flip["suggested"],
            "pattern": "targeted",
            "class_pairs": [
                {"given": 1, "suggested": 7, "count": n_flagged - 2, "share_of_class": 0.0894, "targeted": True},
                {"given": 9, "suggested": 0, "count": 1, "share_of_class": 0.0056, "targeted": False},
                {"given": 4, "suggested": 5, "count": 1, "share_of_class": 0.0055, "targeted": False},
            ],
            "background": {"strong_suspects": 2, "natural_floor": 3.1, "unflagged_indices": list(range(40))},
            "score_histogram": _score_histogram(flip),
            "method": {"model": "LogisticRegression(max_iter=1000)", "folds": 5},
        },
        attachments=[
            Attachment(
                name="score-histogram.png", data=_histogram_png(flip), caption="Scores of all samples, flagged vs kept"
            ),
            Attachment(
                name="flagged-samples.png",
                data=_grid_png(flip),
                caption="The 12 most suspicious samples: given label -> suggested label",
                prominent=True,
            ),
        ],
        risk=_risk("high", 0.72, effect="control failed: evidence raised the likelihood"),
        atlas=["AML.T0020", "AML.T0059"],
        mitigations=["AML.M0007"],
        nist=["MEASURE 2.7", "MANAGE 1.3"],
        remediation="Review the flagged samples; drop or relabel them and retrain.",
        duration_s=3.2,
    )


def _other_results() -> list[ControlResult]:
    per_class = {
        str(c): {"edges": [0.0, 0.25, 0.5, 0.75, 1.0], "flagged": [0, 0, 1, 2 + c % 3], "kept": [120 + c, 40, 12, 3]}
        for c in range(10)
    }
    return [
        _make_result(),
        _make_result(
            id="DP-2/train/class-outliers/train",
            requirement="DP-2",
            stage="train",
            artifact="train",
            requirement_title="No class holds out-of-distribution samples",
            control="class-outliers",
            control_title="Per-class isolation forest",
            detector="class-outliers",
            status="warn",
            score=0.41,
            summary="31 samples are outliers within their class (1.7%), above the 1.5% warning level.",
            metrics={"outlier_rate": 0.0173},
            atlas=["AML.T0020"],
            nist=["MEASURE 2.7"],
            evidence={
                "flagged_indices": list(range(31)),
                "scores": [0.9] * 31,
                "score_histogram": per_class,
                "class_profiles": {str(c): 180 for c in range(10)},
            },
            remediation="Look at the outliers of each class; remove the ones that are not digits.",
            risk=_risk("medium", 0.38),
        ),
        _make_result(
            id="DP-4/evaluate/label-issues/test",
            requirement="DP-4",
            stage="evaluate",
            artifact="test",
            requirement_title="Test labels are trustworthy",
            control="label-issues",
            control_title="Label flips found by cleanlab",
            detector="label-issues",
            status="error",
            score=1.0,
            summary="The detector did not finish within its 600 s timeout.",
            evidence={"error": "TimeoutError: label-issues exceeded 600 s\n  while fitting fold 3 of 5"},
            metrics={},
            atlas=["AML.T0059"],
            nist=["MEASURE 2.5"],
            risk=_risk("high", 0.64, effect="error: nothing lowered"),
        ),
        _make_result(
            id="DP-5/deploy/model-file-scan/model",
            requirement="DP-5",
            stage="deploy",
            artifact="model",
            requirement_title="Model files cannot run code when loaded",
            control="model-file-scan",
            control_title="Unsafe pickle globals",
            detector="model-file-scan",
            status="not_applicable",
            score=0.0,
            summary="The model is a skops file; there is no pickle stream to scan.",
            metrics={},
            evidence={"format": "skops"},
            atlas=["AML.T0010.002"],
            nist=["MANAGE 2.4"],
            risk=_risk("low", 0.05),
        ),
        _make_result(
            id="DP-6/prepare/class-outliers/clean",
            requirement="DP-6",
            stage="prepare",
            artifact="clean",
            requirement_title="Prepared data keeps its class balance",
            control="class-outliers",
            control_title="Per-class isolation forest",
            detector="class-outliers",
            status="waived",
            score=0.3,
            summary="12 outliers in class 3 | accepted until the relabelling project ends.",
            metrics={"outlier_rate": 0.0067},
            atlas=["AML.T0020"],
            nist=["MAP 4.1"],
            waiver={
                "justification": "Known scanner artefacts",
                "approved_by": "ciso@example.org",
                "expires": "2030-01-31",
            },
            evidence={},
            risk=_risk("medium", 0.31),
        ),
    ]


def _nist(results: list[ControlResult]) -> list[NistSubcategoryStatus]:
    behind: dict[str, list[ControlResult]] = {}
    for result in results:
        for sub in result.nist:
            behind.setdefault(sub, []).append(result)
    entries = []
    for function, sizes in NIST_STRUCTURE.items():
        for category, size in enumerate(sizes, start=1):
            for number in range(1, size + 1):
                sub = f"{function} {category}.{number}"
                found = [r for r in behind.get(sub, []) if r.status not in ("not_applicable",)]
                status = (
                    "not-assessed"
                    if not found
                    else "satisfied"
                    if all(r.status in ("pass", "waived") for r in found)
                    else "not-satisfied"
                )
                entries.append(
                    NistSubcategoryStatus(
                        id=sub,
                        function=function,
                        category=f"{function} {category}",
                        statement=f"Outcome {sub} of the AI RMF Core.",
                        status=status,
                        results=[r.id for r in found],
                    )
                )
    return entries


def build_assessment() -> Assessment:
    results = [_label_flip_result(_digits_flip()), *_other_results()]
    stages = [
        StageInfo(
            name="ingest",
            kind="data-understanding",
            trust="untrusted",
            needs=[],
            artifacts=[ArtifactInfo(name="raw", type="dataset", path="data/raw.npz", format="npz", sha256="9f2c" * 16)],
        ),
        StageInfo(name="prepare", kind="data-preparation", trust="trusted", needs=["ingest"], artifacts=[]),
        StageInfo(
            name="train",
            kind="model-engineering",
            trust="trusted",
            needs=["prepare"],
            artifacts=[ArtifactInfo(name="train", type="dataset", path="data/train.npz", format="npz")],
        ),
        StageInfo(name="evaluate", kind="model-evaluation", trust="trusted", needs=["train", "prepare"], artifacts=[]),
        StageInfo(name="deploy", kind="deployment", trust="trusted", needs=["evaluate"], artifacts=[]),
    ]
    levels = {
        "ingest": ("low", 0.12),
        "prepare": ("medium", 0.31),
        "train": ("high", 0.72),
        "evaluate": ("high", 0.64),
        "deploy": ("medium", 0.4),
    }
    return Assessment(
        created_at="2025-01-15T10:00:00+00:00",
        tool=ToolInfo(version="0.1.0", catalogs={"atlas": "5.6.0", "nist_ai_rmf": "1.0"}),
        inputs=[
            InputFile(path="examples/poisoned-digits/pipeline.yaml", sha256="ab" * 32, role="pipeline", size=812),
            InputFile(path="policies/data-poisoning.yaml", sha256="cd" * 32, role="policy", size=2301),
            InputFile(path="examples/poisoned-digits/data/train.npz", sha256="ef" * 32, role="artifact", size=92_311),
        ],
        pipeline=PipelineInfo(
            name="digits-classifier",
            path="examples/poisoned-digits/pipeline.yaml",
            owner="ml-team@example.org",
            criticality="high",
            stages=stages,
        ),
        policies=[
            PolicyInfo(
                name="data-poisoning",
                version="1.0",
                path="policies/data-poisoning.yaml",
                fail_on="high",
                requirements=6,
            )
        ],
        results=results,
        stages=[
            StageRisk(
                name=s.name,
                kind=s.kind,
                trust=s.trust,
                exposed=True,
                inherited=0.1 * i,
                likelihood=levels[s.name][1],
                residual=levels[s.name][1],
                level=levels[s.name][0],
                results=[r.id for r in results if r.stage == s.name],
            )
            for i, s in enumerate(stages)
        ],
        atlas=[
            TechniqueStatus(
                id="AML.T0020",
                name="Poison Training Data",
                tactics=["AML.TA0003", "AML.TA0006"],
                maturity="realized",
                covered=True,
                status="fail",
                max_residual=0.72,
                level="high",
                results=[results[0].id, results[2].id],
            ),
            TechniqueStatus(
                id="AML.T0059",
                name="Erode Dataset Integrity",
                tactics=["AML.TA0011"],
                maturity="realized",
                covered=True,
                status="fail",
                max_residual=0.72,
                level="high",
                results=[results[0].id],
            ),
            TechniqueStatus(
                id="AML.T0019",
                name="Publish Poisoned Datasets",
                tactics=["AML.TA0003"],
                maturity="realized",
                covered=True,
                status="pass",
                max_residual=0.12,
                level="low",
                results=[results[1].id],
            ),
            TechniqueStatus(
                id="AML.T0010.002",
                name="AI Supply Chain Compromise: Data",
                tactics=["AML.TA0004"],
                maturity="demonstrated",
                covered=False,
                status="not-assessed",
                max_residual=0.0,
                level=None,
                results=[],
            ),
        ],
        nist=_nist(results),
        not_assessed=[
            NotAssessed(
                policy="data-poisoning",
                requirement="DP-7",
                control="spectral-signatures",
                reason="no stage has a representations artifact",
            )
        ],
        summary=Summary(
            risk_score=72.0,
            level="high",
            counts={"pass": 1, "warn": 1, "fail": 1, "error": 1, "waived": 1, "not_applicable": 1},
            requirements=6,
            stages=5,
        ),
        gate=decide(results, "high", policy_levels=["high"]),
        policy_digest="5e" * 32,
    )


@pytest.fixture(scope="session")
def assessment() -> Assessment:
    return build_assessment()


@pytest.fixture(scope="session")
def html_page(assessment) -> str:
    """report.html of the fixture assessment, rendered once for the tests that only read it."""
    from riskframe.reports.html_report import render_html

    return render_html(assessment)


@pytest.fixture
def make_result() -> Callable[..., ControlResult]:
    """``make_result(**fields)``: a passing digest-check result with ``fields`` overridden."""
    return _make_result


@pytest.fixture(scope="session")
def github_markdown() -> Any:
    """markdown-it-py configured like GitHub: GFM tables and strikethrough, and autolinks for
    http(s)/ftp URLs, www. names and e-mail addresses (not bare domains, not '//host')."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("gfm-like")
    md.linkify.set({"fuzzy_link": False})
    md.linkify.add("//", None)
    md.linkify.add("www.", "http:")  # GitHub links www. names
    return md


# Text that is live in Markdown and HTML, in every free-text field of a real assessment.json.
HOSTILE = ("[click](javascript:alert(1)) ![px](https://tracker.example/p.png) <img src=x onerror=alert(1)> "
           "<a href=\"javascript:alert(1)\">x</a> \" onmouseover=\"alert(1) @octocat jane@example.org "
           "https://evil.example www.evil.example `code` *em*\n# Heading\n- item")


@pytest.fixture
def hostile_assessment_json(real_assessment, tmp_path) -> tuple[Path, str]:
    """``(path, text)``: the tiny pipeline's real assessment, as JSON, with ``text`` in its pipeline
    name, policy name, tool version and catalogs, date, gate reasons, NIST functions and every
    result's title, summary, stage and control."""
    import json

    data = json.loads(real_assessment.model_dump_json())
    data["pipeline"]["name"] = HOSTILE
    data["policies"][0]["name"] = HOSTILE
    data["tool"]["version"] = HOSTILE
    data["tool"]["catalogs"] = {HOSTILE: HOSTILE}
    data["created_at"] = HOSTILE
    data["gate"]["reasons"] = [HOSTILE]
    for result in data["results"]:
        result.update(summary=HOSTILE, requirement_title=HOSTILE, stage=HOSTILE, control=HOSTILE)
    for entry in data["nist"]:
        entry["function"] = HOSTILE
    path = tmp_path / "hostile" / "assessment.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, HOSTILE


# A small element tree from the standard library's html.parser, enough to check a report's
# structure without a browser.
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def iter(self, tag: str | None = None) -> Iterator[Element]:
        if tag in (None, self.tag):
            yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter(tag)

    def find(self, tag: str, **attrs: str) -> list[Element]:
        """Descendants named ``tag`` whose attributes include ``attrs`` (``class_`` for class)."""
        wanted = {k.rstrip("_"): v for k, v in attrs.items()}
        return [
            e
            for e in self.iter(tag)
            if all(v in e.attrs.get(k, "").split() if k == "class" else e.attrs.get(k) == v for k, v in wanted.items())
        ]

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join(" ".join(parts).split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return
        raise AssertionError(f"</{tag}> closes nothing")

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html_tree(page: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert [e.tag for e in builder.stack] == ["#document"], "unclosed elements"
    return builder.root


@pytest.fixture(scope="session")
def parse_html() -> Callable[[str], Element]:
    """``parse_html(page)``: the page as an :class:`Element` tree (fails on unbalanced tags)."""
    return parse_html_tree


# A tiny real workspace (fixtures/tiny-pipeline): one passing and one failing artifact-integrity
# result, assessed by the real engine, with locations in real YAML files.
TINY_PIPELINE = Path(__file__).parent / "fixtures" / "tiny-pipeline"


def assess_tiny_pipeline(root: Path) -> Assessment:
    """``riskframe.assess`` on a copy of fixtures/tiny-pipeline at ``root`` (copied there unless
    ``root`` already holds it), run from ``root`` so that the assessment's paths are relative to it,
    as in a CI checkout."""
    from riskframe import assess

    if not (root / "pipeline.yaml").exists():
        shutil.copytree(TINY_PIPELINE, root, dirs_exist_ok=True)
    previous = Path.cwd()
    os.chdir(root)
    try:
        return assess("pipeline.yaml", ["policy.yaml"])
    finally:
        os.chdir(previous)


@pytest.fixture(scope="session")
def real_assessment(tmp_path_factory) -> Assessment:
    return assess_tiny_pipeline(tmp_path_factory.mktemp("tiny-pipeline"))


@pytest.fixture(scope="session")
def assess_tiny() -> Callable[[Path], Assessment]:
    """``assess_tiny(root)``: assess fixtures/tiny-pipeline at ``root`` (copied there if not yet)."""
    return assess_tiny_pipeline
