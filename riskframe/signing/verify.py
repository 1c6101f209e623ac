"""Check signed evidence: the envelope's signature, then every digest it vouches for.

Everything that can be wrong with the evidence is collected and reported together, each problem
naming its file: a signature by another key, an envelope that is not DSSE, a statement that is
not riskframe's, a report or an input whose bytes changed, a file missing from or added to a
folder artifact, a file in the assessment directory that the statement does not sign (a report
added after signing reads as vouched for when it is not). Problems with the command line itself
(no such directory, no usable public key) are :class:`~riskframe.errors.UsageError` instead.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskframe.errors import UsageError
from riskframe.io.digests import sha256_file
from riskframe.signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, EnvelopeError, parse_envelope, verify_envelope
from riskframe.signing.keys import PublicKey
from riskframe.signing.statement import ENVELOPE_FILE, PREDICATE_TYPE, STATEMENT_TYPE, folder_files

MAX_ENVELOPE_BYTES = 256 << 20  # an envelope listing a million files stays well under this


@dataclass
class Verification:
    """The outcome of :func:`verify_assessment`: ``problems`` is empty when everything holds."""

    envelope: Path
    keyid: str
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    predicate: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_assessment(directory: str | Path, key: PublicKey, root: str | Path | None = None) -> Verification:
    """Verify the signed evidence in an assessment directory.

    Parameters
    ----------
    directory
        Where ``riskframe assess --sign`` wrote the reports and ``assessment.intoto.jsonl``.
    key
        The public key the evidence must be signed with.
    root
        What the inputs' paths are relative to: the directory the assessment ran in (default:
        the working directory).

    Raises
    ------
    UsageError
        ``directory`` is not a directory.

    Examples
    --------
    >>> from riskframe.signing.keys import load_public_key
    >>> result = verify_assessment("reports/x", load_public_key("evidence.pub"))  # doctest: +SKIP
    >>> result.ok, result.checked  # doctest: +SKIP
    (True, 9)
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise UsageError(f"{directory}: no such assessment directory")
    result = Verification(folder / ENVELOPE_FILE, key.keyid)
    statement = _signed_statement(result, key)
    if statement is not None:
        result.predicate = statement.get("predicate") or {}
        _check_subjects(result, statement, folder, Path(root) if root else Path.cwd())
    return result


def _signed_statement(result: Verification, key: PublicKey) -> dict[str, Any] | None:
    """The statement, once its envelope is well formed and signed by ``key``; else None and a problem."""
    path = result.envelope
    envelope = _read_envelope(result)
    if envelope is None:
        return None
    if not verify_envelope(envelope, key):
        hints = sorted({s.keyid for s in envelope.signatures if s.keyid})
        if hints and key.keyid not in hints:
            result.problems.append(f"{path}: signed with another key (keyid {', '.join(h[:16] for h in hints)}; "
                                   f"the given public key is {key.keyid[:16]})")
        else:
            result.problems.append(f"{path}: the signature does not match the signed statement "
                                   "(the envelope was edited after signing)")
        return None
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        result.problems.append(f"{path}: payloadType is {envelope.payload_type!r}, not an in-toto statement "
                               f"({IN_TOTO_PAYLOAD_TYPE})")
        return None
    try:
        statement = json.loads(envelope.payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        result.problems.append(f"{path}: the signed payload is not JSON")
        return None
    problem = _statement_problem(statement)
    if problem:
        result.problems.append(f"{path}: {problem}")
        return None
    return statement  # type: ignore[no-any-return]


def _read_envelope(result: Verification) -> Envelope | None:
    path = result.envelope
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or a device would block or never end
            result.problems.append(f"{path}: not a regular file (a FIFO, socket or device); not an envelope")
            return None
        if path.stat().st_size > MAX_ENVELOPE_BYTES:
            limit = MAX_ENVELOPE_BYTES >> 20
            result.problems.append(f"{path}: larger than {limit} MiB; not an envelope riskframe wrote")
            return None
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        result.problems.append(f"{path}: missing: the assessment is not signed (run 'riskframe assess ... --sign KEY')")
        return None
    except UnicodeDecodeError:
        result.problems.append(f"{path}: malformed envelope: not UTF-8 text")
        return None
    except OSError as exc:
        result.problems.append(f"{path}: cannot read the envelope: {exc.strerror or exc}")
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        result.problems.append(f"{path}: malformed envelope: expected one JSON envelope on one line, "
                               f"found {len(lines)}")
        return None
    try:
        return parse_envelope(lines[0])
    except EnvelopeError as exc:
        result.problems.append(f"{path}: malformed envelope: {exc}")
        return None


def _statement_problem(statement: Any) -> str | None:
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return f"the signed payload is not an in-toto Statement v1 (_type {STATEMENT_TYPE})"
    if statement.get("predicateType") != PREDICATE_TYPE:
        return f"predicateType is {statement.get('predicateType')!r}, not riskframe's {PREDICATE_TYPE}"
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not all(_well_formed(s) for s in subjects):
        return "subject must be a list of {name, digest: {sha256}} entries"
    return None


def _well_formed(subject: Any) -> bool:
    return (isinstance(subject, dict) and isinstance(subject.get("name"), str)
            and isinstance(subject.get("digest"), dict) and isinstance(subject["digest"].get("sha256"), str))


def _check_subjects(result: Verification, statement: dict[str, Any], folder: Path, root: Path) -> None:
    for subject in statement["subject"]:
        role = (subject.get("annotations") or {}).get("role")
        path = folder / subject["name"] if role == "report" else _under(root, subject["name"])
        shown = path.as_posix() if role == "report" else subject["name"]
        result.checked += 1
        _check_file(result, path, shown, subject["digest"]["sha256"])
    _check_unsigned(result, statement, folder, root)
    signed = {s["name"] for s in statement["subject"]}
    for entry in result.predicate.get("folders") or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        directory = _under(root, name) if isinstance(name, str) else None
        if directory is None or not directory.is_dir():
            continue  # its files are reported missing one by one
        added = [f"{name}/{rel}" for rel in folder_files(directory) if f"{name}/{rel}" not in signed]
        result.problems += [f"{path}: added to the folder artifact {name} after signing" for path in added]


def _check_unsigned(result: Verification, statement: dict[str, Any], folder: Path, root: Path) -> None:
    """Every file of the assessment directory must be signed (or be the envelope itself)."""
    signed = {_real(folder / s["name"] if (s.get("annotations") or {}).get("role") == "report"
                    else _under(root, s["name"])) for s in statement["subject"]}
    signed.add(_real(result.envelope))
    unsigned = [name for name in folder_files(folder) if _real(folder / name) not in signed]
    result.problems += [f"{(folder / name).as_posix()}: not signed: added to the assessment directory after signing "
                        "(or left there by an earlier run)" for name in unsigned]


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _check_file(result: Verification, path: Path, shown: str, expected: str) -> None:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # hashing a FIFO would block: it is no signed file
            kind = "a folder" if path.is_dir() else "not a regular file (a FIFO, socket or device)"
            result.problems.append(f"{shown}: is {kind} now (signed sha256 {expected[:16]}...)")
            return
        actual = sha256_file(path)
    except FileNotFoundError:
        result.problems.append(f"{shown}: missing (signed sha256 {expected[:16]}...)")
        return
    except OSError as exc:
        result.problems.append(f"{shown}: cannot be read: {exc.strerror or exc}")
        return
    if actual != expected:
        result.problems.append(f"{shown}: edited after signing (signed sha256 {expected[:16]}..., "
                               f"now {actual[:16]}...)")


def _under(root: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else root / path
