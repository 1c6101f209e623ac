"""The threat model end to end, at design time: the example pipeline, policies with more or fewer
controls, no data on disk."""

from __future__ import annotations

from pathlib import Path

from riskframe.threat import build_threat_model
from riskframe.threat.report import dumps_threat_model, load_threat_model

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/poisoned-digits/pipeline.yaml"
BASELINE = ROOT / "policies/data-poisoning.yaml"
NOW = "2030-01-01T00:00:00+00:00"


def test_the_example_reads_as_an_attack_from_the_vendor_to_the_deployed_model():
    model = build_threat_model(EXAMPLE, [BASELINE], created_at=NOW)
    path = model.paths[0]
    assert (path.entry, path.target, path.stages) == ("ingest", "deploy", ["ingest", "prepare", "train", "evaluate",
                                                                          "deploy"])
    assert path.tactics[0] in ("Initial Access", "Resource Development") and path.tactics[-1] == "Impact"
    orders = [s.tactic for s in path.steps]
    assert len(set(orders)) == len(orders)
    techniques = [s.technique for s in path.steps]
    assert len(set(techniques)) == len(techniques)  # AML.T0015 once, not at evaluate and deploy
    assert path.risk == max(s.residual for s in model.stages) and path.level == "high"
    assert model.summary.model_dump() == {
        "stages": 5, "entries": 1, "deployments": 1, "applicable_techniques": 52, "addressed_techniques": 4,
        "gaps": 48, "attack_paths": 1, "max_path_risk": path.risk, "level": "high"}
    assert model.assumptions[1].startswith("Each control the plan runs for a technique at a stage is assumed to "
                                           "pass at its effectiveness")


def test_a_covered_technique_keeps_what_its_passing_control_leaves(pipeline_file, policy_writer):
    policy = policy_writer("p.yaml", ("P-1", "high", "AML.T0020", ("label-flip-screen",)))
    model = build_threat_model(pipeline_file, [policy])
    vendor = {t.id: t for t in model.stage("vendor").techniques}
    poison, uncovered = vendor["AML.T0020"], vendor["AML.T0010"]  # both realized, both severity high
    # L0 = 1 - 0.4 x 0.65 = 0.74; label-flip-screen removes 80%; impact 0.75.
    assert (poison.likelihood, poison.residual, poison.level) == (0.148, 0.111, "low")
    assert (uncovered.likelihood, uncovered.residual, uncovered.level) == (0.74, 0.555, "high")
    assert [r.source for r in poison.reasons] == ["kind", "trust", "artifact"]


def test_adding_a_control_to_a_requirement_never_raises_any_risk(pipeline_file, policy_writer):
    one = policy_writer("one.yaml", ("P-1", "critical", "AML.T0020, AML.T0010.002", ("label-flip-screen",)))
    two = policy_writer("two.yaml", ("P-1", "critical", "AML.T0020, AML.T0010.002",
                                     ("label-flip-screen", "artifact-integrity")))
    before, after = build_threat_model(pipeline_file, [one]), build_threat_model(pipeline_file, [two])
    for old, new in zip(before.stages, after.stages, strict=True):
        assert new.residual <= old.residual and new.likelihood <= old.likelihood
        olds = {t.id: t.residual for t in old.techniques}
        assert all(t.residual <= olds.get(t.id, 1.0) for t in new.techniques)
    assert [p.risk for p in after.paths] <= [p.risk for p in before.paths]
    supply = {t.id: t for t in after.stage("vendor").techniques}["AML.T0010.002"]
    assert supply.covered_by == ["label-flip-screen", "artifact-integrity"]
    assert supply.residual == 0.0148  # 0.74 x (1 - 0.8) x (1 - 0.9) x impact 1.0
    # artifact-integrity also detects AML.T0019: now addressed, but still scored at the assumed severity.
    assert after.technique("AML.T0019").requirements == ["P-1"] and after.technique("AML.T0019").severity == "high"


def test_it_reads_no_data_and_needs_no_policy(pipeline_file):
    model = build_threat_model(pipeline_file)  # nowhere/*.npz does not exist
    assert model.policies == [] and model.summary.addressed_techniques == 0
    assert model.summary.gaps == model.summary.applicable_techniques
    assert all(not t.covered_by for s in model.stages for t in s.techniques)
    assert {p.entry for p in model.paths} == {"vendor"}  # the trusted source is no entry point


def test_the_policy_risk_section_is_the_model_used(pipeline_file, tmp_path, policy_writer):
    policy = policy_writer("p.yaml", ("P-1", "high", "AML.T0020", ("label-flip-screen",)))
    damped = tmp_path / "damped.yaml"
    damped.write_text(policy.read_text().replace("requirements:", "risk: {propagation: 0.1}\nrequirements:", 1))
    default, low = build_threat_model(pipeline_file, [policy]), build_threat_model(pipeline_file, [damped])
    assert default.stage("prepare").inherited == 0.37 and low.stage("prepare").inherited == 0.074
    assert "propagation 0.1" in low.assumptions[-1]


def test_the_json_round_trips_and_is_the_same_for_the_same_inputs(pipeline_file, policy_writer, tmp_path):
    policy = policy_writer("p.yaml", ("P-1", "high", "AML.T0020", ("label-flip-screen",)))
    first = build_threat_model(pipeline_file, [policy], created_at=NOW)
    second = build_threat_model(pipeline_file, [policy], created_at=NOW)
    assert dumps_threat_model(first) == dumps_threat_model(second)
    (tmp_path / "tm.json").write_bytes(dumps_threat_model(first))
    assert load_threat_model(tmp_path / "tm.json") == first


def test_a_stage_table_shows_every_covered_technique_and_says_how_many_it_left_out():
    from riskframe.threat.markdown import TECHNIQUES_PER_STAGE, render_markdown

    model = build_threat_model(EXAMPLE, [BASELINE], created_at=NOW)
    ingest = model.stage("ingest")
    covered = {t.id for t in ingest.techniques if t.covered_by}
    rows, left_out = ingest.shown(2)  # fewer rows than covered techniques: every covered one still shows
    assert {t.id for t in rows} == covered and len(covered) > 2
    assert left_out == len(ingest.techniques) - len(covered)
    rows, left_out = ingest.shown(TECHNIQUES_PER_STAGE)
    assert covered <= {t.id for t in rows} and len(rows) + left_out == len(ingest.techniques)
    assert (f"... and {left_out} more uncovered techniques in threat-model.json (every covered one is listed)."
            in render_markdown(model))
