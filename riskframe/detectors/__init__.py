"""Detectors: the contract (:mod:`.base`, :mod:`.context`), the registry (:mod:`.registry`), and
the built-in detectors by family (:mod:`.labels`, :mod:`.backdoor`, :mod:`.provenance`).

Importing this package imports no detector; the registry imports them when it is built.
"""
