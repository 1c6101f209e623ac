"""Policy inheritance: merging by requirement id, exclusions, provenance of every value, located
errors for unknown parents and cycles, deep chains, and the policy's risk section."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.errors import DocumentError
from riskframe.scoring import DEFAULT_MODEL
from riskframe.spec import load_policy
from riskframe.spec.inherit import (
    ProvenanceMap,
    display_path,
    policy_files,
    risk_model_of,
)
from riskframe.spec.load import resolve_policy

BASE = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: base, version: 1.0.0}
risk_appetite: {fail_on: high}
requirements:
  - id: R1
    title: Labels are clean
    severity: high
    threats: [AML.T0020]
    controls:
      - control: label-flip-screen
        with: {max_poison_fraction: 0.05, folds: 5}
    scope: {kinds: [data-understanding], trust: untrusted}
  - id: R2
    title: Digests match
    severity: medium
    controls:
      - control: artifact-integrity
"""

CHILD = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {name: child}
extends: [base]
requirements:
  - id: R1
    severity: critical
    controls:
      - control: label-flip-screen
        with: {max_poison_fraction: 0.01}
    scope: {trust: trusted}
  - id: R3
    title: Outliers are rare
    severity: low
    controls: [{control: class-outlier-screen}]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def family(tmp_path):
    return write(tmp_path, "base.yaml", BASE), write(tmp_path, "child.yaml", CHILD)


def test_a_child_overrides_field_by_field_and_adds_requirements(family):
    _, child = family
    policy = load_policy(child)
    assert [r.id for r in policy.requirements] == ["R1", "R2", "R3"]
    r1 = policy.requirement("R1")
    assert (r1.title, r1.severity, r1.threats) == ("Labels are clean", "critical", ["AML.T0020"])
    assert r1.controls[0].with_ == {"max_poison_fraction": 0.01, "folds": 5}  # merged key by key
    assert (r1.scope.kinds, r1.scope.trust) == (["data-understanding"], "trusted")
    assert policy.requirement("R2").severity == "medium"
    assert policy.metadata.name == "child" and policy.extends == ["base"]
    assert policy.risk_appetite.fail_on == "high"  # inherited


def test_every_value_knows_the_file_and_line_it_came_from(family):
    base, child = family
    source = load_policy(child).source
    assert isinstance(source, ProvenanceMap)
    assert source.origin(("requirements", 0, "severity")) == (str(child), 7, 5)
    assert source.origin(("requirements", 0, "title")) == (str(base), 7, 5)
    assert source.origin(("requirements", 0, "controls", 0, "with", "max_poison_fraction")) == (str(child), 10, 16)
    assert source.origin(("requirements", 0, "controls", 0, "with", "folds")) == (str(base), 12, 43)
    assert source.origin(("requirements", 0, "scope", "kinds")) == (str(base), 13, 13)
    assert source.origin(("requirements", 1)) == (str(base), 14, 5)
    assert source.origin(("requirements", 2, "controls", 0)) == (str(child), 15, 16)
    assert source.origin(("risk_appetite", "fail_on")) == (str(base), 4, 17)
    assert source.override(("requirements", 0, "controls", 0)) == (str(child), 9, 9)
    assert source.override(("requirements", 1)) is None
    assert policy_files(load_policy(child)) == [base, child]


def test_problems_are_located_in_the_file_that_wrote_the_value(family):
    base, child = family
    child.write_text(child.read_text().replace("severity: critical", "severity: extreme"))
    base.write_text(base.read_text().replace("severity: medium", "severity: mediun"))
    with pytest.raises(DocumentError) as info:
        load_policy(child)
    assert str(info.value).splitlines() == [
        f"{child}:7:5: requirements[0].severity: must be one of low, medium, high, critical. Got 'extreme' instead.",
        f"{base}:16:5: requirements[1].severity: must be one of low, medium, high, critical. Got 'mediun' instead "
        "(did you mean 'medium'?).",
    ]


def test_a_new_requirement_must_be_complete(family):
    _, child = family
    child.write_text(child.read_text().replace("  - id: R3\n    title: Outliers are rare\n", "  - id: R3\n"))
    with pytest.raises(DocumentError) as info:
        load_policy(child)
    assert str(info.value) == f"{child}:12:5: requirements[1].title: required field is missing"


def test_a_control_can_be_added_to_an_inherited_requirement(family):
    _, child = family
    child.write_text(child.read_text().replace("        with: {max_poison_fraction: 0.01}\n",
                                               "        with: {max_poison_fraction: 0.01}\n"
                                               "      - control: class-outlier-screen\n"))
    r1 = load_policy(child).requirement("R1")
    assert [c.control for c in r1.controls] == ["label-flip-screen", "class-outlier-screen"]


def test_exclude_drops_an_inherited_requirement_with_its_reason(tmp_path, family):
    write(tmp_path, "team.yaml", """\
        apiVersion: riskframe/v1
        kind: Policy
        metadata: {name: team}
        extends: [child.yaml]
        exclude:
          - {id: R2, reason: Digests are checked by the registry upstream}
        """)
    policy = load_policy(tmp_path / "team.yaml")
    assert [r.id for r in policy.requirements] == ["R1", "R3"]
    assert [(e.id, e.reason) for e in policy.exclude] == [("R2", "Digests are checked by the registry upstream")]
    assert policy.source.origin(("exclude", 0)) == (str(tmp_path / "team.yaml"), 6, 5)
    assert policy.requirement("R1").severity == "critical"  # the grandparent's value, as the parent changed it


@pytest.mark.parametrize(("extra", "message"), [
    ("exclude:\n  - {id: R9, reason: gone}\n",
     "6:6: exclude[0].id: no inherited requirement 'R9' to exclude; inherited: R1, R2"),
    ("exclude:\n  - {id: R22, reason: gone}\n",
     "6:6: exclude[0].id: no inherited requirement 'R22' to exclude (did you mean 'R2'?); inherited: R1, R2"),
    ("exclude:\n  - {id: R2, reason: '  '}\n",
     "6:14: exclude[0].reason: must say something: an empty or blank text is not a reason"),
    ("exclude:\n  - {id: R2}\n", "6:5: exclude[0].reason: required field is missing"),
    ("exclude:\n  - {id: R1, reason: replaced}\n",
     "6:6: exclude[0].id: requirement 'R1' is both excluded and defined in this policy; keep one"),
])
def test_bad_exclusions_are_located(family, extra, message):
    _, child = family
    child.write_text(child.read_text().replace("extends: [base]\n", f"extends: [base]\n{extra}"))
    with pytest.raises(DocumentError) as info:
        load_policy(child)
    assert str(info.value) == f"{child}:{message}"


def test_exclude_without_extends_is_an_error(tmp_path):
    path = write(tmp_path, "p.yaml", BASE + "exclude:\n  - {id: R2, reason: not needed}\n")
    with pytest.raises(DocumentError) as info:
        load_policy(path)
    assert str(info.value) == f"{path}:19:1: exclude: this policy extends no other policy: there is nothing to exclude"


def test_an_excluded_requirement_cannot_be_overridden_further_down(tmp_path, family):
    write(tmp_path, "team.yaml", "apiVersion: riskframe/v1\nkind: Policy\nmetadata: {name: team}\n"
                                 "extends: [child]\nexclude:\n  - {id: R2, reason: not ours}\n")
    leaf = write(tmp_path, "leaf.yaml", "apiVersion: riskframe/v1\nkind: Policy\nmetadata: {name: leaf}\n"
                                        "extends: [team]\nrequirements:\n  - {id: R2, severity: high}\n")
    with pytest.raises(DocumentError) as info:
        load_policy(leaf)
    assert str(info.value) == (f"{leaf}:6:6: requirements[0].id: requirement 'R2' is excluded at "
                               f"{display_path(tmp_path / 'team.yaml')}:6; an excluded requirement cannot be "
                               "overridden (remove the exclusion, or give a new requirement a new id)")


def test_duplicate_ids_in_one_file_are_located(family):
    _, child = family
    child.write_text(child.read_text().replace("  - id: R3", "  - id: R1"))
    with pytest.raises(DocumentError) as info:
        load_policy(child)
    assert str(info.value) == (f"{child}:12:5: requirements[1].id: requirement id 'R1' is already used by "
                               "requirements[0]")


@pytest.mark.parametrize(("parent", "message"), [
    ("bsae", "no policy named 'bsae' next to this file or among the bundled policies (did you mean 'base'?)"),
    ("../elsewhere/base.yaml", "file not found: {folder}/elsewhere/base.yaml"),
])
def test_an_unknown_parent_is_located_at_its_extends_entry(family, parent, message):
    _, child = family
    child.write_text(child.read_text().replace("extends: [base]", f"extends: [{parent}]"))
    with pytest.raises(DocumentError) as info:
        load_policy(child)
    folder = display_path(child.parent.parent)
    assert str(info.value) == f"{child}:4:11: extends[0]: {message.format(folder=folder)}"


def test_a_cycle_is_located_where_it_closes(tmp_path, family):
    base, child = family
    base.write_text(base.read_text().replace("risk_appetite:", "extends: [child.yaml]\nrisk_appetite:"))
    with pytest.raises(DocumentError) as info:
        load_policy(child)
    shown = [display_path(p) for p in (child, base, child)]
    assert str(info.value) == f"{base}:4:11: extends[0]: extends makes a cycle: {' -> '.join(shown)}"


def test_a_policy_extending_itself_is_a_cycle(tmp_path):
    path = write(tmp_path, "self.yaml", BASE.replace("risk_appetite:", "extends: [self]\nrisk_appetite:"))
    with pytest.raises(DocumentError, match=r"self.yaml:4:11: extends\[0\]: extends makes a cycle: .*self.yaml -> "):
        load_policy(path)


def test_a_parent_that_is_not_a_policy_is_refused(tmp_path, family):
    _, child = family
    write(tmp_path, "control.yaml", "apiVersion: riskframe/v1\nkind: Control\nid: c\ntitle: Ensure c\ndetector: d\n")
    child.write_text(child.read_text().replace("extends: [base]", "extends: [control.yaml]"))
    with pytest.raises(DocumentError) as info:
        load_policy(child)
    assert str(info.value) == (f"{tmp_path / 'control.yaml'}:2:1: kind: expected a Policy document (extended from "
                               f"{display_path(child)}:4:11), got 'Control'")


def test_a_chain_50_deep_resolves_with_every_value_traced(tmp_path):
    write(tmp_path, "p0.yaml", BASE)
    for level in range(1, 51):
        write(tmp_path, f"p{level}.yaml", f"""\
            apiVersion: riskframe/v1
            kind: Policy
            metadata: {{name: p{level}}}
            extends: [p{level - 1}]
            requirements:
              - id: R1
                severity: {("low", "medium", "high", "critical")[level % 4]}
              - id: L{level}
                title: Level {level}
                severity: low
                controls: [{{control: artifact-integrity}}]
            """)
    policy = load_policy(tmp_path / "p50.yaml")
    assert len(policy.requirements) == 52 and policy.requirement("R1").severity == "high"  # 50 % 4 == 2
    assert len(policy_files(policy)) == 51
    assert policy.source.origin(("requirements", 0, "severity")) == (str(tmp_path / "p50.yaml"), 7, 5)
    assert policy.source.origin(("requirements", 0, "title")) == (str(tmp_path / "p0.yaml"), 7, 5)
    assert policy.source.origin(("requirements", 2, "title")) == (str(tmp_path / "p1.yaml"), 9, 5)


def test_a_chain_deeper_than_the_limit_is_refused_located(tmp_path):
    from riskframe.spec.inherit import MAX_DEPTH

    write(tmp_path, "p0.yaml", BASE)
    for level in range(1, MAX_DEPTH + 2):
        write(tmp_path, f"p{level}.yaml", f"apiVersion: riskframe/v1\nkind: Policy\nmetadata: {{name: p{level}}}\n"
                                          f"extends: [p{level - 1}]\n")
    with pytest.raises(DocumentError) as info:
        load_policy(tmp_path / f"p{MAX_DEPTH + 1}.yaml")
    assert str(info.value) == (f"{tmp_path / 'p2.yaml'}:4:11: extends[0]: extends chain is deeper than 200 "
                               "policies; refused")


def test_a_diamond_applies_each_policy_once_and_the_later_parent_wins(tmp_path, family):
    def policy(name, body):
        return write(tmp_path, f"{name}.yaml", f"apiVersion: riskframe/v1\nkind: Policy\nmetadata: {{name: {name}}}\n"
                                               f"extends: [base]\nrequirements:\n{body}")
    policy("left", "  - {id: R1, severity: critical}\n  - {id: R2, severity: low}\n")
    policy("right", "  - {id: R2, severity: high, title: Digests match exactly}\n")
    leaf = write(tmp_path, "leaf.yaml", "apiVersion: riskframe/v1\nkind: Policy\nmetadata: {name: leaf}\n"
                                        "extends: [left, right]\n")
    resolved = load_policy(leaf)
    assert resolved.requirement("R1").severity == "critical"  # right never touched R1: left's value stands
    assert (resolved.requirement("R2").severity, resolved.requirement("R2").title) == ("high", "Digests match exactly")
    assert [p.name for p in policy_files(resolved)] == ["base.yaml", "left.yaml", "right.yaml", "leaf.yaml"]


def test_a_policy_without_extends_loads_as_before():
    policy = load_policy("policies/data-poisoning.yaml")
    assert not isinstance(policy.source, ProvenanceMap)
    assert [r.id for r in policy.requirements] == ["DP-1", "DP-2", "DP-3"]
    assert resolve_policy("data-poisoning").model_dump() == policy.model_dump()


def test_an_unknown_policy_name_suggests_the_nearest():
    with pytest.raises(DocumentError) as info:
        resolve_policy("data-poisonin")
    assert str(info.value) == ("data-poisonin: no policy named 'data-poisonin' in the current folder or among the "
                               "bundled policies (did you mean 'data-poisoning'?)")


# ---------------------------------------------------------------- the risk section

def test_risk_tables_merge_row_by_row_over_the_parent_and_the_defaults(family):
    base, child = family
    base.write_text(base.read_text().replace("risk_appetite:", "risk:\n  propagation: 0.3\n"
                                             "  severity_impact: {critical: 0.9}\nrisk_appetite:"))
    child.write_text(child.read_text().replace("extends: [base]", "extends: [base]\nrisk:\n"
                                               "  severity_impact: {high: 0.7}"))
    risk = load_policy(child).risk
    assert risk.propagation == 0.3 and risk.exposure == DEFAULT_MODEL.exposure
    assert risk.severity_impact.model_dump() == {"low": 0.25, "medium": 0.5, "high": 0.7, "critical": 0.9}


@pytest.mark.parametrize(("risk", "message"), [
    ("{severity_impact: {high: 1.5}}", "5:26: risk.severity_impact.high: must be a number in [0, 1]. Got 1.5 instead."),
    ("{propagaton: 0.3}", "5:8: risk.propagaton: unknown field (did you mean 'propagation'?). Allowed fields: "
                          "criticality_factor, exposure, fail_floor, level_thresholds, maturity_prior, propagation, "
                          "severity_impact"),
    ("{level_thresholds: {high: 0.2}}", "5:8: risk.level_thresholds: must increase from medium to high to critical. "
                                        "Got medium 0.28, high 0.2, critical 0.78 instead."),
    ("{severity_impact: {critical: 0.5}}", "5:8: risk.severity_impact: must not decrease from low to critical (a more "
                                           "severe breach cannot do less harm). Got low 0.25, medium 0.5, high 0.75, "
                                           "critical 0.5 instead."),
    ("{maturity_prior: {realised: 0.7}}", "5:25: risk.maturity_prior.realised: unknown field (did you mean "
                                          "'realized'?). Allowed fields: demonstrated, feasible, realized, unknown"),
])
def test_a_bad_risk_section_is_located_like_any_field(family, risk, message):
    _, child = family
    child.write_text(child.read_text().replace("extends: [base]", f"extends: [base]\nrisk: {risk}"))
    with pytest.raises(DocumentError) as info:
        load_policy(child)
    assert str(info.value) == f"{child}:{message}"


def test_policies_without_a_risk_section_accept_the_one_that_has_it(family):
    base, child = family
    plain = load_policy(base)
    assert risk_model_of([plain]) is DEFAULT_MODEL
    child.write_text(child.read_text().replace("extends: [base]", "extends: [base]\nrisk: {propagation: 0.2}"))
    assert risk_model_of([plain, load_policy(child)]).propagation == 0.2


# ---------------------------------------------------------------- merge laws

severities = st.sampled_from(("low", "medium", "high", "critical"))
requirement = st.fixed_dictionaries({
    "title": st.text(st.characters(categories=("L",)), min_size=1, max_size=12),
    "severity": severities,
    "threats": st.lists(st.sampled_from(("AML.T0020", "AML.T0019", "AML.T0059")), max_size=2, unique=True),
    "controls": st.lists(st.fixed_dictionaries({
        "control": st.sampled_from(("label-flip-screen", "class-outlier-screen", "artifact-integrity")),
        "with": st.dictionaries(st.sampled_from(("a", "b", "c")), st.integers(0, 9), max_size=2)}),
        min_size=1, max_size=3, unique_by=lambda c: c["control"]),
})
parents = st.lists(requirement, min_size=1, max_size=5)


def _policy_text(name, requirements, extends=None):
    import yaml

    document = {"apiVersion": "riskframe/v1", "kind": "Policy", "metadata": {"name": name}}
    if extends:
        document["extends"] = [extends]
    if requirements:
        document["requirements"] = requirements
    return yaml.safe_dump(document, sort_keys=False)


def _effective(policy):
    return policy.model_dump(exclude={"metadata", "extends"})


@settings(max_examples=30, deadline=None)
@given(parents)
def test_a_child_that_changes_nothing_equals_its_parent(reqs):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        parent = [{"id": f"R{i}", **r} for i, r in enumerate(reqs)]
        (root / "parent.yaml").write_text(_policy_text("parent", parent))
        (root / "child.yaml").write_text(_policy_text("child", [], extends="parent"))
        (root / "echo.yaml").write_text(_policy_text("echo", parent, extends="parent"))  # restates every value
        expected = _effective(load_policy(root / "parent.yaml"))
        assert _effective(load_policy(root / "child.yaml")) == expected
        assert _effective(load_policy(root / "echo.yaml")) == expected


@settings(max_examples=30, deadline=None)
@given(parents, st.data())
def test_an_override_changes_exactly_what_it_writes(reqs, data):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        parent = [{"id": f"R{i}", **r} for i, r in enumerate(reqs)]
        target = data.draw(st.integers(0, len(parent) - 1))
        severity = data.draw(severities)
        ref = parent[target]["controls"][0]
        extra = data.draw(st.dictionaries(st.sampled_from(("a", "d")), st.integers(10, 20), min_size=1))
        override = {"id": f"R{target}", "severity": severity, "controls": [{"control": ref["control"], "with": extra}]}
        (root / "parent.yaml").write_text(_policy_text("parent", parent))
        (root / "child.yaml").write_text(_policy_text("child", [override], extends="parent"))
        child = load_policy(root / "child.yaml")
        expected = _effective(load_policy(root / "parent.yaml"))
        expected["requirements"][target]["severity"] = severity
        expected["requirements"][target]["controls"][0]["with_"] = {**ref["with"], **extra}
        assert _effective(child) == expected
