"""Language models as riskframe probes reach them: endpoint files, adapters, and a tiny model.

- :mod:`riskframe.llm.adapters`: one interface (:class:`~riskframe.llm.adapters.LanguageModel`)
  over an OpenAI-compatible HTTP API or a local Python callable;
- :mod:`riskframe.llm.endpoint`: an ``endpoint`` artifact's file, loaded into an adapter;
- :mod:`riskframe.llm.tiny_lm`: a byte-level n-gram model trained in a second (examples, tests);
- :mod:`riskframe.llm.server`: an OpenAI-compatible server for a local model, on loopback only.
"""
