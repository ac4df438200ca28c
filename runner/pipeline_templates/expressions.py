"""Template expressions: the language inside ``${{ }}``.

Literals (``'text'`` with ``''`` for a quote, numbers, ``true``, ``false``, ``null``), property
access (``parameters.app``, ``app['name']``, ``apps[0]``, filtered arrays ``apps.*.name``) and
function calls. The functions live
in :mod:`runner.pipeline_templates.functions`; conversions follow the service's rules there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Union

from .errors import TemplateError
from .functions import FUNCTIONS, to_text

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | (?P<punct>[()\[\],.*])
    )""",
    re.VERBOSE,
)
_WHOLE = re.compile(r"^\s*\$\{\{(?P<body>.*)\}\}\s*$", re.DOTALL)
_EMBEDDED = re.compile(r"\$\{\{(?P<body>.*?)\}\}", re.DOTALL)
_KEYWORDS = {"true": True, "false": False, "null": None}


class Literal(NamedTuple):
    value: Any


class Name(NamedTuple):
    name: str


class Member(NamedTuple):
    target: Node
    key: Node


class Filtered(NamedTuple):
    """`apps.*`: every element of a list (or value of a mapping), as a filtered array."""

    target: Node


class Call(NamedTuple):
    function: str
    arguments: tuple[Node, ...]


Node = Union[Literal, Name, Member, Filtered, Call]


class FilteredArray(list[Any]):
    """The value of `x.*`: a property read from it is read from each element (`apps.*.name`)."""


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise TemplateError(f"unexpected character {text[position:].strip()[:1]!r} in {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def parse(self) -> Node:
        node = self._expression()
        if self.index != len(self.tokens):
            raise TemplateError(f"unexpected {self.tokens[self.index][1]!r} in {self.text!r}")
        return node

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")

    def _take(self, value: str) -> None:
        if self._peek()[1] != value:
            raise TemplateError(f"expected {value!r} in {self.text!r}")
        self.index += 1

    def _expression(self) -> Node:
        node = self._primary()
        while self._peek()[1] in (".", "["):
            if self._peek()[1] == ".":
                self.index += 1
                kind, value = self._peek()
                if value == "*":
                    self.index += 1
                    node = Filtered(node)
                    continue
                if kind != "name":
                    raise TemplateError(f"expected a property name after '.' in {self.text!r}")
                self.index += 1
                node = Member(node, Literal(value))
            else:
                self.index += 1
                key = self._expression()
                self._take("]")
                node = Member(node, key)
        return node

    def _primary(self) -> Node:
        kind, value = self._peek()
        self.index += 1
        if kind == "string":
            return Literal(value[1:-1].replace("''", "'"))
        if kind == "number":
            number = float(value)
            return Literal(int(number) if number.is_integer() and "." not in value else number)
        if kind == "name":
            if self._peek()[1] == "(":
                return Call(value.lower(), self._arguments())
            if value.lower() in _KEYWORDS:
                return Literal(_KEYWORDS[value.lower()])
            return Name(value)
        raise TemplateError(f"unexpected {value or 'end'!r} in {self.text!r}")

    def _arguments(self) -> tuple[Node, ...]:
        self._take("(")
        arguments: list[Node] = []
        while self._peek()[1] != ")":
            arguments.append(self._expression())
            if self._peek()[1] == ",":
                self.index += 1
            elif self._peek()[1] != ")":
                raise TemplateError(f"expected ',' or ')' in {self.text!r}")
        self._take(")")
        return tuple(arguments)


def parse(text: str) -> Node:
    """Parse the text between ``${{`` and ``}}``."""
    return _Parser(text).parse()


def evaluate(
    node: Node, context: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] = FUNCTIONS
) -> Any:
    """Evaluate a parsed expression; ``context`` holds ``parameters``, ``variables``, loop names."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        if node.name not in context:
            known = ", ".join(sorted(context))
            raise TemplateError(f"unknown name {node.name!r} (known here: {known})")
        return context[node.name]
    if isinstance(node, Member):
        target = evaluate(node.target, context, functions)
        return _member(target, evaluate(node.key, context, functions))
    if isinstance(node, Filtered):
        found = evaluate(node.target, context, functions)
        if isinstance(found, Mapping):
            return FilteredArray(found.values())
        return FilteredArray(found if isinstance(found, list) else [])
    function = functions.get(node.function)
    if function is None:
        raise TemplateError(f"unknown function {node.function}()")
    return function(*(evaluate(argument, context, functions) for argument in node.arguments))


def _member(target: Any, key: Any) -> Any:
    if isinstance(target, FilteredArray) and isinstance(key, str):
        return FilteredArray(_member(item, key) for item in target)
    if isinstance(target, Mapping):
        if isinstance(key, str):
            # Property names are case-insensitive in the service.
            for name, value in target.items():
                if name.lower() == key.lower():
                    return value
        return None
    if isinstance(target, list) and isinstance(key, (int, float)) and not isinstance(key, bool):
        index = int(key)
        return target[index] if 0 <= index < len(target) else None
    return None


def whole_expression(text: str) -> str | None:
    """The body of ``text`` when it is exactly one ``${{ }}``, else None."""
    match = _WHOLE.match(text)
    if match is None or "${{" in match.group("body"):
        return None
    return match.group("body")


def render(text: str, context: Mapping[str, Any]) -> Any:
    """Substitute expressions in a string.

    A string that is one whole expression becomes the expression's value (a list stays a list);
    expressions embedded in text are converted to text, as the service does.
    """
    body = whole_expression(text)
    if body is not None:
        return evaluate(parse(body), context)
    if "${{" not in text:
        return text
    return _EMBEDDED.sub(lambda match: to_text(evaluate(parse(match.group("body")), context)), text)


def is_directive(key: str) -> bool:
    """True for mapping keys such as ``${{ if ... }}`` and ``${{ each ... }}``."""
    body = whole_expression(key)
    if body is None:
        return False
    word = body.strip().split(" ", 1)[0].lower()
    return word in ("if", "elseif", "else", "each", "insert")
