"""One module per ``riskframe`` command; each exposes ``register(subparsers)``."""
