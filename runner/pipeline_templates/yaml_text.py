"""YAML as Azure Pipelines reads it: every scalar is a string until a parameter type says otherwise.

PyYAML's default rules would turn ``on:`` (a deployment hook) into ``True`` and ``1.10`` into a
float; the service does neither, so plain scalars stay text here and typing happens in
:mod:`runner.pipeline_templates.parameters`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import TemplateError


class _StringScalarLoader(yaml.SafeLoader):
    """A safe loader with no implicit types: ``true``, ``3`` and ``on`` are all strings."""


_StringScalarLoader.yaml_implicit_resolvers = {}


def load_yaml(text: str, origin: str) -> Any:
    """Parse one YAML document; ``origin`` names it in errors."""
    try:
        return yaml.load(text, Loader=_StringScalarLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise TemplateError(
            f"{origin}: not valid YAML: {error}",
            file=Path(origin),
            line=mark.line + 1 if mark is not None else None,
            column=mark.column + 1 if mark is not None else None,
            detail=problem,
        ) from None


def load_yaml_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"{path}: cannot read the file: {error.strerror}") from None
    return load_yaml(text, str(path))


class _ReadableDumper(yaml.SafeDumper):
    """Scripts as ``|`` blocks, and no ``&id001`` anchors for values a template used twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_ReadableDumper.add_representer(str, _text)


def dump_yaml(document: Any) -> str:
    """Write an expanded pipeline in the order it was written, as the service's preview shows it."""
    return yaml.dump(
        document, Dumper=_ReadableDumper, sort_keys=False, default_flow_style=False, width=100
    )
