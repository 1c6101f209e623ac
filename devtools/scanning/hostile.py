"""Files that walked past the model-file scan before issue 11, each with the loader it fools.

Every file here really runs its payload when its loader reads it: ``os.system("touch
RAN/<name>")``, where ``RAN`` is a folder the caller chooses. The tests load each one with its
real loader in a throwaway process and check that the canary appeared (so the corpus cannot go
stale), and scan each one and check that the verdict is ``unsafe`` (and that no canary appeared).
The files are built opcode by opcode (:mod:`devtools.scanning.asm`) or by the libraries that
write the containers; nothing here loads them.

The classes (``family``):

- ``npy-object-spelling``: an ``.npy`` whose object dtype is spelled ``'object'``, as a
  ``('|O', (1,))`` subarray, or as a structured field holding objects (also inside an ``.npz``);
- ``joblib-duplicate-key``: a ``NumpyArrayWrapper`` state repeating ``shape``, ``dtype`` or
  ``numpy_array_alignment_bytes`` (joblib takes the last value);
- ``joblib-shadowed-method``: a wrapper state setting ``safe_get_numpy_array_alignment_bytes``, a
  method joblib calls, to ``builtins.object``;
- ``joblib-frame``: a wrapper built inside a pickle frame, whose array joblib reads after the frame;
- ``joblib-as-pickle``: a joblib file whose array bytes are opcodes to ``pickle.load``;
- ``two-zips``: two archives in one file, Python's zipfile reading one and torch.load the other;
- ``first-opcode``: pickles starting with FRAME, NEWTRUE, NEWFALSE, LONG1, LONG4,
  SHORT_BINUNICODE, BINUNICODE8, BINBYTES8, EMPTY_SET or BYTEARRAY8 (no PROTO);
- ``looks-like``: pickles whose bytes look like GGUF, or hold ``ustar`` at byte 257;
- ``legacy-torch-tar``: torch's legacy tar format with the payload in its ``storages`` member.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from devtools.scanning.asm import Asm
from devtools.scanning.corpus import Sample

Expect = tuple[tuple[str | None, str], ...]
Built = tuple[str, str, str, bytes, Expect]  # file name, family, loader, bytes, findings a scan must report
CRITICAL: Expect = (("os.system", "critical"),)
STRUCTURE: Expect = ((None, "medium"),)
# How each loader reads a file, in the throwaway process that confirms the payloads (``path``).
LOADERS = {
    "pickle": "import pickle\nwith open(path, 'rb') as fp:\n    pickle.load(fp)",
    "joblib": "import joblib\njoblib.load(path)",
    "numpy": "import numpy\nloaded = numpy.load(path, allow_pickle=True)\n"
             "[loaded[key] for key in loaded.files] if hasattr(loaded, 'files') else loaded",
    "torch": "import torch\ntorch.load(path, weights_only=False)",
}


def command(ran: Path, name: str) -> str:
    return f"touch {ran / name}"


def payload(ran: Path, name: str) -> Asm:
    """``os.system("touch RAN/name")`` as GLOBAL, a tuple and REDUCE, without PROTO or STOP."""
    return Asm(0).call("os", "system", command(ran, name))


def _padded(data: bytes, size: int) -> bytes:
    """``data`` followed by no-op opcodes (a constant pushed and popped) up to ``size`` bytes."""
    gap = size - len(data)
    if gap < 0 or gap == 1:
        raise ValueError(f"cannot pad {len(data)} bytes to {size}")
    return data + (b"K\x000" if gap % 2 else b"") + b"N0" * ((gap - 3 * (gap % 2)) // 2)


def build_hostile(folder: Path, ran: Path) -> list[tuple[Sample, str]]:
    """Write every hostile file into ``folder``; each pair is the sample and the loader it fools."""
    folder.mkdir(parents=True, exist_ok=True)
    ran.mkdir(parents=True, exist_ok=True)
    out: list[tuple[Sample, str]] = []
    builders: list[Callable[[Path], list[Built]]] = [
        _first_opcodes, _look_alikes, _npy_spellings, _joblib_layouts, _archives]
    for builder in builders:
        for name, family, loader, data, expect in builder(ran):
            (folder / name).write_bytes(data)
            out.append((Sample(name, True, family, loader, expect), loader))  # type: ignore[arg-type]
    return out


# -- pickles that do not start with PROTO -------------------------------------------------------

_FIRST = {  # a first opcode with its argument, then POP
    "frame": None,  # FRAME wraps the rest: built below
    "newtrue": b"\x88", "newfalse": b"\x89", "long1": b"\x8a\x01\x05", "long4": b"\x8b\x01\x00\x00\x00\x05",
    "short-binunicode": b"\x8c\x02hi", "binunicode8": b"\x8d" + struct.pack("<Q", 2) + b"hi",
    "binbytes8": b"\x8e" + struct.pack("<Q", 2) + b"hi", "empty-set": b"\x8f",
    "bytearray8": b"\x96" + struct.pack("<Q", 2) + b"hi",
}


def _first_opcodes(ran: Path) -> list[Built]:
    out: list[Built] = []
    for opcode, start in _FIRST.items():
        name = f"first-{opcode}.pkl"
        body = payload(ran, name).stop()
        data = b"\x95" + struct.pack("<Q", len(body)) + body if start is None else start + b"0" + body
        out.append((name, "first-opcode", "pickle", data, CRITICAL))
    return out


def _look_alikes(ran: Path) -> list[Built]:
    gguf = b"GGUF\x03\x00\x00\x00\x00" + b"0" + payload(ran, "looks-gguf.bin").stop()  # BINFLOAT eats 'GUF...'
    calls = payload(ran, "looks-tar.bin").raw(b"0").out
    filler = 257 - len(calls) - 5  # a BINBYTES whose bytes put 'ustar' at byte 257
    tar = bytes(calls) + b"B" + struct.pack("<I", filler + 8) + bytes(filler) + b"ustar\x0000" + b"0N."
    return [("looks-gguf.bin", "looks-like", "pickle", gguf, CRITICAL),
            ("looks-tar.bin", "looks-like", "pickle", tar, CRITICAL)]


# -- .npy object dtypes in other spellings -----------------------------------------------------

_SPELLINGS = {
    "object": "'object'", "subarray": "('|O', (1,))",
    "field": "[('a', '<f8'), ('b', 'object')]", "field-subarray": "[('a', '<f8'), ('b', ('|O', (2,)))]",
}


def _npy(descr: str, body: bytes) -> bytes:
    header = "{'descr': " + descr + ", 'fortran_order': False, 'shape': (1,), }"
    header += " " * (-(len(header) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1") + body


def _npy_spellings(ran: Path) -> list[Built]:
    out: list[Built] = []
    for spelling, descr in _SPELLINGS.items():
        name = f"npy-{spelling}.npy"
        out.append((name, "npy-object-spelling", "numpy", _npy(descr, b"\x80\x02" + payload(ran, name).stop()),
                    CRITICAL))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("meta.npy", _npy("'object'", b"\x80\x02" + payload(ran, "npz-object.npz").stop()))
    out.append(("npz-object.npz", "npy-object-spelling", "numpy", archive.getvalue(), CRITICAL))
    return out


# -- joblib array wrappers read differently ----------------------------------------------------

def _dtype(asm: Asm, typestr: str) -> Asm:
    """``numpy.dtype(typestr, False, True)`` with the state numpy writes for a plain byte or object type."""
    flags = 63 if typestr == "O8" else 0
    asm.global_("numpy", "dtype").text(typestr).raw(b"\x89\x88").tuple(3).reduce()
    return asm.mark().integer(3).text("|").none().none().none().integer(-1).integer(-1).integer(flags).raw(b"t").build()


def _wrapper(asm: Asm, pairs: list[tuple[str, Callable[[Asm], Asm]]], memo: int | None = None) -> Asm:
    """A NumpyArrayWrapper built as joblib builds it (NEWOBJ, then kept in the memo at ``memo`` if
    given), with the state ``pairs`` (in order)."""
    asm.global_("joblib.numpy_pickle", "NumpyArrayWrapper").tuple(0).raw(b"\x81")
    if memo is not None:
        asm.binput(memo)
    asm.empty_dict().mark()
    for key, value in pairs:
        value(asm.text(key))
    return asm.raw(b"u").build()


def _shape(n: int) -> Callable[[Asm], Asm]:
    return lambda asm: asm.integer(n).tuple(1)


def _common(dtype: str = "u1") -> list[tuple[str, Callable[[Asm], Asm]]]:
    return [("subclass", lambda a: a.global_("numpy", "ndarray")), ("order", lambda a: a.text("C")),
            ("dtype", lambda a: _dtype(a, dtype)), ("allow_mmap", lambda a: a.raw(b"\x89"))]


def _joblib_layouts(ran: Path) -> list[Built]:
    def run(name: str) -> bytes:
        return bytes(payload(ran, name).raw(b"0").out)

    none: Callable[[Asm], Asm] = Asm.none
    shape = run("joblib-dup-shape.joblib")  # the first shape skips the payload, joblib reads the last: (0,)
    dup_shape = _wrapper(Asm(2), [*_common(), ("numpy_array_alignment_bytes", none), ("shape", _shape(len(shape))),
                                  ("shape", _shape(0))]).raw(shape).stop()
    nested = payload(ran, "joblib-dup-dtype.joblib").stop()  # first dtype bytes, last dtype objects: a pickle
    dup_dtype = _wrapper(Asm(2), [*_common(), ("shape", _shape(len(nested))), ("numpy_array_alignment_bytes", none),
                                  ("dtype", lambda a: _dtype(a, "O8"))]).raw(nested).stop()
    # FRAME (0x95 = 149) of 0 bytes then the payload: to the old scan, a padding length, 150 bytes skipped
    aligned = _padded(b"\x95" + bytes(8) + run("joblib-dup-alignment.joblib"), 150)
    dup_align = _wrapper(Asm(2), [*_common(), ("shape", _shape(0)),
                                  ("numpy_array_alignment_bytes", lambda a: a.integer(16)),
                                  ("numpy_array_alignment_bytes", none)]).raw(aligned).stop()
    hidden = run("joblib-shadowed-method.joblib")  # joblib reads a padding length (66) where the scan saw none
    padding = b"B" + struct.pack("<I", 62 + len(hidden)) + bytes(62)  # to the scan: BINBYTES over the payload
    shadow = _wrapper(Asm(2), [*_common(), ("shape", _shape(0)), ("numpy_array_alignment_bytes", none),
                               ("safe_get_numpy_array_alignment_bytes", lambda a: a.global_("builtins", "object"))]
                      ).raw(padding + hidden).stop()
    return [("joblib-dup-shape.joblib", "joblib-duplicate-key", "joblib", dup_shape, CRITICAL),
            ("joblib-dup-dtype.joblib", "joblib-duplicate-key", "joblib", dup_dtype, CRITICAL),
            ("joblib-dup-alignment.joblib", "joblib-duplicate-key", "joblib", dup_align, CRITICAL),
            ("joblib-shadowed-method.joblib", "joblib-shadowed-method", "joblib", shadow, STRUCTURE),
            _framed(ran), _joblib_as_pickle(ran)]


def _framed(ran: Path) -> Built:
    """A wrapper built inside a frame: joblib reads the array after the frame, the frame's rest is opcodes."""
    name = "joblib-frame.joblib"
    calls = bytes(payload(ran, name).raw(b"0").out)
    calls = _padded(calls, len(calls) + len(calls) % 2 * 3)  # even, so the array below is N0 pairs
    head = bytes(_wrapper(Asm(0), [*_common(), ("shape", _shape(len(calls))),
                                   ("numpy_array_alignment_bytes", Asm.none)]).out)
    framed = head + calls
    array = b"N0" * (len(calls) // 2)  # what joblib reads after the frame; opcodes where the scan used to look
    data = b"\x80\x04\x95" + struct.pack("<Q", len(framed)) + framed + array + b"."
    return name, "joblib-frame", "joblib", data, STRUCTURE


def _joblib_as_pickle(ran: Path) -> Built:
    """A well-formed joblib file whose array of bytes is, to pickle.load, the payload."""
    name = "joblib-as-pickle.joblib"
    calls = bytes(payload(ran, name).out) + b"."
    data = _wrapper(Asm(2), [*_common(), ("shape", _shape(len(calls))), ("numpy_array_alignment_bytes", Asm.none)])
    return name, "joblib-as-pickle", "pickle", data.raw(calls).stop(), CRITICAL


# -- archives ----------------------------------------------------------------------------------

def _archives(ran: Path) -> list[Built]:
    return [("two-zips.pt", "two-zips", "torch", _two_zips(ran), STRUCTURE),
            ("legacy-tar.pt", "legacy-torch-tar", "torch", _legacy_tar(ran), CRITICAL)]


def _two_zips(ran: Path) -> bytes:
    """torch archive A (payload) then archive B (benign); one end record that Python's zipfile reads
    as B's directory (shifting offsets past A) and torch's reader as A's (taking offsets as written)."""
    import torch

    evil, benign = io.BytesIO(), io.BytesIO()
    torch.save({"w": torch.zeros(64), "hook": _System(command(ran, "two-zips.pt"))}, evil)
    torch.save({"w": torch.ones(2)}, benign)
    a, b = evil.getvalue(), benign.getvalue()
    (count, size, a_dir), (_, b_size, b_dir) = _zip64_directory(a), _zip64_directory(b)
    if b_size != size:
        raise ValueError("the two archives' directories must be the same size")
    base = a_dir + size
    end_at = base + b_dir + size + 76
    shift = end_at - size - a_dir - 76  # what Python's zipfile adds to every offset
    directory = bytearray(b[b_dir:b_dir + size])
    at = 0
    while at < len(directory):
        lengths = struct.unpack("<HHH", directory[at + 28:at + 34])
        offset = struct.unpack("<L", directory[at + 42:at + 46])[0]
        directory[at + 42:at + 46] = struct.pack("<L", base + offset - shift)
        at += 46 + sum(lengths)
    record_at = base + b_dir + size
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, a_dir)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return a[:base] + b[:b_dir] + bytes(directory) + record + locator + end


class _System:
    """Pickles as ``os.system(command)``: only ever dumped (by torch.save), never called."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, (self.command,)


def _zip64_directory(data: bytes) -> tuple[int, int, int]:
    """(entries, directory size, directory offset) from the zip64 end record torch writes."""
    record = data[-22 - 76:-22 - 20]
    *_, count, size, offset = struct.unpack("<4sQ2H2L4Q", record)
    return count, size, offset


def _legacy_tar(ran: Path) -> bytes:
    """torch's legacy tar format whose ``storages`` member's first pickle (the count) is the payload."""
    import pickle

    storages = bytes(payload(ran, "legacy-tar.pt").out) + b"." + pickle.dumps([], protocol=2)  # 0 storages, no views
    members = {"sys_info": pickle.dumps({"little_endian": True}, protocol=2), "storages": storages,
               "tensors": pickle.dumps(0, protocol=2), "pickle": pickle.dumps({"w": 1}, protocol=2)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(content), 0
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
