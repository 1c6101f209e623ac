"""A tiny pickle assembler, for building test files opcode by opcode (never for loading them).

The scanner's tests and benchmark need pickles that no ``pickle.dumps`` call writes: globals
routed through the memo, STACK_GLOBAL operands computed by a call, INST/OBJ/EXT opcodes, names
of modules that are not installed. :class:`Asm` writes exactly the opcodes asked for.

>>> import pickletools
>>> data = Asm(protocol=4).stack_global("os", "system").text("true").tuple(1).reduce().stop()
>>> [op.name for op, _, _ in pickletools.genops(data)][-4:]
['SHORT_BINUNICODE', 'TUPLE1', 'REDUCE', 'STOP']
"""

from __future__ import annotations

import struct


class Asm:
    """Append opcodes; :meth:`stop` returns the bytes."""

    def __init__(self, protocol: int = 2) -> None:
        self.out = bytearray()
        if protocol >= 2:
            self.out += bytes([0x80, protocol])

    def raw(self, data: bytes) -> Asm:
        self.out += data
        return self

    def mark(self) -> Asm:
        return self.raw(b"(")

    def text(self, value: str) -> Asm:
        data = value.encode("utf-8")
        if len(data) < 256:
            return self.raw(b"\x8c" + bytes([len(data)]) + data)
        return self.raw(b"X" + struct.pack("<I", len(data)) + data)

    def integer(self, value: int) -> Asm:
        return self.raw(b"J" + struct.pack("<i", value))

    def none(self) -> Asm:
        return self.raw(b"N")

    def global_(self, module: str, name: str) -> Asm:
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def stack_global(self, module: str, name: str) -> Asm:
        return self.text(module).text(name).raw(b"\x93")

    def inst(self, module: str, name: str) -> Asm:
        """INST: call ``module.name`` with everything since the last MARK."""
        return self.raw(b"i" + module.encode() + b"\n" + name.encode() + b"\n")

    def tuple(self, size: int) -> Asm:
        if size == 0:
            return self.raw(b")")
        if size <= 3:
            return self.raw(bytes([0x84 + size]))
        raise ValueError("for longer tuples use mark() ... raw(b't')")

    def empty_dict(self) -> Asm:
        return self.raw(b"}")

    def empty_list(self) -> Asm:
        return self.raw(b"]")

    def reduce(self) -> Asm:
        return self.raw(b"R")

    def build(self) -> Asm:
        return self.raw(b"b")

    def setitem(self) -> Asm:
        return self.raw(b"s")

    def append(self) -> Asm:
        return self.raw(b"a")

    def pop(self) -> Asm:
        return self.raw(b"0")

    def binput(self, index: int) -> Asm:
        return self.raw(b"q" + bytes([index]))

    def binget(self, index: int) -> Asm:
        return self.raw(b"h" + bytes([index]))

    def long_binget(self, index: int) -> Asm:
        return self.raw(b"j" + struct.pack("<I", index))

    def memoize(self) -> Asm:
        return self.raw(b"\x94")

    def ext2(self, code: int) -> Asm:
        return self.raw(b"\x83" + struct.pack("<H", code))

    def call(self, module: str, name: str, *args: str | int) -> Asm:
        """``module.name(*args)`` with GLOBAL, a tuple of constants and REDUCE."""
        self.global_(module, name).mark()
        for arg in args:
            self.text(arg) if isinstance(arg, str) else self.integer(arg)
        return self.raw(b"t").reduce()

    def stop(self) -> bytes:
        self.out += b"."
        return bytes(self.out)
