"""Signed evidence: an in-toto Statement over the reports and inputs, in an Ed25519-signed DSSE
envelope written beside the reports as ``assessment.intoto.jsonl``.

>>> from riskframe.signing import sign_assessment, verify_assessment  # doctest: +SKIP
>>> sign_assessment(assessment, out_dir, written, load_private_key("ci.key"))  # doctest: +SKIP
PosixPath('reports/x/assessment.intoto.jsonl')
>>> verify_assessment(out_dir, load_public_key("ci.pub")).ok  # doctest: +SKIP
True

Modules: :mod:`~riskframe.signing.keys` (Ed25519 PEM key pairs), :mod:`~riskframe.signing.dsse`
(envelope and PAE), :mod:`~riskframe.signing.statement` (what is signed),
:mod:`~riskframe.signing.verify` (checking it all again).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from riskframe.assessment import Assessment
from riskframe.errors import UsageError
from riskframe.signing.dsse import IN_TOTO_PAYLOAD_TYPE, sign_envelope
from riskframe.signing.keys import PrivateKey, generate_key, load_private_key, load_public_key, write_key_pair
from riskframe.signing.statement import ENVELOPE_FILE, build_statement, statement_bytes
from riskframe.signing.verify import Verification, verify_assessment

__all__ = ["ENVELOPE_FILE", "Verification", "generate_key", "load_private_key", "load_public_key",
           "sign_assessment", "verify_assessment", "write_key_pair"]


def sign_assessment(assessment: Assessment, out_dir: Path, written: Sequence[Path], key: PrivateKey,
                    root: Path | None = None) -> Path:
    """Sign the reports just written to ``out_dir`` and the assessment's inputs; return the envelope.

    ``assessment.json`` must be among ``written``: it is the statement's first subject.

    Raises
    ------
    UsageError
        ``assessment.json`` was not written (sign needs the json format).
    riskframe.signing.statement.InputChangedError
        An input changed while it was being assessed.
    """
    names = [Path(p).name for p in written]
    if "assessment.json" not in names:
        raise UsageError("--sign needs the json format: the signed statement's first subject is assessment.json")
    names.sort(key=lambda name: name != "assessment.json")  # stable: the rest keep their order
    statement = build_statement(assessment, out_dir, names, root)
    envelope = sign_envelope(statement_bytes(statement), IN_TOTO_PAYLOAD_TYPE, key)
    path = out_dir / ENVELOPE_FILE
    path.write_text(envelope.to_json() + "\n", encoding="utf-8")
    return path
