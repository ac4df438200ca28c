"""The expression functions and the service's conversion rules.

Comparisons convert the right operand to the left operand's type and compare strings ignoring
case, as Azure Pipelines does; a failed conversion makes ``eq`` false rather than an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Callable, Optional

from .errors import TemplateError

_NOT_CONVERTIBLE = object()


def to_bool(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    raise TemplateError(f"cannot use {type(value).__name__} {value!r} as text")


def to_number(value: Any) -> Any:
    """A number, or ``_NOT_CONVERTIBLE``."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        try:
            number = float(text)
        except ValueError:
            return _NOT_CONVERTIBLE
        return int(number) if number.is_integer() else number
    return _NOT_CONVERTIBLE


def _convert_like(left: Any, right: Any) -> Any:
    if isinstance(left, bool):
        return to_bool(right)
    if isinstance(left, (int, float)):
        return to_number(right)
    if isinstance(left, str):
        return to_text(right) if not isinstance(right, (list, dict)) else _NOT_CONVERTIBLE
    if left is None:
        return right if right is None else _NOT_CONVERTIBLE
    return right


def _eq(left: Any, right: Any) -> bool:
    converted = _convert_like(left, right)
    if converted is _NOT_CONVERTIBLE:
        return False
    if isinstance(left, str):
        return bool(left.lower() == converted.lower())
    return bool(left == converted)


def _compare(left: Any, right: Any) -> int:
    converted = _convert_like(left, right)
    if converted is _NOT_CONVERTIBLE or isinstance(left, (list, dict)) or left is None:
        raise TemplateError(f"cannot compare {left!r} with {right!r}")
    if isinstance(left, str):
        left, converted = left.lower(), converted.lower()
    return int(left > converted) - int(left < converted)


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    return None


def _format(template: Any, *values: Any) -> str:
    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        index = int(match.group(1))
        if index >= len(values):
            raise TemplateError(f"format(): no argument {{{index}}} in {template!r}")
        return to_text(values[index])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", substitute, to_text(template))


def _join(separator: Any, collection: Any) -> str:
    if isinstance(collection, Mapping):
        collection = list(collection)
    if not isinstance(collection, list):
        return to_text(collection)
    return to_text(separator).join(to_text(item) for item in collection)


def _contains(haystack: Any, needle: Any) -> bool:
    return to_text(needle).lower() in to_text(haystack).lower()


def _contains_value(collection: Any, value: Any) -> bool:
    items = collection.values() if isinstance(collection, Mapping) else collection
    if not isinstance(items, (list, type({}.values()))):
        return False
    return any(_eq(item, value) for item in items)


def _length(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (str, list, Mapping)):
        return len(value)
    raise TemplateError(f"length() of {type(value).__name__} {value!r}")


def _split(text: Any, delimiter: Any) -> list[str]:
    return to_text(text).split(to_text(delimiter))


def _arity(name: str, low: int, high: Optional[int]) -> Callable[[Callable[..., Any]], Any]:
    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        def checked(*arguments: Any) -> Any:
            if len(arguments) < low or (high is not None and len(arguments) > high):
                raise TemplateError(f"{name}() takes {low}..{high or 'n'} arguments")
            return function(*arguments)

        return checked

    return wrap


_SIGNATURES: list[tuple[str, int, Optional[int], Callable[..., Any]]] = [
    ("eq", 2, 2, _eq),
    ("ne", 2, 2, lambda a, b: not _eq(a, b)),
    ("and", 2, None, lambda *v: all(to_bool(x) for x in v)),
    ("or", 2, None, lambda *v: any(to_bool(x) for x in v)),
    ("xor", 2, 2, lambda a, b: to_bool(a) != to_bool(b)),
    ("not", 1, 1, lambda a: not to_bool(a)),
    ("gt", 2, 2, lambda a, b: _compare(a, b) > 0),
    ("ge", 2, 2, lambda a, b: _compare(a, b) >= 0),
    ("lt", 2, 2, lambda a, b: _compare(a, b) < 0),
    ("le", 2, 2, lambda a, b: _compare(a, b) <= 0),
    ("in", 1, None, lambda a, *rest: any(_eq(a, b) for b in rest)),
    ("notin", 1, None, lambda a, *rest: not any(_eq(a, b) for b in rest)),
    ("coalesce", 1, None, _coalesce),
    ("format", 1, None, _format),
    ("join", 2, 2, _join),
    ("replace", 3, 3, lambda s, a, b: to_text(s).replace(to_text(a), to_text(b))),
    ("lower", 1, 1, lambda s: to_text(s).lower()),
    ("upper", 1, 1, lambda s: to_text(s).upper()),
    ("trim", 1, 1, lambda s: to_text(s).strip()),
    ("contains", 2, 2, _contains),
    ("containsvalue", 2, 2, _contains_value),
    ("startswith", 2, 2, lambda s, p: to_text(s).lower().startswith(to_text(p).lower())),
    ("endswith", 2, 2, lambda s, p: to_text(s).lower().endswith(to_text(p).lower())),
    ("length", 1, 1, _length),
    ("split", 2, 2, _split),
    ("converttojson", 1, 1, lambda v: json.dumps(v, indent=2)),
]
FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: _arity(name, low, high)(function) for name, low, high, function in _SIGNATURES
}
