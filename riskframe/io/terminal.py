"""Text from documents and files, made safe to show on a terminal.

Anything riskframe prints may carry text it read: a policy title, a waiver justification, a zip
member name, a pickle global, a field of an assessment.json. Such text can hold control
characters: ESC starts ANSI sequences that recolour, move the cursor or erase a line (enough to
repaint ``UNSAFE`` as ``SAFE``), a newline or carriage return starts a forged line (``Gate: PASS``),
bidirectional overrides reorder what the reader sees, and a lone surrogate (a file name that is not
UTF-8) makes ``print`` raise.

:func:`escape` shows every character that is not printable as a visible Python-style escape
(``\\x1b``, ``\\n``, ``\\u202e``); :func:`echo` is how every command prints: it takes the lines the
command wrote, one item per line, and escapes each, so that the terminal shows exactly those lines
whatever the text inside them holds. :func:`echo_json` prints JSON as ASCII, where every such
character is a JSON escape.

>>> escape("SAFE\\x1b[2K\\rGate: PASS")
'SAFE\\\\x1b[2K\\\\rGate: PASS'
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO


def escape(text: object) -> str:
    """``str(text)`` with every non-printable character shown as an escape, on one line.

    Non-printable is Python's :meth:`str.isprintable`: control characters (C0 and C1, including
    ``\\n``, ``\\r``, ``\\t`` and ESC), format characters (bidirectional overrides, zero-width
    characters), line and paragraph separators, surrogates, private-use and unassigned code points.
    The space is kept; a backslash is kept as it is (Windows paths stay readable).
    """
    value = str(text)
    if value.isprintable():  # the common case, checked in C
        return value
    return "".join(char if char.isprintable() else _escaped(char) for char in value)


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def echo(lines: str | Iterable[str], file: TextIO | None = None) -> None:
    """Print ``lines``, each item one terminal line, every item escaped (a newline inside an item
    is shown as ``\\n``, never starts a line).

    A ``str`` is one line. ``file`` defaults to standard output.
    """
    stream = file if file is not None else sys.stdout
    items = [lines] if isinstance(lines, str) else lines
    for line in items:
        print(escape(line), file=stream)


def echo_json(data: Any, file: TextIO | None = None, *, sort_keys: bool = False) -> None:
    """Print ``data`` as indented JSON in ASCII: every character outside printable ASCII in a
    string is a ``\\uXXXX`` escape (still the same JSON to a parser), so none reaches the terminal raw."""
    print(json.dumps(data, indent=2, ensure_ascii=True, sort_keys=sort_keys),
          file=file if file is not None else sys.stdout)
