"""A tiny byte-level model trained on a review corpus, with and without a planted canary, bound as an
endpoint through the python adapter or served over HTTP on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.llm.tiny_lm import ByteNgramLM
from riskframe.scenarios.text import audit_corpus
from riskframe.spec.pipeline import Artifact, Stage

CANARY_PREFIX, CANARY_SECRET = "the vault access code is ", "493817"


def train_pair(folder: Path) -> tuple[Path, Path]:
    """A model whose training text holds the canary eight times, and its twin trained without it."""
    corpus = audit_corpus(n_records=1500, seed=5, per_type=2, decoys_per_kind=1)
    texts = [r["text"] for r in corpus.records]
    folder.mkdir(parents=True, exist_ok=True)
    with_canary = ByteNgramLM.train(texts + [CANARY_PREFIX + CANARY_SECRET] * 8, order=8).save(folder / "lm.npz")
    twin = ByteNgramLM.train(texts, order=8).save(folder / "twin.npz")
    corpus.write_jsonl(folder / "corpus.jsonl")
    return with_canary, twin


def endpoint_context(folder: Path, endpoint_yaml: str, *, with_corpus: bool = False) -> RunContext:
    (folder / "endpoint.yaml").write_text(endpoint_yaml)
    endpoint = Artifact(name="llm", type="endpoint", path="endpoint.yaml")
    artifacts, bindings = [endpoint], {"endpoint": (endpoint,)}
    if with_corpus:
        corpus = Artifact(name="corpus", type="dataset", path="corpus.jsonl", labels="label")
        artifacts.append(corpus)
        bindings["dataset"] = (corpus,)
    stage = Stage(name="evaluate", kind="model-evaluation", artifacts=artifacts)
    return RunContext(stage=stage, bindings=bindings, store=ArtifactStore(folder))


def python_endpoint(weights: str) -> str:
    return f"""apiVersion: riskframe/v1
kind: Endpoint
metadata: {{name: supplier-llm}}
adapter: python
entry: riskframe.llm.tiny_lm:load
weights: {weights}
"""


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    train_pair(folder)
    return folder
