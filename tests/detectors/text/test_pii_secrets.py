"""pii-secrets: every planted type found and counted, look-alikes left alone, values never written."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from difflib import SequenceMatcher

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskframe.detectors.text._scan import mask, scan
from riskframe.detectors.text._secrets import github_checksum, secret_like
from riskframe.detectors.text.pii_secrets import PiiSecrets, PiiSecretsParams
from riskframe.scenarios.text import PII_KINDS, SECRET_KINDS, audit_corpus, iban_check, luhn_digit

# Checked without importing it: Presidio's import compiles its recognisers' regexes (about 3 s), which
# only the tests that run should pay, not every collection of the suite (each xdist worker collects).
pytestmark = pytest.mark.skipif(importlib.util.find_spec("presidio_analyzer") is None,
                                reason="the text extra (presidio-analyzer) is not installed")


def run(ctx, **params):
    return PiiSecrets().run(ctx, PiiSecretsParams(**params))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """600 reviews with 4 of every type planted and 4 of every kind of look-alike."""
    from tests.detectors.text.conftest import corpus_context

    scenario = audit_corpus(n_records=600, seed=3, per_type=4, decoys_per_kind=4)
    folder = tmp_path_factory.mktemp("planted")
    scenario.write_jsonl(folder / "corpus.jsonl")
    return scenario, run(corpus_context(folder))


def test_every_planted_type_is_counted_and_no_look_alike_is(planted):
    scenario, result = planted

    expected = {kind: sum(p.kind == kind for p in scenario.planted) for kind in (*PII_KINDS, *SECRET_KINDS)}
    assert {kind: t["findings"] for kind, t in result.evidence["types"].items()} == expected
    assert result.status == "fail" and result.score == 1.0
    assert result.metrics["records_with_credentials"] == len({p.record for p in scenario.planted
                                                               if p.kind in SECRET_KINDS})


def test_no_planted_value_appears_anywhere_in_the_result(planted):
    scenario, result = planted
    dumped = json.dumps(result.model_dump(mode="json"))

    for planted in scenario.planted:
        value = planted.value
        private = value.split("@")[0] if planted.kind == "EMAIL_ADDRESS" else value.replace(" ", "").replace("-", "")
        assert value not in dumped and private[-12:] not in dumped, value  # an e-mail's domain is shown


def test_samples_are_located_and_masked(planted):
    scenario, result = planted
    github = [s for s in result.evidence["samples"] if s["type"] == "GITHUB_TOKEN"]
    card = next(s for s in result.evidence["samples"] if s["type"] == "CREDIT_CARD")

    assert len(github) == 4 and all(s["masked"].startswith(("gh", "github_pat_")) for s in github)
    assert card["where"] == f"corpus.jsonl:{card['record'] + 1}"
    assert card["masked"].startswith("************") and len(card["masked"]) == 16
    start, end = card["span"]
    assert scenario.records[card["record"]]["text"][start:end][-4:] == card["masked"][-4:]


def test_the_summary_names_counts_and_says_values_are_masked(planted):
    _, result = planted

    assert result.summary.startswith("Found 28 credentials in 24 records (4 AWS_ACCESS_KEY_ID, 8 AWS_SECRET_ACCESS_KEY, "
                                     "4 GITHUB_TOKEN, 4 PRIVATE_KEY, 4 JWT, 4 SECRET_ASSIGNMENT) and personal data in "
                                     "24 of 600 records (4.0%, over the 0.0% allowed: 4 CREDIT_CARD, 4 IBAN_CODE, 4 "
                                     "US_SSN, 4 EMAIL_ADDRESS, 4 PHONE_NUMBER, 4 IP_ADDRESS)")
    assert result.summary.endswith("; the evidence shows them masked.")


def test_a_clean_corpus_passes(corpus):
    records = [{"text": "the kettle arrived early and works well", "label": "positive"}] * 3
    result = run(corpus(records))

    assert (result.status, result.score) == ("pass", 0.0)
    assert result.summary == "No personal data or credential of the 12 types checked in 3 records."


def test_personal_data_within_the_allowed_share_passes_but_a_credential_never_does(corpus):
    ctx = corpus([{"text": "write to bob.smith@example.com", "label": "a"}] + [{"text": "nothing", "label": "b"}] * 99)
    assert run(ctx, max_pii_share=0.02).status == "pass"
    assert run(ctx).status == "fail"

    token = "ghp_" + "a" * 24 + "b1c2d3"
    token = token[:34] + github_checksum(token[4:34])
    ctx = corpus([{"text": f"ci token {token}", "label": "a"}])
    result = run(ctx, max_pii_share=1.0)
    assert result.status == "fail" and result.evidence["types"]["GITHUB_TOKEN"]["findings"] == 1


def test_checksums_decide():
    body = "4111" + "1111" * 2 + "111"
    valid, invalid = body + luhn_digit(body), body + str((int(luhn_digit(body)) + 1) % 10)
    iban = "GB" + iban_check("GB", "WEST12345698765432") + "WEST12345698765432"

    assert [f.type for f in scan(f"card {valid}")] == ["CREDIT_CARD"]
    assert scan(f"card {invalid}") == []
    assert [f.type for f in scan(f"iban {iban}")] == ["IBAN_CODE"]
    assert scan(f"iban {iban[:2]}00{iban[4:]}") == []
    assert [f.type for f in scan("ssn 078-05-1121")] == ["US_SSN"]
    assert scan("ssn 900-12-3456") == [] and scan("ssn 666-12-3456") == [] and scan("ssn 123-00-4567") == []


def test_github_checksums_match_a_token_published_in_a_scanner_corpus():
    # A token shown as a positive example by a public secret-scanning rule set: its last six
    # characters are the CRC32 of the thirty before them, as GitHub's format says.
    assert github_checksum("ZJDeVREhkptGF7Wvep0NwJWlPEQP7a") == "0t2nxL"
    assert [f.type for f in scan("token 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")] == ["GITHUB_TOKEN"]
    assert scan("token ghp_ZJDeVREhkptGF7Wvep0NwJWlPEQP7a0t2nxM") == []


@pytest.mark.parametrize("text", [
    'password = "${DB_PASSWORD}"', "api_key: <your-api-key-here>", "token=changeme-changeme",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "commit 3f2a9c1e5b7d4f60a8e2c4b6d8f0a1c3e5b7d9f1",
    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", "eyJhbGciOiJIUzI1NiJ9", "upgraded to v1.2.3.4",
    "order #112-4953822-7718235", "PO 2084912530", "IBAN FR07 3969 9686 1530 5001 7704 861",
])
def test_look_alikes_are_not_findings(text):
    assert scan(text) == []


def test_a_token_in_a_url_is_a_credential_not_an_email():
    token = "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"
    assert [f.type for f in scan(f"https://{token}@github.com/acme/app.git")] == ["GITHUB_TOKEN"]


def test_secret_assignments_need_entropy_and_no_placeholder():
    assert secret_like("Xk9#mQ2$vL8pR4wZ")
    assert not secret_like("aaaaaaaaaaaaaaaa") and not secret_like("short") and not secret_like("your_api_key_here")


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_property_a_mask_never_holds_the_value(seed):
    scenario = audit_corpus(n_records=20, seed=seed, per_type=1, decoys_per_kind=0, duplicated=0, poison_copies=0)
    # What a mask may reveal: a card's last four digits, a phone's last two, an IP's first octet,
    # an IBAN's country, a token's issuer prefix (AKIA, ghp_, eyJ, BEGIN ... PRIVATE KEY).
    revealed = {"CREDIT_CARD": 4, "PHONE_NUMBER": 2, "IP_ADDRESS": 4, "IBAN_CODE": 2, "AWS_ACCESS_KEY_ID": 4,
                "GITHUB_TOKEN": 11, "JWT": 3, "PRIVATE_KEY": 40}
    for planted in scenario.planted:
        shown, value = re.sub(r"\(\d+ chars\)", "", mask(planted.kind, planted.value)), planted.value
        if planted.kind == "EMAIL_ADDRESS":  # the domain is shown: compare the local parts
            shown, value = shown.split("@")[0], value.split("@")[0]
        common = SequenceMatcher(None, value, shown, autojunk=False).find_longest_match()
        assert common.size <= max(2, revealed.get(planted.kind, 0)), (planted.kind, shown)  # 2: chance


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=0x2FF) | st.sampled_from("0123456789-@. _=:"),
                    max_size=200))
def test_property_any_text_scans_into_non_overlapping_spans_of_itself(text):
    found = scan(text)
    assert all(text[f.start:f.end] == f.value for f in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
