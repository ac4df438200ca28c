"""What the service does while a run goes on: ``$(macros)``, ``$[ runtime expressions ]`` and
step conditions, for the rehearsal of an expanded pipeline.

Runtime expressions use the same language as template expressions, with ``dependencies`` /
``stageDependencies`` and the status functions (``succeeded()``, ``failed()``...) added.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable

from . import expressions
from .functions import FUNCTIONS, to_bool, to_text

_MACRO = re.compile(r"\$\(([A-Za-z0-9_.\-]+)\)")
_RUNTIME = re.compile(r"^\s*\$\[(?P<body>.*)\]\s*$", re.DOTALL)


def expand_macros(text: str, variables: Mapping[str, str]) -> str:
    """``$(name)`` becomes the variable's value; unknown names stay as written (as the agent)."""
    lookup = {name.lower(): value for name, value in variables.items()}
    return _MACRO.sub(lambda match: lookup.get(match.group(1).lower(), match.group(0)), text)


def resolve_variable(value: Any, context: Mapping[str, Any]) -> str:
    """A job variable's value: a ``$[ ]`` expression is evaluated against ``context``."""
    text = to_text(value)
    match = _RUNTIME.match(text)
    if match is None:
        return text
    return to_text(expressions.evaluate(expressions.parse(match.group("body")), context))


def condition_holds(condition: str | None, job_failed: bool, variables: Mapping[str, str]) -> bool:
    """Evaluate a step condition; no condition means ``succeeded()``."""
    if not condition:
        return not job_failed
    status: dict[str, Callable[..., Any]] = {
        "succeeded": lambda: not job_failed,
        "failed": lambda: job_failed,
        "always": lambda: True,
        "canceled": lambda: False,
        "succeededorfailed": lambda: True,
    }
    node = expressions.parse(condition)
    context = {"variables": dict(variables)}
    return to_bool(expressions.evaluate(node, context, {**FUNCTIONS, **status}))
