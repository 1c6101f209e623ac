"""The malicious/benign corpus, built once per test session into a temporary folder.

Building it pickles payloads (never loads them), fits four small scikit-learn models and scripts
one TorchScript module: a few seconds, shared by every test that reads the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.scanning.corpus import Sample, build_corpus


@dataclass(frozen=True)
class Corpus:
    folder: Path
    canary: Path
    samples: list[Sample]

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def malicious(self) -> list[Sample]:
        return [s for s in self.samples if s.malicious]

    @property
    def benign(self) -> list[Sample]:
        return [s for s in self.samples if not s.malicious]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("model-corpus")
    canary = root / "CANARY_PAYLOAD_RAN"
    samples = build_corpus(root / "files", canary)
    return Corpus(root / "files", canary, samples)
