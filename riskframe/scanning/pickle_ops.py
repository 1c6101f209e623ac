"""Static analysis of pickle streams: every global a loader would import, never importing it.

:func:`walk_pickles` reads a stream opcode by opcode (all protocols 0-5) and keeps a symbolic
stack and memo (:mod:`riskframe.scanning._values`), so that a global is seen however it is named:

- ``GLOBAL`` and ``INST`` carry the module and name as text;
- ``STACK_GLOBAL`` takes them from the stack, where they may have come through the memo
  (``PUT``/``BINPUT``/``LONG_BINPUT``/``MEMOIZE`` then ``GET``/``BINGET``/``LONG_BINGET``): the memo
  is followed; operands that are not plain strings (computed by a call, too long) are a finding
  in themselves, since no ordinary pickler writes them;
- ``EXT1/2/4`` name a global through the copyreg extension registry, which only exists at load time.

Calls (``REDUCE``, ``NEWOBJ``, ``NEWOBJ_EX``, ``INST``, ``OBJ``) and ``BUILD`` are recorded on
the global they apply to, so a finding reads ``posix.system ... called by REDUCE at byte 40 with
('touch /tmp/canary',)``. A file may hold several pickles back to back; each is walked. joblib's
layout (array bytes written right after each ``NumpyArrayWrapper``, object arrays as a nested
pickle) is followed by :mod:`riskframe.scanning._joblib`.

Why a hand-written walker rather than :func:`pickletools.genops`: genops reads every argument
whole (a 4 GB ``BINBYTES8`` would be held in memory) and keeps no stack, so memo-routed
STACK_GLOBAL operands would be invisible. The opcode semantics follow CPython's ``pickle.py``.
"""

from __future__ import annotations

import _compat_pickle
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from riskframe.scanning._stream import ByteStream, LimitExceeded, Truncated, Unreadable
from riskframe.scanning._values import Call, Opaque, Ref, describe
from riskframe.scanning.allowlist import Allowlist, Severity
from riskframe.scanning.findings import Finding, ScanLimits

MAX_PICKLES = 10_000  # back-to-back pickles walked in one stream
_USES_SHOWN = 3


class Malformed(Exception):
    """The stream breaks the pickle grammar at ``offset`` (a loader would raise there)."""

    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        super().__init__(message)


@dataclass
class StreamReport:
    """What walking one stream found."""

    findings: list[Finding] = field(default_factory=list)
    pickles: int = 0
    globals: Counter[str] = field(default_factory=Counter)
    values: list[Any] = field(default_factory=list)  # the top value of each pickle
    end: int = 0  # stream offset after the last complete pickle
    complete: bool = False  # the stream ended right after a complete pickle
    calls: int = 0  # globals called or instantiated (how a cut-off stream still proves to be a pickle)


class Walker:
    """Walks pickles from one :class:`ByteStream`, collecting findings into a report."""

    def __init__(self, stream: ByteStream, allowlist: Allowlist, report: StreamReport,
                 limits: ScanLimits, *, torchscript: bool = False, nesting: int = 0) -> None:
        self.stream, self.allowlist, self.report = stream, allowlist, report
        self.limits, self.torchscript = limits, torchscript
        self.nesting = nesting  # joblib object arrays: pickles inside pickles
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}
        self.seen = bytearray()  # one bit per memo index written (indices below _SEEN_LIMIT)
        self.memo_count = 0
        self.texts_kept = 0
        self.recent_texts: deque[tuple[int, str]] = deque(maxlen=_RECENT)
        self.proto = 0
        self.flagged: list[Ref] = []

    # -- one pickle --------------------------------------------------------------------------
    def walk_one(self) -> Any:
        """Walk to the next STOP; return the pickle's top value. Raises Truncated/Malformed."""
        from riskframe.scanning._opcodes import HANDLERS

        self.stack, self.marks, self.memo, self.seen, self.memo_count = [], [], {}, bytearray(), 0
        self.texts_kept = 0
        self.recent_texts.clear()
        self.proto, self.flagged = 0, []
        stream, stack, max_stack = self.stream, self.stack, self.limits.max_stack
        read_byte = stream.read_byte
        try:
            while True:
                # ByteStream.read_byte, inlined when the byte is buffered: this loop is the hot path
                buf, pos = stream._buf, stream._pos
                offset = stream._base + pos
                if pos < len(buf):
                    code = buf[pos]
                    stream._pos = pos + 1
                else:
                    code = read_byte()
                handler = HANDLERS[code] if code >= 0 else None
                if handler is None:
                    if code < 0:
                        raise Truncated(offset, "a pickle (no STOP opcode)")
                    raise Malformed(offset, f"unknown opcode 0x{code:02x}")
                if handler(self, offset):
                    return self.pop(offset)
                if len(stack) > max_stack:
                    raise LimitExceeded(f"more than {max_stack} stack entries")
        finally:
            self._report_flagged()

    # -- stack and memo ----------------------------------------------------------------------
    def push(self, value: Any) -> None:
        self.stack.append(value)

    def pop(self, offset: int) -> Any:
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise Malformed(offset, "stack underflow")
        return self.stack.pop()

    def top(self, offset: int) -> Any:
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise Malformed(offset, "stack underflow")
        return self.stack[-1]

    def pop_mark(self, offset: int) -> list[Any]:
        if not self.marks:
            raise Malformed(offset, "an opcode needs a MARK but none is on the stack")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def put(self, index: int, offset: int) -> None:
        """PUT/MEMOIZE. Only values the scan needs later are kept (see :func:`_worth_keeping`),
        so the memo of a pickle with millions of entries stays small."""
        stack = self.stack
        if len(stack) <= (self.marks[-1] if self.marks else 0):
            raise Malformed(offset, "stack underflow")
        value = stack[-1]
        if index < _SEEN_LIMIT:
            seen, byte, bit = self.seen, index >> 3, 1 << (index & 7)
            if byte >= len(seen):
                seen.extend(bytes(byte - len(seen) + 4096))
            if not seen[byte] & bit:
                seen[byte] |= bit
                self.memo_count += 1
        else:
            self.memo_count += 1
        kind = _worth_keeping(value)
        if kind is None:
            if self.memo:
                self.memo.pop(index, None)
            return
        room = self.texts_kept < kept_texts() if kind == "text" else len(self.memo) < self.limits.max_memo
        if room or index in self.memo:
            self.texts_kept += kind == "text" and index not in self.memo
            self.memo[index] = value
        elif kind == "text":
            self.recent_texts.append((index, value))

    def memo_size(self) -> int:
        """``len(memo)`` as the unpickler counts it: MEMOIZE stores at this index."""
        return self.memo_count

    def get(self, index: int, offset: int) -> None:
        if index in self.memo:
            self.push(self.memo[index])
        elif recent := next((text for i, text in self.recent_texts if i == index), None):
            self.push(recent)
        elif index >= _SEEN_LIMIT or (index >> 3 < len(self.seen) and self.seen[index >> 3] & (1 << (index & 7))):
            self.push(Opaque("a value the scan did not need to keep"))
        else:
            raise Malformed(offset, f"memo index {index} is read before it is written")

    # -- globals and calls -------------------------------------------------------------------
    def named_global(self, module: str, name: str, offset: int, opcode: str) -> Ref:
        """Record a global named at ``offset`` and flag it unless the allowlist admits it."""
        module, name = _fix_imports(module, name)
        ref = Ref(module, name, offset, opcode)
        self.report.globals[ref.dotted] += 1
        verdict = self.allowlist.classify(module, name, torchscript=self.torchscript)
        if verdict.severity is not None:
            ref.severity, ref.reason = verdict.severity, verdict.reason
            self.flagged.append(ref)
        return ref

    def called(self, func: Any, args: Any, offset: int, opcode: str) -> Call:
        """Record that ``func`` is called (or instantiated) at ``offset``."""
        if isinstance(func, Ref):
            self.report.calls += 1
            if func.severity and len(func.uses) < _USES_SHOWN:
                func.uses.append(f"called by {opcode} at byte {offset} with {describe(args, 80)}")
        else:
            self.finding(None, offset, "high", f"{opcode} calls {describe(func, 60)}, a value computed "
                                               "while loading rather than a named global; no ordinary "
                                               "pickler does this")
        return Call(func, args, opcode, offset)

    def mutated(self, target: Any, offset: int, opcode: str) -> None:
        """APPEND/SETITEM/BUILD applied directly to a global changes a module or class in place."""
        if isinstance(target, Ref):
            self.finding(target.dotted, offset, "high",
                         f"{opcode} changes the global {target.dotted} itself (not an instance of it): "
                         "a way to tamper with a module or class while loading")

    def _pin_operands(self, *operands: str) -> None:
        """Keep memoized operands even past the text limit: picklers write a module's name once
        and fetch it from the memo for every later global of that module."""
        for index, text in self.recent_texts:
            if text in operands:
                self.memo[index] = text

    def finding(self, global_: str | None, offset: int | None, severity: Severity, reason: str) -> None:
        self.report.findings.append(Finding(global_, offset, severity, reason))

    def _report_flagged(self) -> None:
        for ref in self.flagged:
            context = "".join(f"; {use}" for use in ref.uses)
            self.finding(ref.dotted, ref.offset, ref.severity,  # type: ignore[arg-type]
                         f"{ref.reason} (named by {ref.opcode}{context})")
        self.flagged = []

    def stack_global(self, offset: int) -> None:
        name, module = self.pop(offset), self.pop(offset)
        if isinstance(module, str) and isinstance(name, str):
            self._pin_operands(module, name)
            self.push(self.named_global(module, name, offset, "STACK_GLOBAL"))
            return
        shown = f"{describe(module, 60)} / {describe(name, 60)}"
        self.finding(f"{_operand(module)}.{_operand(name)}", offset, "high",
                     f"STACK_GLOBAL operands are not plain strings ({shown}): the imported name is "
                     "computed while loading, which hides it from scanners")
        self.push(Opaque("a global computed while loading"))


_SEEN_LIMIT = 1 << 24  # memo indices tracked for GET-before-PUT checks (a 2 MB bitmap at most)
_KEPT_CALLS = frozenset({"numpy.dtype"})  # joblib reads array layouts from memoized dtypes
_KEPT_TEXT = 256  # length of memoized strings kept: module and attribute names, dict keys
_KEPT_TEXTS = 300_000  # identifier-like strings kept (about 30 MB); a GET beyond is opaque (fails closed)
_RECENT = 8  # strings memoized past the limit, kept until the next STACK_GLOBAL may pin them
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_<>]*)*")


def kept_texts() -> int:
    """How many memoized strings a walker keeps (a function, so tests can lower it)."""
    return _KEPT_TEXTS


def _worth_keeping(value: Any) -> str | None:
    """``text`` for strings (possible STACK_GLOBAL operands), ``ref`` for globals (reused through
    GET before every call) and dtypes; None for values only ever needed as "some value"."""
    if type(value) is str:  # only names can be STACK_GLOBAL operands that import something
        return "text" if len(value) <= _KEPT_TEXT and _IDENTIFIER.fullmatch(value) else None
    if isinstance(value, Ref):
        return "ref"
    if isinstance(value, Call) and isinstance(value.func, Ref) and value.func.dotted in _KEPT_CALLS:
        return "ref"
    return None


def _fix_imports(module: str, name: str) -> tuple[str, str]:
    """Python 2 names, as the Python 3 unpickler maps them (``__builtin__`` -> ``builtins``)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _operand(value: Any) -> str:
    return value if isinstance(value, str) and len(value) < 200 else describe(value, 60)


def walk_pickles(stream: ByteStream, allowlist: Allowlist, limits: ScanLimits, *,
                 torchscript: bool = False, max_pickles: int = MAX_PICKLES,
                 continuation: bool = False) -> StreamReport:
    """Walk every pickle in ``stream`` until its end (or ``max_pickles``); never raises on bad data.

    A truncated or malformed first pickle is a ``medium`` finding (a loader runs every opcode
    before the point where it fails); bytes after a complete pickle that do not form another one
    are a ``low`` finding. ``continuation`` says the stream already held a complete pickle.

    Examples
    --------
    >>> import io, pickle
    >>> from riskframe.scanning._stream import ByteStream
    >>> data = io.BytesIO(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    >>> report = walk_pickles(ByteStream(data), Allowlist(), ScanLimits())
    >>> report.pickles, report.findings
    (1, [])
    """
    report = StreamReport()
    walker = Walker(stream, allowlist, report, limits, torchscript=torchscript)
    while report.pickles < max_pickles:
        start = stream.offset
        try:
            report.values.append(walker.walk_one())
        except (Truncated, Malformed, LimitExceeded) as exc:
            report.findings.append(_broken(exc, start, first=report.pickles == 0 and not continuation))
            return report
        report.pickles += 1
        report.end = stream.offset
        if stream.at_end():
            report.complete = True
            return report
    return report


def _broken(exc: Exception, start: int, *, first: bool) -> Finding:
    if isinstance(exc, LimitExceeded):
        return Finding(None, start, "medium", f"scan limit reached ({exc}); the rest of the stream "
                                              "was not checked, so the file cannot be vouched for")
    offset = getattr(exc, "offset", start)
    if first:
        kind = ("unreadable" if isinstance(exc, Unreadable) else "truncated" if isinstance(exc, Truncated)
                else "malformed")
        return Finding(None, offset, "medium", f"{kind} pickle: {exc}; a loader runs every opcode "
                                               "before this point, so nothing after it was checked")
    return Finding(None, start, "low", f"the bytes from {start} on are not a complete pickle ({exc} at "
                                       f"byte {offset}); pickle.load ignores them, but a loader reading "
                                       "several pickles would run them")


__all__ = ["Malformed", "StreamReport", "Walker", "walk_pickles"]
