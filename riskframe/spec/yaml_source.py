"""A safe YAML loader that remembers where every key came from.

Positions are kept beside the data, not in it (the data is plain dicts, lists and scalars that
pydantic validates as usual); a :class:`SourceMap` maps a field path such as
``("requirements", 2, "controls", 0, "with", "threshold")`` to its line and column.

Only PyYAML's ``SafeLoader`` (or its libyaml twin ``CSafeLoader``) composes and resolves nodes, so
no tag can construct an arbitrary Python object. Every bound is checked before the step it protects,
and each refusal is a located :class:`~riskframe.errors.DocumentError`:

- only a regular file is read (a FIFO or a device would block or never end), checked without
  opening it, and only up to :data:`MAX_DOCUMENT_BYTES`;
- the text must be UTF-8 without the characters YAML forbids (NUL, ESC and the other control
  characters, U+FFFE...), each located at its line and column;
- nesting is measured on the parser's event stream before any node is composed (PyYAML composes
  recursively: 500 levels would exhaust the Python stack);
- anchors and aliases are allowed, but the expanded document is bounded in size and depth, so a
  "billion laughs" document is refused in bounded time and memory.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from riskframe.errors import DocumentError, Problem

Loc = tuple[str | int, ...]

MAX_NODES = 200_000
MAX_DEPTH = 64
# The largest document riskframe reads: a 2,000-stage pipeline is 0.4 MB, the full ATLAS release
# 0.5 MB.
MAX_DOCUMENT_BYTES = 16 << 20
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
# The characters YAML 1.1 forbids in a stream, as PyYAML's reader checks them (libyaml lets some
# through); a tab, the line breaks and NEL are allowed.
_FORBIDDEN = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
# What PyYAML counts as a line break, so that positions found here match the parser's.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# libyaml's safe loader where PyYAML has it: the same nodes and marks, four times faster (a
# 2,000-stage pipeline parses in 0.2 s instead of 0.8 s).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def format_loc(loc: Sequence[str | int]) -> str:
    """``("requirements", 2, "with", "x")`` -> ``requirements[2].with.x``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class SourceMap:
    """Where each field of a loaded document sits in its file."""

    path: str
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def locate(self, loc: Sequence[str | int]) -> tuple[int, int]:
        """Line and column of ``loc``, or of its nearest located ancestor (a missing field sits
        in its parent mapping)."""
        key = tuple(loc)
        while key:
            if key in self.positions:
                return self.positions[key]
            key = key[:-1]
        return self.positions.get((), (1, 1))

    def origin(self, loc: Sequence[str | int]) -> tuple[str, int, int]:
        """File, line and column of ``loc`` (a merged policy's map names the file it came from)."""
        return (self.path, *self.locate(loc))

    def problem(self, loc: Sequence[str | int], message: str, value: Any = None) -> Problem:
        line, column = self.locate(loc)
        return Problem(self.path, line, column, format_loc(loc), message, value)

    def error(self, loc: Sequence[str | int], message: str, value: Any = None) -> DocumentError:
        return DocumentError([self.problem(loc, message, value)])


@dataclass
class YamlDocument:
    """A parsed document: plain data plus the positions of its keys."""

    data: Any
    source: SourceMap

    @property
    def path(self) -> str:
        return self.source.path


def load_yaml(path: str | Path) -> YamlDocument:
    """Read and parse one YAML document from ``path``.

    Raises
    ------
    DocumentError
        The file is missing, not a regular file, larger than :data:`MAX_DOCUMENT_BYTES`, not
        UTF-8, not valid YAML, holds more than one document, or expands beyond the size and depth
        bounds.
    """
    return parse_yaml(read_document(path), str(path))


def read_document(path: str | Path, shown: str | None = None) -> str:
    """The text of the document file ``path``: a regular file of at most :data:`MAX_DOCUMENT_BYTES`
    in UTF-8 (checked with ``stat`` before it is opened, so a FIFO or a device is never opened).
    ``shown`` is how messages name the file (default: ``path``).

    Raises
    ------
    DocumentError
        Any of those does not hold, or the file cannot be read.
    """
    shown = str(path) if shown is None else shown
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
            raise DocumentError.single(shown, f"is {what}; a document is a YAML file")
        if info.st_size > MAX_DOCUMENT_BYTES:
            raise DocumentError.single(shown, f"is larger than the {MAX_DOCUMENT_BYTES >> 20} MiB riskframe reads "
                                              "for a document")
        with open(path, "rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)  # a file that grew since stat() is still bounded
    except FileNotFoundError:
        raise DocumentError.single(shown, "file not found") from None
    except OSError as exc:
        raise DocumentError.single(shown, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError.single(shown, f"is larger than the {MAX_DOCUMENT_BYTES >> 20} MiB riskframe reads "
                                          "for a document")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DocumentError([Problem(shown, line, column, "", "invalid YAML: the file is not UTF-8 text "
                                                               "(a byte here is not valid UTF-8)")]) from None


def parse_yaml(text: str, path: str = "<string>") -> YamlDocument:
    """Parse ``text`` as one YAML document; ``path`` is only used in messages."""
    _check_characters(text, path)
    try:
        return _parse(text, path, _SAFE_LOADER)
    except _SyntaxError:
        if _SAFE_LOADER is yaml.SafeLoader:
            raise
    # libyaml words syntax errors its own way: the pure-Python loader says what is wrong, as before.
    return _parse(text, path, yaml.SafeLoader)


class _SyntaxError(DocumentError):
    """Invalid YAML as the parser reports it (the pure-Python parser words it better than libyaml)."""


def _check_characters(text: str, path: str) -> None:
    bad = _FORBIDDEN.search(text)
    if bad is None:
        return
    index = bad.start()
    breaks = list(_LINE_BREAK.finditer(text, 0, index))
    line, column = len(breaks) + 1, index - (breaks[-1].end() if breaks else 0) + 1
    code = ord(bad.group())
    control = code < 0x20 or 0x7F <= code < 0xA0  # YAML has an escape for these in double-quoted strings
    hint = f'; to mean it, write the escape "\\x{code:02x}" in a double-quoted string' if control else ""
    message = f"invalid YAML: character U+{code:04X} is not allowed in a YAML file{hint}"
    raise DocumentError([Problem(path, line, column, "", message)])


def _parse(text: str, path: str, loader_class: Any) -> YamlDocument:
    source = SourceMap(path)
    try:
        _check_depth(text, path, loader_class)  # the composer below recurses once per level
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            data = None if node is None else _Builder(loader, source).build(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"invalid YAML: {exc.problem or exc.context}"
        raise _SyntaxError([Problem(path, line, column, "", message)]) from None
    except yaml.YAMLError as exc:
        raise _SyntaxError([Problem(path, 0, 0, "", f"invalid YAML: {exc}")]) from None
    return YamlDocument(data, source)


def _check_depth(text: str, path: str, loader_class: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` from the parser's events (no recursion), at the
    first collection too deep, named by the field path down to it."""
    loader = loader_class(text)
    stack: list[list[Any]] = []  # per open collection: [is_mapping, next item index or pending key, is_key]
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
                _advance(stack, None)
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    loc = _event_loc(stack)
                    mark = event.start_mark
                    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
                    raise DocumentError([Problem(path, line, column, format_loc(loc[:2]),
                                                 f"nested deeper than {MAX_DEPTH} levels; refused")])
                stack.append([isinstance(event, yaml.MappingStartEvent), 0, True])
                continue
            _advance(stack, event.value if isinstance(event, yaml.ScalarEvent) else None)
    finally:
        loader.dispose()


def _advance(stack: list[list[Any]], scalar: str | None) -> None:
    """A node ended inside the innermost open collection: the next is its next item, or the value
    of the key just read, or the next key."""
    if not stack:
        return
    top = stack[-1]
    if not top[0]:
        top[1] += 1
    elif top[2]:
        top[1], top[2] = scalar if scalar is not None else "?", False
    else:
        top[2] = True


def _event_loc(stack: list[list[Any]]) -> Loc:
    return tuple(str(entry[1]) if entry[0] else int(entry[1]) for entry in stack)


class _Builder:
    """Turns composed nodes into plain Python data, recording positions and enforcing bounds."""

    def __init__(self, loader: yaml.SafeLoader, source: SourceMap) -> None:
        self.loader, self.source, self.count = loader, source, 0

    def build(self, node: yaml.Node) -> Any:
        self.source.positions[()] = _position(node)
        return self._node(node, ())

    def _node(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_NODES or len(loc) > MAX_DEPTH:
            line, column = _position(node)
            what = f"more than {MAX_NODES} nodes" if self.count > MAX_NODES else f"deeper than {MAX_DEPTH} levels"
            raise DocumentError(
                [Problem(self.source.path, line, column, format_loc(loc[:2]),
                         f"document expands to {what} (recursive or exponential YAML aliases?); refused")]
            )
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
            line, column = _position(node)
            raise DocumentError([Problem(self.source.path, line, column, format_loc(loc[:2]),
                                         f"invalid YAML: unsupported tag {node.tag!r}")])
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.source.positions.setdefault((*loc, index), _position(item))
                items.append(self._node(item, (*loc, index)))
            return items
        return self._scalar(node, loc)

    def _scalar(self, node: yaml.Node, loc: Loc) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError:
            # Shaped like a timestamp but no real date (2025-13-01): keep the text, so that the field's
            # own validation reports it, located, with the file's other problems.
            self.loader.recursive_objects.pop(node, None)
            return node.value
        except (AttributeError, TypeError, OverflowError, IndexError, KeyError, UnicodeError):
            # PyYAML's constructors fail this way on some explicitly tagged values ('!!timestamp' with
            # nothing after it): the value cannot be what its tag says.
            line, column = _position(node)
            raise DocumentError([Problem(self.source.path, line, column, format_loc(loc[:2]),
                                         f"invalid YAML: this value cannot be read as {node.tag}")]) from None

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<:` merge keys the way SafeLoader does
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            # A key is never a collection (one would be built before any bound is checked).
            key = self._scalar(key_node, loc) if isinstance(key_node, yaml.ScalarNode) else key_node
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                line, column = _position(key_node)
                raise DocumentError([Problem(self.source.path, line, column, format_loc(loc),
                                             "mapping keys must be plain scalars")])
            if key in out:
                line, column = _position(key_node)
                raise DocumentError([Problem(self.source.path, line, column, format_loc((*loc, str(key))),
                                             "duplicate key (YAML keeps only the last one)")])
            step = key if isinstance(key, str) else str(key)  # field paths name keys as text
            self.source.positions.setdefault((*loc, step), _position(key_node))
            out[key] = self._node(value_node, (*loc, step))
        return out


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
