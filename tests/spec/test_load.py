"""Loading documents: every problem of a file at once, in the user-facing shape."""

from __future__ import annotations

import textwrap

import pytest

from riskframe.errors import DocumentError
from riskframe.spec import Pipeline, load_document, load_pipeline, load_policy
from riskframe.spec.load import load_controls


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


PIPELINE = """\
    apiVersion: riskframe/v1
    kind: Pipeline
    metadata: {name: demo}
    stages:
      - name: ingest
        kind: data-understanding
        trust: untrusted
        artifacts:
          - {name: raw, type: dataset, path: raw.npz}
      - name: train
        kind: model-engineering
        needs: [ingest]
    """


def test_a_valid_pipeline_loads_with_its_source(tmp_path):
    path = write(tmp_path, "p.yaml", PIPELINE)
    pipeline = load_pipeline(path)
    assert isinstance(pipeline, Pipeline)
    assert pipeline.stage("train").needs == ["ingest"]
    assert pipeline.stage("ingest").artifacts[0].resolved_format == "npz"
    assert pipeline.path == path and pipeline.base_dir == tmp_path
    assert pipeline.source.locate(("stages", 1, "needs")) == (12, 5)


def test_every_problem_in_a_file_is_reported_at_once(tmp_path):
    path = write(tmp_path, "p.yaml", """\
        apiVersion: riskframe/v1
        kind: Pipeline
        metadata: {name: demo, criticality: extreme}
        stages:
          - name: ingest
            kind: data-understandin
            trust: untrusted
            colour: blue
        """)
    with pytest.raises(DocumentError) as info:
        load_pipeline(path)
    lines = str(info.value).splitlines()
    assert lines == [
        f"{path}:3:24: metadata.criticality: must be one of low, medium, high. Got 'extreme' instead.",
        f"{path}:6:5: stages[0].kind: must be one of data-understanding, data-preparation, model-engineering, "
        "model-evaluation, deployment, monitoring. Got 'data-understandin' instead (did you mean 'data-understanding'?).",
        f"{path}:8:5: stages[0].colour: unknown field. Allowed fields: artifacts, description, kind, name, needs, trust",
    ]
    assert info.value.line == 3 and info.value.field == "metadata.criticality" and info.value.value == "extreme"


def test_unknown_key_suggests_the_nearest_field(tmp_path):
    path = write(tmp_path, "p.yaml", PIPELINE.replace("trust: untrusted", "trsut: untrusted"))
    with pytest.raises(DocumentError) as info:
        load_pipeline(path)
    assert "stages[0].trsut: unknown field (did you mean 'trust'?)" in str(info.value)


def test_wrong_type_and_range_messages(tmp_path):
    path = write(tmp_path, "c.yaml", """\
        apiVersion: riskframe/v1
        kind: Control
        id: c1
        title: Ensure something
        detector: label-issues
        effectiveness: 1.5
        timeout: soon
        """)
    with pytest.raises(DocumentError) as info:
        load_document(path)
    assert str(info.value).splitlines() == [
        f"{path}:6:1: effectiveness: must be a number in [0, 1]. Got 1.5 instead.",
        f"{path}:7:1: timeout: must be a number. Got 'soon' instead.",
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("", "a riskframe document must be a mapping with apiVersion and kind; got an empty file"),
    ("- a\n- b\n", "a riskframe document must be a mapping with apiVersion and kind; got a list"),
    ("apiVersion: riskframe/v1\nkind: Polcy\n", "kind: unknown document kind 'Polcy' (did you mean 'Policy'?); "
                                               "expected one of Pipeline, Policy, Control, Waivers"),
    ("apiVersion: riskframe/v1\n", "kind: required field is missing"),
    ("apiVersion: riskframe/v2\nkind: Policy\n", "apiVersion: must be 'riskframe/v1'. Got 'riskframe/v2' instead."),
])
def test_document_shape_errors(tmp_path, text, message):
    path = write(tmp_path, "d.yaml", text)
    with pytest.raises(DocumentError) as info:
        load_document(path)
    assert str(info.value).endswith(message)
    assert str(info.value).startswith(f"{path}:")


def test_expected_kind_is_enforced(tmp_path):
    path = write(tmp_path, "p.yaml", PIPELINE)
    with pytest.raises(DocumentError, match="expected a kind: Policy document, got 'Pipeline'"):
        load_policy(path)


def test_duplicate_control_ids_across_files(tmp_path):
    body = "apiVersion: riskframe/v1\nkind: Control\nid: same\ntitle: Ensure x\ndetector: label-issues\n"
    first, second = write(tmp_path, "a.yaml", body), write(tmp_path, "b.yaml", body)
    with pytest.raises(DocumentError) as info:
        load_controls([first, second])
    assert str(info.value) == f"{second}:3:1: id: control id 'same' is already defined in {first}"


def test_representations_need_of(tmp_path):
    path = write(tmp_path, "p.yaml", PIPELINE.replace(
        "{name: raw, type: dataset, path: raw.npz}", "{name: reps, type: representations, path: r.npy}"))
    with pytest.raises(DocumentError, match="a representations artifact needs `of:`"):
        load_pipeline(path)


# A model's registered version (mlflow:) and signature (signature:) ---------------------------------

MODEL_PIPELINE = PIPELINE.replace("needs: [ingest]\n", "needs: [ingest]\n        artifacts:\n          - MODEL\n")


def _with_model(tmp_path, model):
    return write(tmp_path, "p.yaml", MODEL_PIPELINE.replace("MODEL", model))


def test_a_model_names_its_registered_version_and_signature_short_or_in_full(tmp_path):
    short = load_pipeline(_with_model(tmp_path, "{name: m, type: model, path: m.onnx, mlflow: 'models:/digits@champion', "
                                                "signature: m.onnx.sig}"))
    model = short.stage("train").artifacts[0]
    assert (model.mlflow.model, model.mlflow.tracking_uri, model.signature.path) == (
        "models:/digits@champion", None, "m.onnx.sig")
    full = load_pipeline(_with_model(tmp_path, (
        "{name: m, type: model, path: m.onnx, mlflow: {model: 'models:/digits/3', tracking_uri: 'sqlite:///mlflow.db', "
        "code_version: 3f2a1b0}, signature: {path: m.sig, certificate_chain: [ca.pem]}}")))
    model = full.stage("train").artifacts[0]
    assert (model.mlflow.code_version, model.signature.certificate_chain) == ("3f2a1b0", ["ca.pem"])


@pytest.mark.parametrize(("model", "message"), [
    ("{name: m, type: model, path: m.onnx, mlflow: 'models:/digits'}",
     "stages[1].artifacts[0].mlflow.model: must be models:/NAME/VERSION or models:/NAME@alias. Got 'models:/digits' "
     "instead."),
    ("{name: d, type: dataset, path: d.npz, mlflow: 'models:/digits/1'}",
     "`mlflow:` belongs to a model; a dataset artifact has none"),
    ("{name: m, type: model, path: m.onnx, signature: {path: m.sig, public_key: k.pub, certificate_chain: [ca.pem]}}",
     "give one way to verify a signature, not public_key and certificate_chain"),
    ("{name: m, type: model, path: m.onnx, signature: {path: m.sig, identity: me@example.org}}",
     "a Sigstore signature needs identity, oidc_issuer and trust_config"),
])
def test_a_bad_registered_version_or_signature_is_a_located_error(tmp_path, model, message):
    path = _with_model(tmp_path, model)
    with pytest.raises(DocumentError) as info:
        load_pipeline(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:14:")
