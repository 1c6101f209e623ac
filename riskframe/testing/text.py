"""The tiny text stage the contract suite runs text detectors and model probes on.

Built on disk on first use in the working folder: ``corpus.jsonl`` (300 labelled review records
with two of every kind of personal data and credential planted, see
:func:`riskframe.scenarios.text.audit_corpus`), ``tiny-lm.npz`` (a byte-level n-gram model trained
on that corpus, :mod:`riskframe.llm.tiny_lm`), ``endpoint.yaml``, the endpoint file that serves
it through the python adapter, and ``garak.report.jsonl``, a minimal report in garak's format (its
``init``, ``start_run setup``, ``eval`` and ``completion`` entries; the tests read a report real
garak wrote). ``dataset`` binds the corpus, ``endpoint`` the model, ``files`` all three.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from riskframe.detectors.context import ArtifactStore, RunContext
from riskframe.io.digests import sha256_path
from riskframe.spec.pipeline import Artifact, Stage

TINY_RECORDS = 300
_ENDPOINT = """apiVersion: riskframe/v1
kind: Endpoint
metadata: {name: tiny-lm, supplier: riskframe contract suite}
adapter: python
entry: riskframe.llm.tiny_lm:load
weights: tiny-lm.npz
"""

_GARAK = [
    {"entry_type": "init", "garak_version": "0.17.1", "start_time": "2026-01-01T00:00:00", "run": "contract"},
    {"entry_type": "start_run setup", "plugins.target_type": "openai.OpenAICompatible",
     "plugins.target_name": "tiny-lm"},
    {"entry_type": "eval", "probe": "dan.Dan_11_0", "detector": "dan.DAN", "passed": 1, "fails": 0,
     "total_evaluated": 1},
    {"entry_type": "eval", "probe": "promptinject.HijackHateHumans", "detector": "promptinject.AttackRogueString",
     "passed": 9, "fails": 1, "total_evaluated": 10},
    {"entry_type": "completion", "end_time": "2026-01-01T00:00:10", "run": "contract"},
]


def tiny_text_context(workdir: Path, roles: Iterable[str], seed: int = 0) -> RunContext:
    """A run context binding the tiny corpus (``dataset``) and the tiny model (``endpoint``)."""
    stage = tiny_text_stage(workdir)
    by_name = {a.name: a for a in stage.artifacts}
    available = {"dataset": (by_name["corpus"],), "endpoint": (by_name["tiny-lm"],), "files": tuple(stage.artifacts)}
    bindings = {role: available[role] for role in roles if role in available}
    return RunContext(stage=stage, bindings=bindings, store=ArtifactStore(workdir), seed=seed)


def tiny_text_stage(workdir: Path) -> Stage:
    """Write the tiny text stage's files into ``workdir`` (once) and return the stage declaring them."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "corpus.jsonl").exists():
        from riskframe.llm.tiny_lm import ByteNgramLM
        from riskframe.scenarios.text import audit_corpus

        corpus = audit_corpus(n_records=TINY_RECORDS, seed=0, per_type=2, decoys_per_kind=1, poison_copies=5)
        corpus.write_jsonl(workdir / "corpus.jsonl")
        texts = [json.loads(line)["text"] for line in (workdir / "corpus.jsonl").read_text().splitlines()]
        ByteNgramLM.train(texts, order=6).save(workdir / "tiny-lm.npz")
        (workdir / "endpoint.yaml").write_text(_ENDPOINT)
        (workdir / "garak.report.jsonl").write_text("".join(json.dumps(e) + "\n" for e in _GARAK))
    artifacts = [Artifact(name="corpus", type="dataset", path="corpus.jsonl", format="jsonl", labels="label"),
                 Artifact(name="tiny-lm", type="endpoint", path="endpoint.yaml"),
                 Artifact(name="garak-run", type="files", path="garak.report.jsonl", format="garak")]
    pinned = [a.model_copy(update={"sha256": sha256_path(workdir / a.path)}) for a in artifacts]
    return Stage(name="tiny-text", kind="model-evaluation", trust="untrusted", artifacts=pinned)
