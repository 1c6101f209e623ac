"""The data tables name real ATLAS ids, and the untrusted-source table stays within the tactics an
untrusted source opens."""

from __future__ import annotations

from riskframe.catalog import load_catalog
from riskframe.threat import tables

INITIAL_ACCESS, RESOURCE_DEVELOPMENT = "AML.TA0004", "AML.TA0003"


def test_every_table_id_is_a_technique_of_the_bundled_atlas_release():
    catalog = load_catalog()
    assert sorted(t for t in tables.all_table_ids() if catalog.technique(t) is None) == []


def test_untrusted_sources_open_only_initial_access_and_resource_development_techniques():
    catalog = load_catalog()
    for rule in tables.UNTRUSTED_SOURCE:
        tactics = set(catalog.technique(rule.technique).tactics)
        assert tactics & {INITIAL_ACCESS, RESOURCE_DEVELOPMENT}, rule.technique
    assert {"AML.T0010", "AML.T0019"} <= {r.technique for r in tables.UNTRUSTED_SOURCE}


def test_every_rule_says_why():
    rules = [*tables.UNTRUSTED_SOURCE, *tables.TEXT_CORPUS,
             *(r for group in tables.MODEL_FORMATS.values() for r in group),
             *(r for group in tables.ARTIFACT_TYPES.values() for r in group)]
    assert all(len(r.reason.split()) >= 5 for r in rules)


def test_text_corpus_techniques_are_the_generative_ones_and_pickle_opens_unsafe_artifacts():
    assert {r.technique for r in tables.TEXT_CORPUS} <= tables.GENERATIVE_ONLY
    assert "AML.T0011.000" in {r.technique for r in tables.MODEL_FORMATS["pickle"]}
    assert "skops" not in tables.MODEL_FORMATS
