"""Waivers: their shape, approver formats, dates, references, and which waiver applies to a result."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from riskframe.engine.waivers import decide_waiver
from riskframe.errors import DocumentError
from riskframe.spec import load_policy
from riskframe.spec.bound_waivers import date_problems, file_waivers, policy_waivers, reference_problems
from riskframe.spec.inherit import display_path
from riskframe.spec.load import load_waivers
from riskframe.spec.waivers import check_approver, waiver_status

TODAY = date(2025, 6, 1)

POLICY = """\
apiVersion: riskframe/v1
kind: Policy
metadata: {{name: pol}}
risk_appetite: {{max_waiver_days: 90{approvers}}}
requirements:
  - id: DP-1
    title: Labels are clean
    severity: high
    controls: [{{control: label-flip-screen}}]
  - id: DP-2
    title: Digests match
    severity: medium
    controls: [{{control: artifact-integrity}}]
waivers:
{waivers}"""


def waiver(requirement="DP-1", expires="2025-07-01", approved_by="jane.doe@example.org", extra=""):
    return (f"  - requirement: {requirement}\n    justification: Relabelling in progress\n"
            f"    approved_by: {approved_by}\n    expires: {expires}\n{textwrap.indent(extra, '    ')}")


def policy(tmp_path, *waivers, approvers=""):
    path = tmp_path / "pol.yaml"
    path.write_text(POLICY.format(waivers="".join(waivers), approvers=approvers))
    return path


@pytest.mark.parametrize("name", ["jane.doe@example.org", "ciso@security.example.co.uk", "Jane Doe",
                                  "Jane O'Neil-Smith", "J. R. R. Tolkien", "Zoë Müller"])
def test_approvers_are_emails_or_full_names(name):
    assert check_approver(name) == name


@pytest.mark.parametrize("name", ["TBD", "me", "Jane", "jane@", "@jane", "jane@example", "Jane TBD", "Jane Doe 3rd",
                                  "root@localhost", "j_doe", "Jane <jane@example.org>"])
def test_unknown_approver_formats_are_refused(name):
    with pytest.raises(ValueError, match=r"must be an email address \(jane.doe@example.org\) or a person's full "
                                         r"name \(Jane Doe\). Got .* instead."):
        check_approver(name)


def test_a_bad_approver_is_a_located_error(tmp_path):
    path = policy(tmp_path, waiver(approved_by="TBD"))
    with pytest.raises(DocumentError) as info:
        load_policy(path)
    assert str(info.value) == (f"{path}:17:5: waivers[0].approved_by: must be an email address "
                               "(jane.doe@example.org) or a person's full name (Jane Doe). Got 'TBD' instead.")


def test_justification_approver_and_expiry_are_required(tmp_path):
    path = policy(tmp_path, "  - requirement: DP-1\n    justification: ' '\n    expires: 2025-13-01\n")
    with pytest.raises(DocumentError) as info:
        load_policy(path)
    assert str(info.value).splitlines() == [
        f"{path}:16:5: waivers[0].justification: must say something: an empty or blank text is not a reason",
        f"{path}:15:5: waivers[0].approved_by: required field is missing",
        f"{path}:17:5: waivers[0].expires: must be a date (YYYY-MM-DD). Got '2025-13-01' instead.",
    ]


@pytest.mark.parametrize(("entry", "field", "message"), [
    (waiver(requirement="DP-9"), "requirement", "no requirement 'DP-9' in policy 'pol' (did you mean 'DP-2'?)"),
    (waiver(extra="control: artifact-integrity\n"), "control",
     "requirement 'DP-1' does not use control 'artifact-integrity'; it uses label-flip-screen"),
])
def test_a_waiver_must_name_what_exists(tmp_path, entry, field, message):
    loaded = load_policy(policy(tmp_path, entry))
    [problem] = reference_problems(policy_waivers(loaded), [loaded])
    assert (problem.field, problem.message) == (f"waivers[0].{field}", message)


def test_approvers_can_be_limited_by_the_policy(tmp_path):
    approvers = ", approvers: [ciso@example.org, '@security.example.org', Jane Doe]"
    ok = [waiver(approved_by=a) for a in ("ciso@example.org", "Bob@Security.example.org", "jane doe")]
    loaded = load_policy(policy(tmp_path, *ok, waiver(approved_by="bob@example.org"), approvers=approvers))
    [problem] = reference_problems(policy_waivers(loaded), [loaded])
    assert str(problem) == (f"{tmp_path / 'pol.yaml'}:29:5: waivers[3].approved_by: 'bob@example.org' is not "
                            "among the approvers of policy 'pol' (risk_appetite.approvers: ciso@example.org, "
                            "@security.example.org, Jane Doe)")


@pytest.mark.parametrize(("entry", "allow_expired", "message"), [
    (waiver(expires="2025-05-31"), False,
     "18:5: waivers[0].expires: the waiver expired on 2025-05-31 (1 days before 2025-06-01); renew it with a new "
     "approval and date, or remove it"),
    (waiver(expires="2025-05-31"), True, None),
    (waiver(expires="2025-09-01"), False,
     "18:5: waivers[0].expires: the waiver runs 92 days (from today, 2025-06-01, to 2025-09-01), longer than the "
     "90 days policy 'pol' allows (risk_appetite.max_waiver_days)"),
    (waiver(expires="2025-08-20", extra="approved_on: 2025-05-25\n"), False, None),
    (waiver(expires="2025-08-20", extra="approved_on: 2025-05-01\n"), False,
     "18:5: waivers[0].expires: the waiver runs 111 days (from approved_on, 2025-05-01, to 2025-08-20), longer than "
     "the 90 days policy 'pol' allows (risk_appetite.max_waiver_days)"),
    (waiver(extra="approved_on: 2025-06-02\n"), False,
     "19:5: waivers[0].approved_on: is in the future (2025-06-02, today is 2025-06-01); a waiver is approved before "
     "it applies"),
])
def test_waiver_dates(tmp_path, entry, allow_expired, message):
    loaded = load_policy(policy(tmp_path, entry))
    problems = date_problems(policy_waivers(loaded), [loaded], TODAY, allow_expired)
    assert [str(p) for p in problems] == ([f"{tmp_path / 'pol.yaml'}:{message}"] if message else [])


def test_a_waiver_file_is_its_own_document(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text("apiVersion: riskframe/v1\nkind: Waivers\nmetadata: {name: q3}\nwaivers:\n"
                    + waiver().replace("  - requirement: DP-1", "  - requirement: DP-1\n    policy: poll"))
    loaded = load_policy(policy(tmp_path, waiver()))
    [problem] = reference_problems(file_waivers(load_waivers(path)), [loaded])
    assert str(problem) == (f"{path}:6:5: waivers[0].policy: no policy named 'poll' is assessed "
                            "(did you mean 'pol'?); assessed: pol")


def test_a_waiver_for_an_excluded_requirement_says_so(tmp_path):
    policy(tmp_path, waiver())
    child = tmp_path / "child.yaml"
    child.write_text("apiVersion: riskframe/v1\nkind: Policy\nmetadata: {name: child}\nextends: [pol]\n"
                     "exclude:\n  - {id: DP-2, reason: checked upstream}\nwaivers:\n" + waiver(requirement="DP-2"))
    loaded = load_policy(child)
    problems = reference_problems(policy_waivers(loaded), [loaded])
    assert [p.message for p in problems] == [
        f"requirement 'DP-2' is excluded from policy 'child' ({display_path(child)}:6); there is nothing to waive"]
    assert [w.where for w in policy_waivers(loaded)] == [f"{display_path(tmp_path / 'pol.yaml')}:15",
                                                         f"{display_path(child)}:8"]  # inherited waivers first


def test_the_most_specific_active_waiver_applies(tmp_path):
    entries = [waiver(expires="2025-06-10"), waiver(expires="2025-05-01", extra="stage: train\n"),
               waiver(expires="2025-06-20", extra="stage: train\ncontrol: label-flip-screen\n")]
    loaded = load_policy(policy(tmp_path, *entries))
    bound = policy_waivers(loaded)

    def decide(stage, status="fail", today=TODAY):
        return decide_waiver(bound, policy="pol", requirement="DP-1", stage=stage, control="label-flip-screen",
                             status=status, today=today)

    assert decide("train").waiver.expires == date(2025, 6, 20)  # stage and control named: most specific
    assert decide("ingest").waiver.expires == date(2025, 6, 10)
    assert decide("train", today=date(2025, 6, 15)).waiver.expires == date(2025, 6, 20)
    later = decide("train", today=date(2025, 6, 25))  # all expired: the most specific says so
    assert (later.status, later.waiver.status, later.waiver.expires) == ("fail", "expired", date(2025, 6, 20))
    assert decide("train", status="pass").waiver is None  # nothing to waive
    assert decide("train", status="warn").status == "waived"
    assert decide_waiver(bound, policy="other", requirement="DP-1", stage="train", control="label-flip-screen",
                         status="fail", today=TODAY).waiver is None  # another policy's DP-1


def test_a_waiver_applies_through_its_last_day():
    from riskframe.spec.waivers import Waiver

    w = Waiver(requirement="R", justification="x", approved_by="Jane Doe", expires=TODAY)
    assert [waiver_status(w, d) for d in (date(2025, 5, 31), TODAY, date(2025, 6, 2))] == \
        ["active", "active", "expired"]
