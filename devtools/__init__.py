"""Development tools: test corpora and generators, never shipped in the wheel (the wheel carries
``riskframe/`` only). Run from the repository root, e.g. ``python -m devtools.scanning.derive``."""
