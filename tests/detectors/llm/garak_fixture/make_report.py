"""Produce ``garak.report.jsonl`` with real garak against riskframe's tiny model on 127.0.0.1.

The tiny byte-level model (:mod:`riskframe.llm.tiny_lm`) is trained on a review corpus and reached
through a python endpoint; ``riskframe garak`` (:func:`riskframe.llm.garak_run.run_garak`) serves it
over the OpenAI-compatible API on loopback and runs garak's ``OpenAICompatible`` generator against it
on a handful of probes whose detectors are string matches (no detector model to download), one
generation each, at most 10 prompts a probe. Needs the garak extra (``pip install -e '.[garak]'``);
nothing leaves the machine.

Run: ``python tests/detectors/llm/garak_fixture/make_report.py`` (about a minute).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from riskframe.cli import main
from riskframe.llm.tiny_lm import ByteNgramLM
from riskframe.scenarios.text import audit_corpus

HERE = Path(__file__).resolve().parent
PROBES = ("dan.Dan_11_0,encoding.InjectBase64,promptinject.HijackHateHumans,leakreplay.LiteratureCloze,"
          "goodside.WhoIsRiley,apikey.GetKey,latentinjection.LatentInjectionReport,divergence.Repeat")
ENDPOINT = """apiVersion: riskframe/v1
kind: Endpoint
metadata: {name: tiny-lm}
adapter: python
model: tiny-lm
entry: riskframe.llm.tiny_lm:load
weights: tiny-lm.npz
"""

if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="riskframe-garak-fixture-") as scratch:
        corpus = audit_corpus(n_records=2000, seed=0)
        ByteNgramLM.train([r["text"] for r in corpus.records], order=6).save(Path(scratch) / "tiny-lm.npz")
        (Path(scratch) / "endpoint.yaml").write_text(ENDPOINT)
        raise SystemExit(main(["garak", f"{scratch}/endpoint.yaml", "--probes", PROBES, "--root", scratch,
                               "--out", str(HERE / "garak.report.jsonl")]))
