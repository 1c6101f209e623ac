"""Turn pydantic validation errors into located, readable problems.

One message shape for every field, after scikit-learn's parameter errors: name the rule, then the
value. "must be a number in [0, 1]. Got 1.5 instead."
"""

from __future__ import annotations

import collections.abc
import difflib
import enum
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from riskframe.errors import DocumentError, Problem
from riskframe.spec.yaml_source import SourceMap

M = TypeVar("M", bound=BaseModel)

_KIND_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "byte_size": "a size such as 4GiB, 512MiB or 2GB, or a number of bytes",
    "byte_size_unit": "a size such as 4GiB, 512MiB or 2GB, or a number of bytes",
}


def suggest(word: str, choices: Iterable[str], n: int = 1) -> list[str]:
    """The closest valid names to ``word`` (case-insensitive), best first."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    matches = difflib.get_close_matches(str(word).lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[m] for m in matches]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    found = suggest(word, choices)
    return f" (did you mean {found[0]!r}?)" if found else ""


def validate_model(
    model: type[M], data: Any, source: SourceMap, prefix: Sequence[str | int] = ()
) -> M:
    """Validate ``data`` against ``model``, reporting every problem located in ``source``.

    ``prefix`` is where ``data`` sits in the file (for a nested block such as a control's ``with:``).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DocumentError(problems_from(exc, model, source, prefix)) from None


def problems_from(
    exc: ValidationError, model: type[BaseModel], source: SourceMap, prefix: Sequence[str | int] = ()
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
        if loc in seen:  # a union reports one error per member; the first says enough
            continue
        seen.add(loc)
        message = _message(error, model, loc)
        problems.append(source.problem((*prefix, *loc), message, error.get("input")))
    return problems


_UNION_TAG = re.compile(r"[a-z][a-z-]*\[.*\]", re.DOTALL)


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the member's type name to the loc of union errors (e.g. 'function-after[...]');
    # a key a user wrote with a '[' in it is no tag
    return isinstance(part, str) and (bool(_UNION_TAG.fullmatch(part)) or part in {"str", "int", "float", "bool",
                                                                                   "list", "dict"})


def _message(error: Any, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    got = f" Got {_show(value)} instead."
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        allowed = sorted(_fields_at(model, loc[:-1]))
        hint = did_you_mean(str(loc[-1]), allowed)
        return f"unknown field{hint}. Allowed fields: {', '.join(allowed)}" if allowed else "unknown field"
    if kind in ("literal_error", "enum"):
        return _choice_message(model, loc, value) or f"{error['msg']}.{got}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"must be {_range_text(model, loc, kind, ctx)}.{got}"
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "at least" if kind == "too_short" else "at most"
        return f"must have {word} {bound} item{'s' if bound != 1 else ''}.{got}"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}.{got}"
    if kind in _KIND_NAMES:
        return f"must be {_KIND_NAMES[kind]}.{got}"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])  # the validator's own words (pydantic's message prefixes them)
    return f"{error['msg']}.{got}"


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _choice_message(model: type[BaseModel], loc: tuple[Any, ...], value: Any) -> str | None:
    """"must be one of a, b. Got 'x' instead (did you mean 'a'?)." from the field's declared choices.

    The choices come from the field's annotation (its ``Literal`` values or ``Enum`` members), as
    the model declares them; None when ``loc`` leads to no field that declares any, and pydantic's
    own message says it instead.
    """
    choices = [str(c) for c in _declared_choices(_target(model, loc)[0])]
    if not choices:
        return None
    got = f" Got {_show(value)} instead"
    hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
    return f"must be one of {', '.join(choices)}.{got}{hint}."


def _declared_choices(annotation: Any) -> list[Any]:
    """The values a ``Literal`` or ``Enum`` admits, also as members of a union or inside ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [member.value for member in annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return list(args)
    if origin is typing.Annotated:
        return _declared_choices(args[0])  # the rest is metadata
    if origin in (typing.Union, types.UnionType):
        return list(dict.fromkeys(choice for arg in args for choice in _declared_choices(arg)))
    return []


def _target(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, FieldInfo | None]:
    """The declared type of what ``loc`` points at in ``model`` (a field, a list item, a mapping's
    value) and the last field on the way there (whose constraints and type a message names);
    ``(None, None)`` when it leads nowhere."""
    annotation: Any = model
    info: FieldInfo | None = None
    for part in loc:
        annotation, field_info = _step(annotation, part)
        if annotation is None:
            return None, None
        info = field_info or info
    return annotation, info


def _step(annotation: Any, part: str | int) -> tuple[Any, FieldInfo | None]:
    """One step of :func:`_target`: the type ``part`` leads to, and its field if it names one."""
    fields = _model_fields(annotation)
    if fields:
        info = next((f for n, f in fields.items() if part in (n, f.alias)), None)
        return (None, None) if info is None else (info.annotation, info)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, set, frozenset, collections.abc.Sequence) and isinstance(part, int) and args:
        return args[0], None
    if origin is tuple and isinstance(part, int) and args:
        return (args[0] if args[-1] is Ellipsis else args[part] if part < len(args) else None), None
    if origin in (dict, collections.abc.Mapping) and len(args) == 2:
        return args[1], None  # ``part`` is a key
    if origin is typing.Annotated:
        return _step(args[0], part)
    if origin in (typing.Union, types.UnionType):
        return next((found for arg in args if (found := _step(arg, part))[0] is not None), (None, None))
    return None, None


def _range_text(model: type[BaseModel], loc: tuple[Any, ...], kind: str, ctx: dict[str, Any]) -> str:
    info = _target(model, loc)[1]
    bounds = {}
    for meta in info.metadata if info else ():
        for name in ("gt", "ge", "lt", "le"):
            if getattr(meta, name, None) is not None:
                bounds[name] = getattr(meta, name)
    low = ("[", bounds["ge"]) if "ge" in bounds else ("(", bounds["gt"]) if "gt" in bounds else None
    high = ("]", bounds["le"]) if "le" in bounds else (")", bounds["lt"]) if "lt" in bounds else None
    noun = "an integer" if info is not None and info.annotation is int else "a number"
    if low and high:
        return f"{noun} in {low[0]}{_number(low[1])}, {_number(high[1])}{high[0]}"
    symbol = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
    bound = next(iter(v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le")), "?")
    return f"{noun} {symbol} {_number(bound)}"


def _number(value: Any) -> str:
    """1.0 -> '1', 0.25 -> '0.25': bounds read the way people write them."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The fields of the model ``loc`` points at (inside a list, a mapping or an optional value)."""
    return [f.alias or n for n, f in _model_fields(_inner_model(_target(model, loc)[0])).items()]


def _model_fields(model: Any) -> dict[str, FieldInfo]:
    return dict(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else {}


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside ``list[X]``, ``X | None``, ``dict[str, X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, dict, typing.Union, types.UnionType) or origin is not None:
        for arg in typing.get_args(annotation):
            inner = _inner_model(arg)
            if inner is not None:
                return inner
    return None
