"""denylist-content: exact copies, quoted passages and patterns, named by entry and never quoted."""

from __future__ import annotations

import hashlib
import json

import pytest

from riskframe.detectors.text.denylist import DenylistContent, DenylistContentParams
from riskframe.detectors.text.near_duplicates import normalise
from riskframe.errors import ArtifactError, DocumentError

SECRET_DOC = ("Step one of the forbidden procedure is to combine the two reagents in a sealed flask and wait for "
              "the mixture to turn a deep amber colour before cooling it slowly overnight in the dark.")
LEAKED = "Internal memo: the quarterly numbers are not to be shared outside the finance team under any circumstances."


def denylist(folder, extra: str = "") -> None:
    (folder / "deny").mkdir(exist_ok=True)
    (folder / "deny" / "procedure.txt").write_text(SECRET_DOC)
    digest = hashlib.sha256(normalise(LEAKED).encode()).hexdigest()
    (folder / "deny" / "list.yaml").write_text(f"""apiVersion: riskframe/v1
kind: DenyList
metadata: {{name: acme-deny}}
documents:
  - {{id: hazmat-procedure, title: A hazardous procedure, path: procedure.txt}}
  - {{id: finance-memo, sha256: "{digest}"}}
patterns:
  - {{id: nerve-agent, regex: "(?i)nerve\\\\s+agent"}}
{extra}""")


def run(ctx, **params):
    return DenylistContent().run(ctx, DenylistContentParams(**params))


def test_copies_passages_and_patterns_are_found_by_entry(corpus, tmp_path):
    denylist(tmp_path)
    quoted = "great blender. " + " ".join(SECRET_DOC.upper().split()[5:25]) + " anyway, five stars."
    ctx = corpus([{"text": "a harmless review of a lamp", "label": "a"},
                  {"text": LEAKED.replace(" ", "  "), "label": "a"},
                  {"text": quoted, "label": "b"},
                  {"text": "how to make a Nerve  Agent at home", "label": "b"}])
    result = run(ctx, denylist="deny/list.yaml")

    hits = {e["id"]: e for e in result.evidence["matched_entries"]}
    assert result.status == "fail" and result.metrics["records_matched"] == 3
    assert hits["finance-memo"]["samples"] == [{"record": 1, "where": "corpus.jsonl:2", "how": "exact copy"}]
    assert hits["hazmat-procedure"]["samples"][0]["how"].startswith("13 shared 8-word passages")
    assert hits["nerve-agent"]["samples"][0]["record"] == 3
    assert result.summary == ("3 of 4 records match the deny list 'acme-deny': hazmat-procedure (1), finance-memo (1), "
                              "nerve-agent (1).")
    dumped = json.dumps(result.model_dump(mode="json"))
    assert "reagents" not in dumped and "quarterly" not in dumped
    assert result.evidence["denylist"]["sha256"] == hashlib.sha256((tmp_path / "deny" / "list.yaml").read_bytes()).hexdigest()


def test_a_clean_corpus_passes(corpus, tmp_path):
    denylist(tmp_path)
    result = run(corpus([{"text": "a harmless review of a lamp", "label": "a"}]), denylist="deny/list.yaml")

    assert result.status == "pass"
    assert result.summary == "None of 1 records matches the 3 entries of the deny list 'acme-deny'."


def test_without_a_deny_list_the_check_does_not_apply(corpus):
    result = run(corpus([{"text": "x", "label": "a"}]))
    assert result.status == "not_applicable"
    assert result.summary == "No deny list is configured (set denylist: to a kind: DenyList file)."


def test_a_deny_list_outside_the_pipeline_folder_is_refused(corpus, tmp_path):
    ctx = corpus([{"text": "x", "label": "a"}])
    with pytest.raises(ArtifactError, match=r"^\.\./elsewhere\.yaml resolves to .*, outside the pipeline's folder"):
        run(ctx, denylist="../elsewhere.yaml")


def test_a_bad_regex_is_located_in_the_deny_list(corpus, tmp_path):
    denylist(tmp_path, extra='  - {id: broken, regex: "(unclosed"}\n')
    with pytest.raises(DocumentError) as info:
        run(corpus([{"text": "x", "label": "a"}]), denylist="deny/list.yaml")
    assert str(info.value).endswith("deny/list.yaml:9:18: patterns[1].regex: not a valid regular expression: missing ), "
                                    "unterminated subpattern at position 0")
