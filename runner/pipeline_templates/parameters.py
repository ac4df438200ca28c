"""Template parameters: declarations, defaults, types and allowed values.

Values arrive as YAML text (see :mod:`yaml_text`) or as values computed by the caller's
expressions; each declared type converts or rejects them the way the service does, so a template
sees ``true`` as a boolean and ``3`` as a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

from .errors import TemplateError

_MISSING = object()


class ParameterDeclaration(NamedTuple):
    name: str
    type: str
    default: Any
    values: tuple[str, ...]

    @property
    def required(self) -> bool:
        return self.default is _MISSING


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("expected true or false")


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        number = float(value)
        return int(number) if number.is_integer() else number
    raise ValueError("expected a number")


def _string(value: Any) -> str:
    if isinstance(value, (list, dict)):
        raise ValueError("expected a single value, not a list or mapping")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _mapping_with(keys: tuple[str, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, Mapping) or not any(key in value for key in keys):
            raise ValueError(f"expected a mapping with {' or '.join(repr(k) for k in keys)}")
        return value

    return check


def _list_of(item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None or value == "":
            return []
        if not isinstance(value, list):
            raise ValueError("expected a list")
        return [item(element) for element in value]

    return check


_STEP = _mapping_with(
    ("task", "script", "bash", "pwsh", "powershell", "checkout", "download", "template", "publish")
)
_JOB = _mapping_with(("job", "deployment", "template"))
_DEPLOYMENT = _mapping_with(("deployment", "template"))
_STAGE = _mapping_with(("stage", "template"))

_TYPES: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "number": _number,
    "boolean": _boolean,
    "object": lambda value: value,
    "step": _STEP,
    "steplist": _list_of(_STEP),
    "job": _JOB,
    "joblist": _list_of(_JOB),
    "deployment": _DEPLOYMENT,
    "deploymentlist": _list_of(_DEPLOYMENT),
    "stage": _STAGE,
    "stagelist": _list_of(_STAGE),
    "stringlist": _list_of(_string),
    "legacyobject": lambda value: value,
}


def read_declarations(raw: Any, origin: str) -> list[ParameterDeclaration]:
    """Read a template's ``parameters:`` block (the list form, or the older mapping form)."""
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        return [ParameterDeclaration(str(k), "legacyobject", v, ()) for k, v in raw.items()]
    if not isinstance(raw, list):
        raise TemplateError(f"{origin}: 'parameters' must be a list of declarations")
    declarations = []
    for entry in raw:
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise TemplateError(f"{origin}: every parameter needs a 'name': {entry!r}")
        type_name = str(entry.get("type", "string"))
        if type_name.lower() not in _TYPES:
            raise TemplateError(
                f"{origin}: parameter {entry['name']!r} has unknown type {type_name!r}"
            )
        values = tuple(str(v) for v in entry.get("values", []) or [])
        default = entry.get("default", _MISSING)
        declarations.append(ParameterDeclaration(str(entry["name"]), type_name, default, values))
    return declarations


def bind(
    declarations: list[ParameterDeclaration], given: Mapping[str, Any], origin: str
) -> dict[str, Any]:
    """Match the caller's values to the declarations: defaults, conversions, allowed values."""
    known = {declaration.name for declaration in declarations}
    unexpected = [name for name in given if name not in known]
    if unexpected:
        raise TemplateError(
            f"{origin}: unexpected parameter {unexpected[0]!r}"
            f" (declared: {', '.join(sorted(known))})"
        )
    bound: dict[str, Any] = {}
    for declaration in declarations:
        if declaration.name in given:
            value = given[declaration.name]
        elif declaration.required:
            raise TemplateError(
                f"{origin}: a value for the {declaration.name!r} parameter must be provided"
            )
        else:
            value = declaration.default
        try:
            value = _TYPES[declaration.type.lower()](value)
        except ValueError as error:
            raise TemplateError(
                f"{origin}: parameter {declaration.name!r} ({declaration.type}): {error},"
                f" got {value!r}"
            ) from None
        if declaration.values and str(value) not in declaration.values:
            raise TemplateError(
                f"{origin}: parameter {declaration.name!r} must be one of "
                f"{', '.join(declaration.values)}, got {value!r}"
            )
        bound[declaration.name] = value
    return bound
