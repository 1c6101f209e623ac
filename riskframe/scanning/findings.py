"""What a scan reports: findings, one verdict per file, and the limits that bound a scan."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from riskframe.scanning.allowlist import Severity, severity_rank

Verdict = Literal["safe", "unsafe", "unsupported"]
MAX_FINDINGS = 200  # per file; a pickle naming 10^6 globals still yields a readable report


@dataclass(frozen=True)
class Finding:
    """One reason a file is unsafe.

    ``global_`` is the dotted global (``posix.system``) or None for a structural problem (a
    truncated stream); ``offset`` is the byte in the stream where the global is named (in the
    decompressed member ``member`` for archives); ``severity`` is ``low`` to ``critical``.
    ``reason`` explains it in a sentence. A structural finding also has a ``title``, what it is in
    a few words ("corrupt zip archive"), which summaries name where a global finding names its
    global; it is given where the finding is made, so nothing cuts it out of the reason.

    >>> Finding(None, 12, "low", "not well-formed ONNX: bad field")
    Traceback (most recent call last):
    ...
    TypeError: a structural finding (no global) needs a title: 'not well-formed ONNX: bad field'
    """

    global_: str | None
    offset: int | None
    severity: Severity
    reason: str
    member: str | None = None
    title: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.global_ is None and not self.title:
            # A mistake in riskframe, not in the scanned file: not a ValueError, which the scanners
            # catch from codecs and would report as corrupt input.
            raise TypeError(f"a structural finding (no global) needs a title: {self.reason!r}")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"global": self.global_, "offset": self.offset,
                                "severity": self.severity, "reason": self.reason}
        if self.title is not None:
            data["title"] = self.title
        if self.member is not None:
            data["member"] = self.member
        return data

    def within(self, member: str) -> Finding:
        """The same finding, located inside archive member ``member``."""
        return replace(self, member=f"{member}/{self.member}" if self.member else member)

    def __str__(self) -> str:
        where = f" in {self.member}" if self.member else ""
        at = f" at byte {self.offset}" if self.offset is not None else ""
        what = self.global_ or "structure"
        return f"{what}{where}{at} ({self.severity}): {self.reason}"


@dataclass(frozen=True)
class ScanLimits:
    """Bounds that keep a scan's time, memory and disk use finite on hostile input.

    The defaults admit multi-gigabyte checkpoints while stopping zip and decompression bombs:
    at most ``max_members`` entries per archive, ``max_archive_bytes`` decompressed bytes read
    from one archive's members, ``max_decompressed_bytes`` from one compressed stream, archives
    nested ``max_depth`` deep, ``max_memo``/``max_stack`` entries in a pickle's memo and stack,
    and ``max_opcodes`` pickle opcodes walked one by one per file (runs of opcodes that cannot
    matter, such as a constant pushed and popped, are skipped in bulk and not counted; they are
    bounded by the file's or the decompressed size). A scan that hits a limit cannot vouch for the
    file: it is reported ``unsafe`` (medium).
    """

    max_members: int = 10_000
    max_archive_bytes: int = 4 << 30
    max_decompressed_bytes: int = 4 << 30
    max_depth: int = 3
    max_memo: int = 1_000_000
    max_stack: int = 1_000_000
    max_opcodes: int = 100_000_000


@dataclass
class Budget:
    """What is left of a file scan's opcode budget (shared by every pickle walked in the file)."""

    opcodes: int


@dataclass
class FileScan:
    """The scan of one file: its recognised format, verdict, worst severity and findings.

    ``verdict`` is ``safe`` (recognised, every part of it scanned or known-inert, and nothing
    found), ``unsafe`` (at least one finding) or ``unsupported`` (never treated as safe): the
    format was not recognised, or parts of the file are ``unverified``, i.e. archive members the
    scan could not read as any format it knows, or parts of a recognised format that can run code
    the scan cannot judge (a Keras config, a TensorFlow graph).
    """

    path: str
    format: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recognised: bool = True
    unverified: list[str] = field(default_factory=list)
    dropped: int = 0  # findings beyond MAX_FINDINGS, counted but not kept

    @classmethod
    def unreadable(cls, path: str, why: str) -> FileScan:
        """The scan of a file that cannot be opened or read: ``unsupported``, saying why."""
        return cls(path, "unreadable", recognised=False, notes=[f"cannot be read ({why}): the file was not scanned"])

    @property
    def verdict(self) -> Verdict:
        if self.findings:
            return "unsafe"
        return "safe" if self.recognised and not self.unverified else "unsupported"

    @property
    def unsupported_reason(self) -> str | None:
        """Why nothing vouches for the file, in a phrase; None unless the verdict is ``unsupported``.

        >>> FileScan("m.zip", "zip", unverified=["notes.txt"]).unsupported_reason
        'nothing vouches for part of it (notes.txt)'
        """
        if self.verdict != "unsupported":
            return None
        if not self.recognised:
            return "its format is not recognised"
        shown = ", ".join(self.unverified[:3]) + (f" and {len(self.unverified) - 3} more"
                                                  if len(self.unverified) > 3 else "")
        return f"nothing vouches for part of it ({shown})"

    @property
    def severity(self) -> Severity | None:
        """The worst finding's severity, or None when there is none."""
        worst = max(self.findings, key=lambda f: severity_rank(f.severity), default=None)
        return worst.severity if worst else None

    def add(self, finding: Finding) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)
        else:
            self.dropped += 1

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path, "format": self.format, "verdict": self.verdict,
            "severity": self.severity, "findings": [f.to_dict() for f in self.findings],
        }
        if self.dropped:
            data["findings_not_shown"] = self.dropped
        if self.unverified:
            data["unverified"] = list(self.unverified)
        if self.notes:
            data["notes"] = list(self.notes)
        return data
