"""The portfolio summary of ``assess-all``: which systems fail the gate, and which systems fail each
ATLAS technique, the way a security team reviews an organisation.

:func:`summarize` builds the record (:class:`PortfolioSummary`, written as ``portfolio.json``) from
the assessments themselves; :func:`render_markdown` renders ``portfolio.md`` from that record
alone. Both are pure; equal portfolios give equal bytes. :data:`FORMATS` are the two as
renderers (:class:`~riskframe.reports.base.Renderer`) of the one rendering registry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from riskframe import __version__
from riskframe.assessment import Assessment
from riskframe.engine.gate import portfolio_decision
from riskframe.reports.base import RenderContext, Renderer
from riskframe.reports.markdown_text import md_cell, md_text
from riskframe.vocabulary import FAILING, Level

SCHEMA_VERSION = "1.0"
JSON_FILE, MARKDOWN_FILE = "portfolio.json", "portfolio.md"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SystemSummary(_Model):
    name: str = Field(description="the pipeline's metadata.name")
    pipeline: str = Field(description="the pipeline file, as given")
    report: str = Field(description="the folder of its reports, relative to the portfolio's")
    owner: str | None
    criticality: str
    decision: Literal["pass", "fail"]
    fail_on: Level
    risk_score: float
    level: Level
    counts: dict[str, int] = Field(description="results by status")
    failing_techniques: list[str] = Field(description="ATLAS techniques whose controls failed or erred here")


class TechniqueSummary(_Model):
    id: str
    name: str
    failing: list[str] = Field(description="reports (systems) where its controls failed or erred")
    assessed: int = Field(description="systems where at least one of its controls gave a verdict")


class PortfolioSummary(_Model):
    schema_version: str = SCHEMA_VERSION
    created_at: str
    tool_version: str = __version__
    decision: Literal["pass", "fail"] = Field(description="fail when any system's gate fails")
    systems: list[SystemSummary]
    techniques: list[TechniqueSummary] = Field(description="techniques failing somewhere first, then by id")
    planned_runs: int = Field(description="detector runs the plans held")
    computed_runs: int = Field(description="detector runs computed (a run several plans hold is computed once)")


def summarize(assessed: Sequence[tuple[str, str, Assessment]], *, planned_runs: int, computed_runs: int,
              created_at: str) -> PortfolioSummary:
    """The summary of ``(pipeline file, report folder, assessment)`` triples, in the order given."""
    systems = [_system(pipeline, report, a) for pipeline, report, a in assessed]
    names: dict[str, str] = {}
    failing: dict[str, list[str]] = {}
    assessed_count: dict[str, int] = {}
    for (_, report, assessment) in assessed:
        for technique in assessment.atlas:
            names[technique.id] = technique.name
            failing.setdefault(technique.id, [])
            if technique.covered:
                assessed_count[technique.id] = assessed_count.get(technique.id, 0) + 1
            if technique.status in FAILING:
                failing[technique.id].append(report)
    techniques = [TechniqueSummary(id=t, name=names[t], failing=failing[t], assessed=assessed_count.get(t, 0))
                  for t in sorted(names, key=lambda t: (-len(failing[t]), t))]
    return PortfolioSummary(created_at=created_at, decision=portfolio_decision([s.decision for s in systems]),
                            systems=systems, techniques=techniques,
                            planned_runs=planned_runs, computed_runs=computed_runs)


def _system(pipeline: str, report: str, assessment: Assessment) -> SystemSummary:
    info = assessment.pipeline
    return SystemSummary(
        name=info.name, pipeline=pipeline, report=report, owner=info.owner, criticality=info.criticality,
        decision=assessment.gate.decision, fail_on=assessment.gate.fail_on,
        risk_score=assessment.summary.risk_score, level=assessment.summary.level,
        counts={status: n for status, n in assessment.summary.counts.items() if n},
        failing_techniques=[t.id for t in assessment.atlas if t.status in FAILING])


def render_json(summary: PortfolioSummary) -> bytes:
    """``portfolio.json``: indent 2, UTF-8, trailing newline."""
    return (json.dumps(summary.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n").encode()


def render_markdown(summary: PortfolioSummary) -> bytes:
    """``portfolio.md``: the systems, then the techniques, each a table; text from documents escaped."""
    failed = [s for s in summary.systems if s.decision == "fail"]
    lines = [
        f"# Portfolio: {len(failed)} of {len(summary.systems)} systems fail their gate",
        "",
        f"Decision: **{summary.decision.upper()}**. Detector runs: {summary.planned_runs} planned, "
        f"{summary.computed_runs} computed (a run that several pipelines hold over the same files is computed once).",
        "",
        "## Systems",
        "",
        "| system | report | owner | criticality | gate | risk | results |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in sorted(summary.systems, key=lambda s: (s.decision != "fail", -s.risk_score, s.report)):
        counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in s.counts.items())
        lines.append(f"| {md_cell(s.name)} | [{md_text(s.report)}]({_link(s.report)}) | {md_cell(s.owner or '')} | "
                     f"{s.criticality} | {s.decision.upper()} (fail_on: {s.fail_on}) | {s.risk_score:g} ({s.level}) "
                     f"| {counts or 'none'} |")
    lines += ["", "## By ATLAS technique", "",
              "Systems where a control of the technique failed or could not give a verdict (error).", "",
              "| technique | name | systems failing | systems assessed |", "|---|---|---|---|"]
    for t in summary.techniques:
        where = ", ".join(md_text(report) for report in t.failing) or "none"
        lines.append(f"| {t.id} | {md_cell(t.name)} | {len(t.failing)}: {where} | {t.assessed} |")
    return ("\n".join(lines) + "\n").encode()


def _json(summary: PortfolioSummary, context: RenderContext) -> dict[str, bytes]:
    return {JSON_FILE: render_json(summary)}


def _markdown(summary: PortfolioSummary, context: RenderContext) -> dict[str, bytes]:
    return {MARKDOWN_FILE: render_markdown(summary)}


# The formats assess-all writes beside the pipelines' reports (both, always).
FORMATS: dict[str, Renderer[PortfolioSummary]] = {r.name: r for r in (
    Renderer("json", "the portfolio summary as JSON", (JSON_FILE,), _json),
    Renderer("md", "the systems and the ATLAS techniques that fail them, as Markdown tables", (MARKDOWN_FILE,),
             _markdown),
)}


def _link(report: str) -> str:
    """A relative link to the system's report folder; only path characters reach the link."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_./") else f"%{ord(c):02X}" for c in f"{report}/")
