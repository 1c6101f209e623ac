"""Coverage: what the plan's controls cover per stage, gaps ranked by maturity, case-study shares."""

from __future__ import annotations

from riskframe.catalog import load_catalog
from riskframe.catalog.model import MATURITY_RANK
from riskframe.threat import build_threat_model
from riskframe.threat.coverage import case_study_shares, most_exposed, with_subtechniques


def test_a_technique_covers_its_subtechniques_not_its_parent():
    catalog = load_catalog()
    assert with_subtechniques(["AML.T0010.002"], catalog) == ["AML.T0010.002"]
    assert with_subtechniques(["AML.T0010", "AML.T0010.002"], catalog)[:2] == ["AML.T0010", "AML.T0010.002"]
    assert {"AML.T0010.000", "AML.T0010.005"} <= set(with_subtechniques(["AML.T0010"], catalog))


def test_case_study_shares_match_a_hand_count():
    # AML.CS0002 VirusTotal Poisoning uses AML.T0016.000, AML.T0043, AML.T0010.002 and AML.T0020.
    catalog = load_catalog()
    shares = {s.id: s for s in case_study_shares(catalog, applicable={"AML.T0043", "AML.T0020"},
                                                 addressed={"AML.T0020", "AML.T0010.002"})}
    virus_total = shares["AML.CS0002"]
    assert virus_total.covered == ("AML.T0010.002", "AML.T0020")
    assert virus_total.share_covered == 0.5
    assert virus_total.applicable == ("AML.T0043", "AML.T0020") and virus_total.exposed == ("AML.T0043",)
    assert virus_total.share_applicable == 0.5
    assert len(shares) == len(catalog.atlas.case_studies)
    ranked = most_exposed(shares.values(), count=100)
    assert all(s.exposed for s in ranked)
    assert [len(s.exposed) for s in ranked] == sorted((len(s.exposed) for s in ranked), reverse=True)


def test_gaps_are_the_unaddressed_techniques_realized_before_demonstrated_before_feasible(pipeline_file, policy_writer):
    policy = policy_writer("policy.yaml", ("P-1", "high", "AML.T0020", ("label-flip-screen",)))
    model = build_threat_model(pipeline_file, [policy])
    gap_ids = [g.id for g in model.gaps]
    applicable = {t.id for t in model.techniques}
    addressed = {t.id for t in model.techniques if t.requirements}
    assert set(gap_ids) == applicable - addressed
    assert "AML.T0020" not in gap_ids and "AML.T0020" in addressed
    ranks = [MATURITY_RANK[g.maturity] for g in model.gaps]
    assert ranks == sorted(ranks, reverse=True)
    assert model.gaps[0].maturity == "realized" and model.gaps[-1].maturity == "feasible"
    within = [g.max_residual for g in model.gaps if g.maturity == "realized"]
    assert within == sorted(within, reverse=True)


def test_a_control_covers_a_technique_only_where_the_plan_runs_it(pipeline_file, policy_writer):
    # label-flip-screen runs at data stages with a dataset: vendor, internal, prepare; not at train.
    policy = policy_writer("policy.yaml", ("P-1", "high", "AML.T0020", ("label-flip-screen",)))
    model = build_threat_model(pipeline_file, [policy])
    covered = {s.name: next((t.covered_by for t in s.techniques if t.id == "AML.T0020"), None) for s in model.stages}
    assert covered == {"vendor": ["label-flip-screen"], "internal": ["label-flip-screen"],
                       "prepare": ["label-flip-screen"], "train": [], "deploy": []}
    unenforced = {u.id: u for u in model.unenforced}
    assert unenforced["AML.T0020"].stages == ["train", "deploy"]
    assert unenforced["AML.T0020"].requirements == ["P-1"]
    vendor = model.stage("vendor")
    assert [(c.control, c.effectiveness, c.requirements) for c in vendor.controls] == [
        ("label-flip-screen", 0.8, ["P-1"])]
