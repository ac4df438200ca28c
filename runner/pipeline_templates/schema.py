"""The official Azure Pipelines YAML schema, extended with this extension's tasks.

The schema is the one the VS Code extension uses (microsoft/azure-pipelines-vscode
``service-schema.json``), as vendored by check-jsonschema. It lists in-box tasks only and rejects
unknown inputs, so each task.json given here adds a branch for ``Name@Major`` with its inputs and
aliases. Two adjustments make it usable on text read the service's way (every scalar a string):

* ``boolean``/``integer``/``number`` leaves accept their text forms (``true``, ``10``) and
  macros (``$(x)``, ``$[ ]``), as the service converts them when the run starts;
* for raw template files (:func:`template_schema`), any value may hold a ``${{ }}`` expression,
  and directives (``${{ if }}:``, ``${{ each }}:``) are unnested before validation, as the VS Code
  language server does.

Needs the development dependencies (jsonschema, check-jsonschema).
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema

from . import expressions

_BOOLEAN_TEXT = r"^([Tt]rue|TRUE|[Ff]alse|FALSE)$|\$\(|\$\[|\$\{\{"
_NUMBER_TEXT = r"^-?[0-9]+(\.[0-9]+)?$|\$\(|\$\[|\$\{\{"
_EXPRESSION = {"type": "string", "pattern": r"\$\{\{"}
TEMPLATE_DEFINITIONS = {
    "stages": "stagesTemplate",
    "jobs": "jobsTemplate",
    "steps": "stepsTemplate",
}


class TaskInputs(NamedTuple):
    """What a task accepts, keyed by lower-case name as the service matches them."""

    names: frozenset[str]
    required: tuple[frozenset[str], ...]  # each entry: the name and its aliases


def official_schema() -> dict[str, Any]:
    """The vendored schema file from the installed check-jsonschema."""
    resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    loaded: dict[str, Any] = json.loads((resource / "azure-pipelines.json").read_text("utf-8"))
    return loaded


def read_task_manifest(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def task_reference(manifest: Mapping[str, Any]) -> str:
    """How YAML names the task: ``SwapSlots@1``."""
    return f"{manifest['name']}@{manifest['version']['Major']}"


def _input_schema(task_input: Mapping[str, Any]) -> dict[str, Any]:
    description = str(task_input.get("label", task_input["name"]))
    if task_input.get("type") == "boolean":
        return {"type": "string", "pattern": _BOOLEAN_TEXT, "description": description}
    options = task_input.get("options")
    editable = str(task_input.get("properties", {}).get("EditableOptions", "")).lower() == "true"
    if task_input.get("type") == "pickList" and options and not editable:
        return {
            "anyOf": [{"enum": list(options)}, {"type": "string", "pattern": r"\$\(|\$\["}],
            "description": description,
        }
    return {"type": "string", "description": description}


def task_branch(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The schema branch for one task.json, shaped like the in-box ones."""
    properties: dict[str, Any] = {}
    required: list[dict[str, Any]] = []
    for task_input in manifest.get("inputs", []):
        names = [task_input["name"], *task_input.get("aliases", [])]
        for name in names:
            properties[name] = _input_schema(task_input)
        if task_input.get("required") and str(task_input.get("defaultValue", "")) == "":
            required.append({"anyOf": [{"required": [name]} for name in names]})
    reference = task_reference(manifest)
    inputs: dict[str, Any] = {
        "description": f"{manifest.get('friendlyName', manifest['name'])} inputs",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        inputs["allOf"] = required
    return {
        "properties": {
            "task": {"pattern": f"^{reference}$", "description": manifest.get("description", "")},
            "inputs": inputs,
        },
        "firstProperty": ["task"],
        "required": ["task", "inputs"] if required else ["task"],
    }


def _typed_leaves_as_text(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _typed_leaves_as_text(value) for key, value in node.items()}
        if node.get("type") == "boolean":
            node["type"], node["pattern"] = "string", _BOOLEAN_TEXT
        elif node.get("type") in ("integer", "number"):
            node["type"], node["pattern"] = "string", _NUMBER_TEXT
        return node
    if isinstance(node, list):
        return [_typed_leaves_as_text(item) for item in node]
    return node


def pipeline_schema(task_manifests: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The official schema, with scalars as text and a branch for each given task."""
    schema: dict[str, Any] = _typed_leaves_as_text(official_schema())
    task = schema["definitions"]["task"]
    for manifest in task_manifests:
        task["anyOf"].append(task_branch(manifest))
        task["properties"]["task"]["anyOf"].append({"enum": [task_reference(manifest)]})
    return schema


def template_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy in which every definition, enumeration and pattern also accepts an expression."""

    def tolerate(node: Any) -> Any:
        if isinstance(node, dict):
            node = {key: tolerate(value) for key, value in node.items()}
            if "enum" in node or "pattern" in node:
                return {"anyOf": [_EXPRESSION, node]}
            return node
        if isinstance(node, list):
            return [tolerate(item) for item in node]
        return node

    tolerant = copy.deepcopy(dict(schema))
    tolerant["definitions"] = {
        name: {"anyOf": [_EXPRESSION, tolerate(definition)]}
        for name, definition in schema["definitions"].items()
    }
    return tolerant


def as_text(document: Any) -> Any:
    """Scalars as the service sees them: ``true`` not ``True``, ``10`` not ``10.0``."""
    if isinstance(document, Mapping):
        return {str(key): as_text(value) for key, value in document.items()}
    if isinstance(document, list):
        return [as_text(item) for item in document]
    if isinstance(document, bool):
        return "true" if document else "false"
    if isinstance(document, float) and document.is_integer():
        return str(int(document))
    if document is None:
        return ""
    return str(document)


def unnest_directives(document: Any) -> Any:
    """A raw template with its ``${{ if }}`` and ``${{ each }}`` blocks opened in place."""
    if isinstance(document, list):
        result: list[Any] = []
        for item in document:
            if _is_directive_item(item):
                inner = unnest_directives(next(iter(item.values())))
                result.extend(inner if isinstance(inner, list) else [inner])
            else:
                result.append(unnest_directives(item))
        return result
    if isinstance(document, Mapping):
        merged: dict[str, Any] = {}
        for key, value in document.items():
            if isinstance(key, str) and expressions.is_directive(key):
                inner = unnest_directives(value)
                if isinstance(inner, Mapping):
                    merged.update(inner)
            else:
                merged[key] = unnest_directives(value)
        return merged
    return document


def _is_directive_item(item: Any) -> bool:
    return (
        isinstance(item, Mapping)
        and len(item) == 1
        and isinstance(next(iter(item)), str)
        and expressions.is_directive(next(iter(item)))
    )


class SchemaValidator:
    """Validates documents against the root or one definition of a schema.

    A step's ``task`` name selects its task's branch only, so each document is checked against a
    schema holding just the branches of the tasks it names: the same verdicts, many times faster.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self._validators: dict[tuple[str, frozenset[str]], jsonschema.Draft7Validator] = {}

    def problems(self, document: Any, definition: str | None = None) -> list[str]:
        """Readable problems; empty when the document is valid."""
        found: list[str] = []
        validator = self._validator(definition or "", frozenset(_task_names(document)))
        for error in validator.iter_errors(document):
            for leaf in _deepest(error)[:3]:
                found.append(f"{leaf.json_path}: {leaf.message[:300]}")
        return found

    def _validator(self, definition: str, tasks: frozenset[str]) -> jsonschema.Draft7Validator:
        key = (definition, tasks)
        if key not in self._validators:
            definitions = dict(self.schema["definitions"])
            definitions["task"] = _task_definition_for(definitions["task"], tasks)
            schema: dict[str, Any] = {**self.schema, "definitions": definitions}
            if definition:
                schema = {"definitions": definitions, "$ref": f"#/definitions/{definition}"}
            self._validators[key] = jsonschema.Draft7Validator(schema)
        return self._validators[key]


def _task_names(document: Any) -> Iterator[str]:
    if isinstance(document, Mapping):
        if isinstance(document.get("task"), str):
            yield document["task"]
        for value in document.values():
            yield from _task_names(value)
    elif isinstance(document, list):
        for item in document:
            yield from _task_names(item)


def _selects(node: Mapping[str, Any], tasks: frozenset[str]) -> bool:
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        return any(re.search(pattern, task) for task in tasks)
    enum = node.get("enum")
    if isinstance(enum, list):
        return any(task in enum for task in tasks)
    return True  # an expression placeholder or anything else that is not a task name


def _task_definition_for(task: Mapping[str, Any], tasks: frozenset[str]) -> dict[str, Any]:
    if "properties" not in task:  # the expression-tolerant wrapper: leave it whole
        return dict(task)
    branches = [
        branch
        for branch in task["anyOf"]
        if _selects(branch.get("properties", {}).get("task", {}), tasks)
    ]
    names = [node for node in task["properties"]["task"]["anyOf"] if _selects(node, tasks)]
    task_name = {**task["properties"]["task"], "anyOf": names or [{"not": {}}]}
    properties = {**task["properties"], "task": task_name}
    # An empty anyOf would accept nothing, which is the right verdict for an unknown task.
    return {**task, "anyOf": branches or [{"not": {}}], "properties": properties}


def _is_other_task(error: jsonschema.ValidationError) -> bool:
    path = error.absolute_path
    return bool(path) and path[-1] == "task" and error.validator in ("pattern", "enum")


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    if not error.context:
        return [error]
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for inner in error.context:
        branches.setdefault(inner.relative_schema_path[0], []).append(inner)
    leaves: list[jsonschema.ValidationError] = []
    for branch in branches.values():
        # A branch for another task (or another step kind) says nothing about this step.
        if not any(_is_other_task(inner) for inner in branch):
            leaves += [leaf for inner in branch for leaf in _leaves(inner)]
    return leaves or [error]


def _deepest(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The innermost errors of an anyOf tree, from the branches that could have applied."""
    leaves = _leaves(error)
    depth = max(len(leaf.absolute_path) for leaf in leaves)
    unique = {leaf.message: leaf for leaf in leaves if len(leaf.absolute_path) == depth}
    return list(unique.values())


def task_catalog(schema: Mapping[str, Any]) -> dict[str, TaskInputs]:
    """Every task the schema knows (``name@major`` in lower case) with its inputs."""
    catalog: dict[str, TaskInputs] = {}
    for branch in schema["definitions"]["task"]["anyOf"]:
        properties = branch.get("properties", {})
        pattern = str(properties.get("task", {}).get("pattern", ""))
        if not pattern.startswith("^") or not pattern.endswith("$"):
            continue
        inputs = properties.get("inputs", {})
        names: set[str] = set()
        for name, definition in inputs.get("properties", {}).items():
            names.add(name.lower())
            names.update(alias.lower() for alias in definition.get("aliases", []))
        required = [
            frozenset(
                [name.lower()]
                + [a.lower() for a in inputs["properties"].get(name, {}).get("aliases", [])]
            )
            for name in inputs.get("required", [])
        ]
        for group in inputs.get("allOf", []):
            required.append(frozenset(n.lower() for g in group["anyOf"] for n in g["required"]))
        catalog[pattern[1:-1].lower()] = TaskInputs(frozenset(names), tuple(required))
    return catalog


def task_outputs(task_manifests: Iterable[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """The output variables of the given tasks, keyed by ``name@major`` in lower case."""
    return {
        task_reference(manifest).lower(): frozenset(
            str(output["name"]) for output in manifest.get("outputVariables", [])
        )
        for manifest in task_manifests
    }
