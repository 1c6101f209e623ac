"""Which techniques apply to a stage: by kind (mitigation lifecycle), trust and artifacts."""

from __future__ import annotations

import pytest

from riskframe.catalog import load_catalog
from riskframe.spec.pipeline import Artifact, Stage
from riskframe.threat.applicability import is_text_corpus, stage_techniques
from riskframe.threat.model import ArtifactRef
from riskframe.threat.tables import GENERATIVE_ONLY, SERVED_ONLY


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def sources(found, technique):
    return [r.source for r in found.get(technique, [])]


def test_kind_opens_the_techniques_whose_mitigations_apply_in_that_lifecycle_phase(catalog):
    found = stage_techniques(Stage(name="s", kind="data-preparation"), catalog)
    expected = {t.id for t in catalog.atlas.techniques if t.id not in GENERATIVE_ONLY | SERVED_ONLY
                and any("data-preparation" in m.lifecycle for m in catalog.mitigations_for(t.id))}
    assert set(found) == expected
    # AML.T0020 Poison Training Data is addressed by AML.M0007 Sanitize Training Data, applied at data preparation.
    assert found["AML.T0020"][0].text.startswith("mitigated at data-preparation by ")
    assert "AML.M0007" in found["AML.T0020"][0].text


def test_an_untrusted_stage_opens_supply_chain_techniques_that_fit_its_artifacts(catalog):
    data = Artifact(name="raw", type="dataset", path="raw.npz")
    trusted = stage_techniques(Stage(name="s", kind="data-understanding", artifacts=[data]), catalog)
    untrusted = stage_techniques(Stage(name="s", kind="data-understanding", trust="untrusted", artifacts=[data]),
                                 catalog)
    assert "trust" not in sources(trusted, "AML.T0010")
    assert "trust" in sources(untrusted, "AML.T0010") and "trust" in sources(untrusted, "AML.T0019")
    assert "trust" in sources(untrusted, "AML.T0010.002")
    assert "trust" not in sources(untrusted, "AML.T0058")  # poisoned models need a model artifact
    text = next(r.text for r in untrusted["AML.T0019"] if r.source == "trust")
    assert text == ("untrusted source: the supplier (or whoever it copies from) can publish the dataset "
                    "already poisoned")


@pytest.mark.parametrize(("path", "fmt", "opens"), [
    ("model.pkl", None, True), ("model.joblib", None, True), ("model.bin", "pickle", True),
    ("model.skops", None, False), ("model.onnx", None, False), ("model.safetensors", None, False),
])
def test_a_pickle_format_model_opens_unsafe_artifact_execution(catalog, path, fmt, opens):
    model = Artifact(name="m", type="model", path=path, format=fmt)
    found = stage_techniques(Stage(name="s", kind="deployment", artifacts=[model]), catalog)
    assert ("artifact" in sources(found, "AML.T0011.000")) is opens
    assert "artifact" in sources(found, "AML.T0018")  # any model file can be manipulated


def test_a_text_corpus_opens_llm_techniques_that_the_kind_alone_does_not(catalog):
    plain = stage_techniques(Stage(name="s", kind="deployment"), catalog)
    assert not set(plain) & GENERATIVE_ONLY
    corpus = Artifact(name="docs", type="files", path="corpus/docs.jsonl")
    found = stage_techniques(Stage(name="s", kind="deployment", artifacts=[corpus]), catalog)
    assert {"AML.T0051", "AML.T0051.001", "AML.T0070", "AML.T0057"} <= set(found)
    assert found["AML.T0070"][-1].text == ("files docs: documents added to a retrieval corpus steer what the "
                                           "model retrieves and says")
    assert found["AML.T0070"][-1].artifact == ArtifactRef(type="files", name="docs")
    assert all(r.artifact is None for r in found["AML.T0070"] if r.source != "artifact")


def test_text_corpora_are_recognised_by_format_or_suffix():
    assert is_text_corpus(Artifact(name="a", type="files", path="x/notes.TXT"))
    assert is_text_corpus(Artifact(name="a", type="files", path="x/dump", format="jsonl"))
    assert not is_text_corpus(Artifact(name="a", type="dataset", path="x/data.npz"))
    assert not is_text_corpus(Artifact(name="a", type="model", path="x/model.md"))


def test_a_classifier_opens_no_deepfake_or_phishing_and_serving_attacks_only_where_it_is_served(catalog):
    """The reviewer's case: deepfakes and phishing at every stage of a digits classifier."""
    for kind in ("data-understanding", "data-preparation", "model-engineering", "model-evaluation", "deployment"):
        found = stage_techniques(Stage(name="s", kind=kind), catalog)
        assert not {"AML.T0052", "AML.T0052.001", "AML.T0088"} & set(found), kind
        assert ("AML.T0024" in found) == (kind == "deployment"), kind
