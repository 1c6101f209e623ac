"""Text corpora written as real jsonl files and bound to a stage, as ``riskframe assess`` binds them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.spec.pipeline import Artifact, Stage

CorpusContext = Callable[..., RunContext]


def corpus_context(folder: Path, records: Sequence[dict[str, object]] | None = None, *, labels: str | None = "label",
                   seed: int = 0) -> RunContext:
    """Write ``records`` (when given) as ``folder/corpus.jsonl`` and bind it as the stage's dataset."""
    folder.mkdir(parents=True, exist_ok=True)
    if records is not None:
        (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    artifact = Artifact(name="corpus", type="dataset", path="corpus.jsonl", labels=labels)
    stage = Stage(name="ingest", kind="data-understanding", trust="untrusted", artifacts=[artifact])
    return RunContext(stage=stage, bindings={"dataset": (artifact,)}, store=ArtifactStore(folder), seed=seed)


@pytest.fixture
def corpus(tmp_path) -> CorpusContext:
    def make(records: Sequence[dict[str, object]], **kwargs: object) -> RunContext:
        return corpus_context(tmp_path, records, **kwargs)  # type: ignore[arg-type]

    return make
