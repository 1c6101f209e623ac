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
('touch /tmp/canary',)``. A file may hold several pickles back to back; each is walked.

**Following the loaders exactly.** The walk stops only where every unpickler raises (an unknown
opcode, a stack underflow, the end of the data): :class:`Malformed` and ``Truncated``. Where a
loader may go on but the walk cannot tell what it reads next (a joblib array whose layout is not
plain, a pickle that ends inside a frame, a memo index too long to read, a budget spent), it
raises :class:`Unfollowable` or ``LimitExceeded``: the file is then never ``safe``.

Two ``mode`` s, because two loaders read the same bytes differently:

- ``plain``: ``pickle.load``, ``torch.load``, ``numpy.load`` and joblib's nested pickles: every
  byte after a ``BUILD`` is the next opcode;
- ``joblib``: ``joblib.load``, which reads an array's bytes from the file right after each
  ``NumpyArrayWrapper`` is built (:mod:`riskframe.scanning._joblib`).

A stream holding joblib wrappers is walked both ways by the scan (:mod:`riskframe.scanning.scan`).

**Speed and budgets.** Runs of opcodes with no effect on anything the walk models (a constant
pushed and popped, ``MARK`` then ``POP_MARK``, ``PROTO``, ``FRAME``, whose end is kept) are skipped
in bulk, at C speed: one pair repeated by comparing blocks of memory, any mix by one regular
expression. Every other opcode counts against ``ScanLimits.max_opcodes``.

Why a hand-written walker rather than :func:`pickletools.genops`: genops reads every argument
whole (a 4 GB ``BINBYTES8`` would be held in memory) and keeps no stack, so memo-routed
STACK_GLOBAL operands would be invisible. The opcode semantics follow CPython's ``_pickle.c`` and
``pickle.py``.
"""

from __future__ import annotations

import _compat_pickle
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from riskframe.scanning._joblib import WRAPPERS
from riskframe.scanning._opargs import importable
from riskframe.scanning._stream import ByteStream, LimitExceeded, Truncated, Unreadable
from riskframe.scanning._values import Blob, Call, Opaque, Ref, Seq, appeared, describe
from riskframe.scanning.allowlist import Allowlist, Severity
from riskframe.scanning.findings import Budget, Finding, ScanLimits

MAX_PICKLES = 10_000  # back-to-back pickles walked in one stream
_USES_SHOWN = 3
Mode = Literal["plain", "joblib"]

# Opcode runs with no effect on the walk's stack, memo or names: a constant pushed then popped
# (NONE, NEWTRUE, NEWFALSE, EMPTY_TUPLE/LIST/DICT/SET, BININT1/2/4, BINFLOAT), MARK then
# POP_MARK, PROTO 0-5, and FRAME (whose end the walk tracks: group 1 is the last frame's length).
_INERT_RUN = re.compile(rb"(?:[N\x88\x89)\]}\x8f]0|K.0|M..0|J....0|G.{8}0|\(1|\x80[\x00-\x05]|\x95(.{8}))++",
                        re.DOTALL)
_RUN_AFTER = frozenset(b"01\x80\x95")  # a run is looked for only after these, so ordinary pickles pay nothing
_BUILD = ord("b")


_PAIRS = {bytes([push]) + b"0": (bytes([push]) + b"0") * (1 << 15) for push in b"N\x88\x89)]}\x8f"} | {
    b"(1": b"(1" * (1 << 15)}  # each no-op pair, repeated over 64 KiB


def _repeated_pairs(buf: bytes, pos: int) -> int:
    """Where the run of the no-op pair at ``pos`` repeated ends (at an even distance); ``pos`` if none."""
    pattern = _PAIRS.get(buf[pos:pos + 2])
    if pattern is None:
        return pos
    step = 64
    while step >= 2:
        size = min(step, len(pattern), len(buf) - pos) & ~1
        if size and buf[pos:pos + size] == pattern[:size]:
            pos += size
            step = min(step * 2, len(pattern))
        else:
            step //= 4  # narrow down to the pair where the run ends (the regex takes over there)
    return pos


class Malformed(Exception):
    """The stream breaks the pickle grammar at ``offset``: every unpickler raises there."""

    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        super().__init__(message)


class Unfollowable(Exception):
    """At ``offset`` a loader may go on, but the walk cannot tell what it would read next."""

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
    wrappers: int = 0  # joblib array wrappers built (the stream reads differently under joblib.load)
    stopped: Exception | None = None  # why the walk ended before the end of the stream


class Walker:
    """Walks pickles from one :class:`ByteStream`, collecting findings into a report.

    ``persistent_ids``: the loader has a ``persistent_load`` (torch's); without one, ``PERSID``
    and ``BINPERSID`` raise. ``claimed``: see :func:`walk_pickles`.
    """

    def __init__(self, stream: ByteStream, allowlist: Allowlist, report: StreamReport,
                 limits: ScanLimits, budget: Budget | None = None, *, torchscript: bool = False,
                 mode: Mode = "plain", persistent_ids: bool = True, claimed: bool = True,
                 nesting: int = 0) -> None:
        self.stream, self.allowlist, self.report = stream, allowlist, report
        self.limits, self.torchscript, self.mode = limits, torchscript, mode
        self.budget = budget or Budget(limits.max_opcodes)
        self.persistent_ids, self.claimed = persistent_ids, claimed
        self.nesting = nesting  # joblib object arrays: pickles inside pickles
        self._reset()

    def _reset(self) -> None:
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}
        self.seen = bytearray()  # one bit per memo index written (indices below _SEEN_LIMIT)
        self.memo_count = 0
        self.texts_kept, self.text_room = 0, kept_texts()
        self.recent_texts: deque[tuple[int, str]] = deque(maxlen=_RECENT)
        self.flagged: list[Ref] = []
        self.constrained: list[Ref] = []
        self.frame_end = 0  # stream offset where the last FRAME's bytes end
        self.memo_changed = False  # an object from the memo the walk did not keep was changed

    # -- one pickle --------------------------------------------------------------------------
    def walk_one(self) -> Any:
        """Walk to the next STOP; return the pickle's top value.

        Raises Truncated, Malformed, Unfollowable or LimitExceeded.
        """
        from riskframe.scanning._opcodes import HANDLERS

        self._reset()
        stream, stack, max_stack = self.stream, self.stack, self.limits.max_stack
        read_byte = stream.read_byte
        budget = self.budget
        left = budget.opcodes
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
                if code == _BUILD:  # may walk a nested pickle (a joblib object array) on the same budget
                    budget.opcodes = left
                    handler(self, offset)
                    left = budget.opcodes
                elif handler(self, offset):
                    self._check_stop(offset)
                    return self.pop(offset)
                left -= 1
                if not left & 0x3FF:  # the limits, every 1024 opcodes: this loop is the hot path
                    if left <= 0:
                        raise LimitExceeded(f"more than {self.limits.max_opcodes} opcodes walked one by one "
                                            "(the opcode budget)")
                    if len(stack) > max_stack:
                        raise LimitExceeded(f"more than {max_stack} stack entries")
                if code in _RUN_AFTER:
                    self._skip_inert_run()
        finally:
            budget.opcodes = left
            self._report_flagged()

    def _skip_inert_run(self) -> None:
        """Skip the run of no-effect opcodes that starts here, if any (see ``_INERT_RUN``); a run
        of one two-byte pair repeated (``N0N0...``) is first compared in blocks, at memory speed."""
        stream = self.stream
        buf = stream._buf
        stream._pos = _repeated_pairs(buf, stream._pos)
        match = _INERT_RUN.match(buf, stream._pos)
        if match is None:
            return
        if match.group(1) is not None:
            self.frame_end = stream._base + match.end(1) + int.from_bytes(match.group(1), "little")
        stream._pos = match.end()

    def _check_stop(self, offset: int) -> None:
        if self.stream.offset < self.frame_end:
            # The pure-Python unpickler has read the whole frame from the file: whatever reads
            # the file next (the next pickle, joblib's next opcode) starts after the frame.
            raise Unfollowable(offset, "STOP inside a frame: a loader would go on reading after the frame, "
                                       f"at byte {self.frame_end}")

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
        so the memo of a pickle with millions of entries stays small. (Written out flat: every
        pickle memoizes most of what it builds, so this runs for a third of all opcodes.)"""
        stack, marks = self.stack, self.marks
        if len(stack) <= (marks[-1] if marks else 0):
            raise Malformed(offset, "stack underflow")
        if index < 0:
            raise Malformed(offset, "negative PUT argument")
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
        memo = self.memo
        kind = _worth_keeping(value)
        if kind is None:
            if memo:
                memo.pop(index, None)
            return
        if kind == "text":
            if self.texts_kept < self.text_room or index in memo:
                self.texts_kept += index not in memo
                memo[index] = value
            else:
                self.recent_texts.append((index, value))
        elif len(memo) < self.limits.max_memo or index in memo:
            memo[index] = value
        else:  # a global or a joblib wrapper lost here would come back from a GET unrecognised
            raise LimitExceeded(f"more than {self.limits.max_memo} globals and objects kept in the memo")

    def get(self, index: int, offset: int) -> None:
        if index in self.memo:
            value = self.memo[index]
            appeared(value)
            self.push(value)
        elif recent := next((text for i, text in self.recent_texts if i == index), None):
            if len(self.memo) < self.limits.max_memo:  # fetched once, likely fetched again (a dtype's '<')
                self.memo[index] = recent
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
        elif verdict.constructed_only or (self.mode == "joblib" and ref.dotted in WRAPPERS):
            ref.constructed_only = True
            self.constrained.append(ref)
        return ref

    def called(self, func: Any, args: Any, offset: int, opcode: str) -> Call:
        """Record that ``func`` is called (or instantiated) at ``offset``."""
        if isinstance(func, Ref):
            self.report.calls += 1
            if opcode in ("NEWOBJ", "NEWOBJ_EX") and func.constructed_only:
                func.constructed += 1
            if func.severity and len(func.uses) < _USES_SHOWN:
                func.uses.append(f"called by {opcode} at byte {offset} with {describe(args, 80)}")
        else:
            self.finding(None, offset, "high", f"{opcode} calls {describe(func, 60)}, a value computed "
                                               "while loading rather than a named global; no ordinary "
                                               "pickler does this",
                         title=f"{opcode} calls a value computed while loading, not a named global")
        return Call(func, args, opcode, offset)

    def mutated(self, target: Any, offset: int, opcode: str) -> None:
        """APPEND/SETITEM/BUILD applied to something other than a container the walk holds: a
        global itself (tampering with a module or class), or a value from the memo the walk did
        not keep (joblib's layout may depend on it: see ``memo_changed``)."""
        if isinstance(target, Opaque):
            self.memo_changed = True
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

    def finding(self, global_: str | None, offset: int | None, severity: Severity, reason: str,
                title: str | None = None) -> None:
        self.report.findings.append(Finding(global_, offset, severity, reason, title=title))

    def _report_flagged(self) -> None:
        for ref in self.flagged:
            context = "".join(f"; {use}" for use in ref.uses)
            self.finding(ref.dotted, ref.offset, ref.severity,  # type: ignore[arg-type]
                         f"{ref.reason} (named by {ref.opcode}{context})")
        for ref in self.constrained:
            if ref.pushes != ref.constructed:
                self.finding(ref.dotted, ref.offset, "medium",
                             f"a class admitted only when an object of it is rebuilt from its state "
                             f"(NEWOBJ, then BUILD) is used {ref.pushes - ref.constructed} other way(s) here "
                             f"(named by {ref.opcode} at byte {ref.offset}): called, or handed to code that "
                             "may call it, it runs its __init__ with arguments from the file")
        self.flagged, self.constrained = [], []

    def stack_global(self, offset: int) -> None:
        name, module = self.pop(offset), self.pop(offset)
        if type(module) is str and type(name) is str:
            if not self.claimed and not importable(module):
                raise Malformed(offset, f"{module[:40]!r} is not a module name anything can import")
            self._pin_operands(module, name)
            self.push(self.named_global(module, name, offset, "STACK_GLOBAL"))
            return
        if _never_text(module) or _never_text(name):  # both unpicklers raise "STACK_GLOBAL requires str"
            raise Malformed(offset, f"STACK_GLOBAL operands that are not strings ({describe(module, 40)} / "
                                    f"{describe(name, 40)})")
        shown = f"{describe(module, 60)} / {describe(name, 60)}"
        self.finding(f"{_operand(module)}.{_operand(name)}", offset, "high",
                     f"STACK_GLOBAL operands are not plain strings ({shown}): the imported name is "
                     "computed while loading, which hides it from scanners")
        self.push(Opaque("a global computed while loading"))


_SEEN_LIMIT = 1 << 24  # memo indices tracked for GET-before-PUT checks (a 2 MB bitmap at most)
_KEPT_CALLS = frozenset({"numpy.dtype"})  # joblib reads array layouts from memoized dtypes
_KEPT_TEXT = 256  # length of memoized strings kept: module and attribute names, dict keys, byte orders
_KEPT_TEXTS = 300_000  # short strings kept (about 30 MB); a GET beyond is opaque (fails closed)
_RECENT = 8  # strings memoized past the limit, kept until the next STACK_GLOBAL or GET may pin them


def kept_texts() -> int:
    """How many memoized strings a walker keeps (a function, so tests can lower it)."""
    return _KEPT_TEXTS


def _worth_keeping(value: Any) -> str | None:
    """``text`` for strings (possible STACK_GLOBAL operands), ``ref`` for globals (reused through
    GET before every call), dtypes and joblib array wrappers (built again through GET); None for
    values only ever needed as "some value"."""
    kind = type(value)
    if kind is str:  # STACK_GLOBAL operands, and the byte orders and keys of joblib's layouts
        return "text" if len(value) <= _KEPT_TEXT else None
    if kind is Ref:
        return "ref"
    if kind is Call and type(value.func) is Ref and (value.func.dotted in _KEPT_CALLS or value.func.dotted in WRAPPERS):
        return "ref"
    if kind is Seq and any(type(item) is Ref and item.constructed_only for item in value.items):
        return "ref"  # a tuple around a constructed-only class: every copy of it is one more use of the class
    return None



def _never_text(value: Any) -> bool:
    """A value that cannot be a ``str`` at load time (a call's result or an opaque value may be)."""
    if isinstance(value, Blob):
        return value.kind in ("bytes", "bytearray")
    return not isinstance(value, (str, Call, Opaque))


def _fix_imports(module: str, name: str) -> tuple[str, str]:
    """Python 2 names, as the Python 3 unpickler maps them (``__builtin__`` -> ``builtins``)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _operand(value: Any) -> str:
    return value if isinstance(value, str) and len(value) < 200 else describe(value, 60)


def walk_pickles(stream: ByteStream, allowlist: Allowlist, limits: ScanLimits, *,
                 budget: Budget | None = None, torchscript: bool = False, mode: Mode = "plain",
                 persistent_ids: bool = True, max_pickles: int = MAX_PICKLES, continuation: bool = False,
                 claimed: bool = True) -> StreamReport:
    """Walk every pickle in ``stream`` until its end (or ``max_pickles``); never raises on bad data.

    ``claimed``: the stream claims to be a pickle (it starts with ``PROTO`` 2-5, or its loader
    unpickles it). A truncated or malformed first pickle is then a ``medium`` finding (a loader
    runs every opcode before the point where it fails), and bytes after a complete pickle that do
    not form another one are a ``low`` finding. Unclaimed, the walk asks only what
    ``pickle.load`` would do with the bytes: a stream every unpickler refuses is no pickle and
    no finding, and only what a loader would import, call or fail to follow is reported.
    ``continuation`` says the stream already held a complete pickle.

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
    walker = Walker(stream, allowlist, report, limits, budget, torchscript=torchscript, mode=mode,
                    persistent_ids=persistent_ids, claimed=claimed)
    while report.pickles < max_pickles:
        start = stream.offset
        try:
            report.values.append(walker.walk_one())
        except (Truncated, Malformed, Unfollowable, LimitExceeded) as exc:
            report.stopped = exc
            broken = _broken(exc, start, first=report.pickles == 0 and not continuation)
            if claimed or isinstance(exc, (Unfollowable, LimitExceeded)) or type(exc) is Unreadable:
                report.findings.append(broken)
            return report
        report.pickles += 1
        report.end = stream.offset
        walker.persistent_ids = True  # a loader reading several pickles may have a persistent_load for the rest
        if stream.at_end():
            report.complete = True
            return report
    return report


def _broken(exc: Exception, start: int, *, first: bool) -> Finding:
    if isinstance(exc, LimitExceeded):
        return Finding(None, start, "medium", f"scan limit reached ({exc}); the rest of the stream "
                                              "was not checked, so the file cannot be vouched for",
                       title="scan limit reached")
    offset = getattr(exc, "offset", start)
    if isinstance(exc, Unfollowable):
        return Finding(None, offset, "medium", f"the scan cannot follow this pickle: {exc}; nothing after "
                                               "this point was checked, so the file cannot be vouched for",
                       title="the scan cannot follow this pickle")
    if first:
        kind = ("unreadable" if isinstance(exc, Unreadable) else "truncated" if isinstance(exc, Truncated)
                else "malformed")
        return Finding(None, offset, "medium", f"{kind} pickle: {exc}; a loader runs every opcode "
                                               "before this point, so nothing after it was checked",
                       title=f"{kind} pickle")
    return Finding(None, start, "low", f"the bytes from {start} on are not a complete pickle ({exc} at "
                                       f"byte {offset}); pickle.load ignores them, but a loader reading "
                                       "several pickles would run them",
                   title=f"the bytes from {start} on are not a complete pickle")


__all__ = ["Malformed", "Mode", "StreamReport", "Unfollowable", "Walker", "walk_pickles"]
