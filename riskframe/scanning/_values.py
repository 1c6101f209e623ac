"""The symbolic values the pickle walker keeps on its stack and in its memo.

Nothing here is ever called or imported: a global is a :class:`Ref` (its name and where it was
named), a call is a :class:`Call` record. Plain constants (small ``str``/``bytes``, ``int``,
``float``, ``bool``, ``None``) are kept as themselves, because STACK_GLOBAL operands and joblib's
array layout are read from them. Containers keep their first :data:`KEEP_ITEMS` items and count
the rest, and long strings become a :class:`Blob`, so the walker's memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEEP_ITEMS = 64  # items a container keeps; enough for any joblib/numpy state tuple or dict
KEEP_TEXT = 4096  # bytes a string keeps; module and attribute names are far shorter


class _Mark:
    def __repr__(self) -> str:
        return "MARK"


MARK = _Mark()


@dataclass(eq=False)
class Ref:
    """A global named by GLOBAL, INST or STACK_GLOBAL at ``offset``.

    A ``constructed_only`` global (a ``torch.nn`` module class, joblib's array wrapper) is admitted
    only as the class of NEWOBJ/NEWOBJ_EX, which creates an instance without running its
    ``__init__``: ``pushes`` counts its appearances on the stack, ``constructed`` those consumed
    that way, and the walker flags it unless the two are equal.
    """

    module: str
    name: str
    offset: int
    opcode: str
    severity: str | None = None  # set when the allowlist does not admit it
    reason: str = ""
    uses: list[str] = field(default_factory=list)  # how the stream calls it, for the finding
    constructed_only: bool = False
    pushes: int = 1
    constructed: int = 0

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class Call:
    """The result of REDUCE, NEWOBJ, NEWOBJ_EX, INST or OBJ; ``state`` is what the last BUILD gave
    it, ``states`` every BUILD's state in order (their effects add up on the loaded object)."""

    func: Any
    args: Any
    opcode: str
    offset: int
    state: Any = None
    states: list[Any] = field(default_factory=list)


@dataclass(eq=False)
class Seq:
    """A list, tuple, set or frozenset: its first items and its full length."""

    kind: str
    items: list[Any]
    length: int

    @property
    def exact(self) -> bool:
        """Every item was kept."""
        return self.length == len(self.items)

    def extend(self, values: list[Any]) -> None:
        room = KEEP_ITEMS - len(self.items)
        if room > 0:
            self.items.extend(values[:room])
        self.length += len(values)


@dataclass(eq=False)
class Map:
    """A dict: its first key/value pairs (in the order they were set, repeated keys included) and
    its full length (the number of pairs set)."""

    items: list[tuple[Any, Any]]
    length: int

    def update(self, pairs: list[tuple[Any, Any]]) -> None:
        room = KEEP_ITEMS - len(self.items)
        if room > 0:
            self.items.extend(pairs[:room])
        self.length += len(pairs)

    @property
    def exact(self) -> bool:
        """Every pair was kept, so :meth:`as_dict` is the dict a loader builds."""
        return self.length == len(self.items)

    def get(self, key: str) -> Any:
        """The value a loader sees for ``key``: the *last* one set."""
        return next((v for k, v in reversed(self.items) if k == key), None)


@dataclass(frozen=True)
class Blob:
    """A string or bytes value too long to keep."""

    kind: str
    length: int


@dataclass(frozen=True)
class Opaque:
    """A value the walker cannot know statically (a persistent id, a buffer, an extension code)."""

    what: str


def appeared(value: Any) -> None:
    """``value`` appears on the stack once more (GET, DUP): so do the constructed-only classes in it."""
    if type(value) is Ref:
        if value.constructed_only:
            value.pushes += 1
    elif type(value) is Seq:
        for item in value.items:
            if type(item) is Ref and item.constructed_only:
                item.pushes += 1


def snapshot(value: Any) -> Any:
    """``value`` as BUILD copies it into an object: a dict's pairs as they are now."""
    return Map(list(value.items), value.length) if isinstance(value, Map) else value


def seq(kind: str, values: list[Any]) -> Seq:
    return Seq(kind, list(values[:KEEP_ITEMS]), len(values))


def describe(value: Any, budget: int = 120) -> str:
    """A short, readable rendering of a symbolic value for a finding's reason."""
    text = _render(value, depth=0)
    return text if len(text) <= budget else text[:budget - 3] + "..."


def _render(value: Any, depth: int) -> str:
    if depth > 3:
        return "..."
    if isinstance(value, Ref):
        return value.dotted
    if isinstance(value, Call):
        return f"{_render(value.func, depth + 1)}{_render(value.args, depth + 1)}"
    if isinstance(value, Seq):
        inner = ", ".join(_render(v, depth + 1) for v in value.items[:8])
        more = ", ..." if value.length > min(len(value.items), 8) else ""
        comma = "," if value.kind == "tuple" and value.length == 1 else ""
        open_, close = {"list": ("[", "]"), "tuple": ("(", ")")}.get(value.kind, ("{", "}"))
        return f"{open_}{inner}{comma}{more}{close}"
    if isinstance(value, Map):
        inner = ", ".join(f"{_render(k, depth + 1)}: {_render(v, depth + 1)}" for k, v in value.items[:6])
        return "{" + inner + (", ..." if value.length > 6 else "") + "}"
    if isinstance(value, Blob):
        return f"<{value.kind} of {value.length} bytes>"
    if isinstance(value, Opaque):
        return f"<{value.what}>"
    if value is MARK:
        return "MARK"
    return repr(value)
