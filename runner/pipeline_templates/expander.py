"""Expand a pipeline and its templates the way Azure Pipelines does before a run starts.

Covers what this repository's templates use: typed parameters, ``${{ }}`` substitution,
``${{ if }}`` / ``${{ elseif }}`` / ``${{ else }}``, ``${{ each }}`` over lists and mappings,
``${{ insert }}``, compile-time ``variables``, and ``template:`` references to files in this
repository or in a repository resource (``path@alias``). ``extends`` is not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, Optional

from . import expressions
from .errors import TemplateError, located
from .functions import to_bool
from .parameters import bind, read_declarations
from .yaml_text import load_yaml_file

TEMPLATE_KINDS = ("stages", "jobs", "steps", "variables")
_MAX_DEPTH = 50


class _Scope(NamedTuple):
    values: Mapping[str, Any]
    file: Path
    repository_root: Path
    depth: int

    def with_values(self, **values: Any) -> _Scope:
        return self._replace(values={**self.values, **values})


class Expander:
    """Expands files of one pipeline; ``repositories`` maps resource aliases to local checkouts."""

    def __init__(self, self_root: Path, repositories: Mapping[str, Path]) -> None:
        self.self_root = self_root.resolve()
        self.repositories = {alias: root.resolve() for alias, root in repositories.items()}
        self.declared_aliases: Optional[set[str]] = None
        self.files_read: set[Path] = set()

    # Entry points -------------------------------------------------------------------------

    def expand_pipeline(self, path: Path, parameters: Mapping[str, Any] | None = None) -> Any:
        """The pipeline as the service would run it (``parameters`` are the runtime ones)."""
        path = path.resolve()
        document = load_yaml_file(path)
        if not isinstance(document, Mapping):
            raise TemplateError(f"{path}: a pipeline is a mapping")
        if "extends" in document:
            raise TemplateError(f"{path}: 'extends' is not supported by this expander")
        self.declared_aliases = _declared_aliases(document)
        declarations = read_declarations(document.get("parameters"), str(path))
        bound = bind(declarations, parameters or {}, str(path))
        scope = _Scope({"parameters": bound, "variables": {}}, path, self.self_root, 0)
        body = {key: value for key, value in document.items() if key != "parameters"}
        return self._mapping(body, scope, "")

    def expand_template(self, path: Path, parameters: Mapping[str, Any] | None = None) -> Any:
        """One template file on its own, as if a pipeline referenced it with ``parameters``."""
        path = path.resolve()
        scope = _Scope({"parameters": {}, "variables": {}}, path, self.self_root, 0)
        return self._load_template(path, self.self_root, dict(parameters or {}), scope)

    # Templates ----------------------------------------------------------------------------

    def _resolve(self, reference: str, scope: _Scope) -> tuple[Path, Path]:
        path_text, _, alias = reference.partition("@")
        if alias:
            if alias == "self":
                root = self.self_root
            else:
                if self.declared_aliases is not None and alias not in self.declared_aliases:
                    raise TemplateError(
                        f"{scope.file}: template {reference!r} names repository {alias!r}, "
                        "which is not declared under resources.repositories"
                    )
                if alias not in self.repositories:
                    raise TemplateError(f"{scope.file}: no local checkout for repository {alias!r}")
                root = self.repositories[alias]
            return (root / path_text.lstrip("/")).resolve(), root
        if path_text.startswith("/"):
            return (scope.repository_root / path_text.lstrip("/")).resolve(), scope.repository_root
        return (scope.file.parent / path_text).resolve(), scope.repository_root

    def _load_template(
        self,
        path: Path,
        repository_root: Path,
        given: dict[str, Any],
        caller: _Scope,
        where: str = "",
    ) -> Any:
        if caller.depth >= _MAX_DEPTH:
            raise TemplateError(f"{path}: templates nested more than {_MAX_DEPTH} deep")
        if not path.is_relative_to(repository_root):
            raise TemplateError(f"{caller.file}: template {path} is outside its repository")
        document = load_yaml_file(path)
        self.files_read.add(path)
        if not isinstance(document, Mapping):
            raise TemplateError(f"{path}: a template is a mapping")
        declarations = read_declarations(document.get("parameters"), str(path))
        try:
            bound = bind(declarations, given, str(path))
        except TemplateError as error:
            # The service reports a parameter mismatch where the template is referenced.
            detail = str(error).removeprefix(f"{path}: ")
            raise TemplateError(str(error), file=caller.file, where=where, detail=detail) from None
        values = {"parameters": bound, "variables": caller.values.get("variables", {})}
        scope = _Scope(values, path, repository_root, caller.depth + 1)
        body = {key: value for key, value in document.items() if key != "parameters"}
        return self._mapping(body, scope, "")

    def _include(self, reference: Mapping[str, Any], scope: _Scope, where: str) -> list[Any]:
        target = self._render(str(reference["template"]), scope, where)
        given = self._node(reference.get("parameters") or {}, scope, f"{where}.parameters")
        if not isinstance(given, Mapping):
            raise located(scope.file, where, "template parameters must be a mapping")
        path, repository_root = self._resolve(str(target), scope)
        body = self._load_template(path, repository_root, dict(given), scope, f"{where}.parameters")
        kinds = [kind for kind in TEMPLATE_KINDS if kind in body]
        if len(kinds) != 1:
            expected = ", ".join(TEMPLATE_KINDS)
            raise TemplateError(f"{path}: a template holds exactly one of {expected}")
        content = body[kinds[0]]
        return list(content) if isinstance(content, list) else []

    # Tree walk ----------------------------------------------------------------------------

    def _node(self, node: Any, scope: _Scope, where: str) -> Any:
        if isinstance(node, str):
            return self._render(node, scope, where)
        if isinstance(node, list):
            return self._sequence(node, scope, where)
        if isinstance(node, Mapping):
            return self._mapping(node, scope, where)
        return node

    def _render(self, text: str, scope: _Scope, where: str) -> Any:
        try:
            return expressions.render(text, scope.values)
        except TemplateError as error:
            raise located(scope.file, where, error.detail) from None

    @staticmethod
    def _directive(key: str) -> tuple[str, str]:
        body = (expressions.whole_expression(key) or "").strip()
        word, _, rest = body.partition(" ")
        return word.lower(), rest.strip()

    def _truth(self, text: str, scope: _Scope, where: str) -> bool:
        return to_bool(self._render("${{ " + text + " }}", scope, where))

    def _loop(self, text: str, scope: _Scope, where: str) -> tuple[str, list[Any]]:
        name, keyword, collection_text = text.partition(" in ")
        if not keyword or not name.strip().isidentifier():
            raise located(scope.file, where, "expected 'each <name> in <collection>'")
        collection = self._render("${{ " + collection_text + " }}", scope, where)
        if isinstance(collection, Mapping):
            return name.strip(), [{"key": k, "value": v} for k, v in collection.items()]
        if collection is None or collection == "":
            return name.strip(), []
        if not isinstance(collection, list):
            raise located(scope.file, where, "'each' needs a list or mapping")
        return name.strip(), list(collection)

    def _branches(self, items: list[tuple[Any, Any]], scope: _Scope, where: str) -> list[Any]:
        """The entries the directives among ``items`` select; plain entries have a None key."""
        chosen: list[Any] = []
        open_chain: Optional[bool] = None  # None: no if-chain open; else whether a branch ran
        for key, value in items:
            if key is None:
                open_chain = None
                chosen.append((None, value, scope))
                continue
            word, rest = self._directive(key)
            if word in ("elseif", "else") and open_chain is None:
                raise located(scope.file, where, f"'{word}' without a preceding 'if'")
            if word == "if":
                open_chain = self._truth(rest, scope, where)
                if open_chain:
                    chosen.append((key, value, scope))
            elif word == "elseif":
                if not open_chain and self._truth(rest, scope, where):
                    open_chain = True
                    chosen.append((key, value, scope))
            elif word == "else":
                if not open_chain:
                    chosen.append((key, value, scope))
                open_chain = None
            elif word == "each":
                open_chain = None
                name, collection = self._loop(rest, scope, where)
                chosen.extend((key, value, scope.with_values(**{name: x})) for x in collection)
            else:  # insert
                open_chain = None
                chosen.append((key, value, scope))
        return chosen

    def _sequence(self, node: list[Any], scope: _Scope, where: str) -> list[Any]:
        items: list[tuple[Any, Any]] = []
        for item in node:
            directive = (
                isinstance(item, Mapping)
                and len(item) == 1
                and isinstance(next(iter(item)), str)
                and expressions.is_directive(next(iter(item)))
            )
            items.append(next(iter(item.items())) if directive else (None, item))
        result: list[Any] = []
        for key, value, item_scope in self._branches(items, scope, where):
            place = f"{where}[{len(result)}]"
            if key is not None:
                expanded = self._node(value, item_scope, place)
                if isinstance(expanded, list):
                    result.extend(expanded)
                elif expanded is not None:
                    result.append(expanded)
            elif (
                isinstance(value, Mapping)
                and "template" in value
                and set(value)
                <= {
                    "template",
                    "parameters",
                }
            ):
                result.extend(self._include(value, item_scope, place))
            elif isinstance(value, str) and expressions.whole_expression(value) is not None:
                expanded = self._node(value, item_scope, place)
                result.extend(expanded if isinstance(expanded, list) else [expanded])
            else:
                result.append(self._node(value, item_scope, place))
        return result

    def _mapping(self, node: Mapping[str, Any], scope: _Scope, where: str) -> dict[str, Any]:
        # Variables come first so that ${{ variables.x }} works anywhere in the same mapping.
        variables = None
        if "variables" in node:
            variables = self._node(node["variables"], scope, f"{where}.variables")
            known = {**scope.values.get("variables", {}), **_variable_values(variables)}
            scope = scope.with_values(variables=known)
        items = [
            (key if isinstance(key, str) and expressions.is_directive(key) else None, (key, value))
            for key, value in node.items()
        ]
        result: dict[str, Any] = {}
        for key, entry, item_scope in self._branches(items, scope, where):
            if key is None:
                name, value = entry
                if name == "variables" and variables is not None:
                    self._put(result, name, variables, scope, where)
                    continue
                rendered = self._render(name, item_scope, where) if isinstance(name, str) else name
                if not isinstance(rendered, str):
                    raise located(scope.file, where, f"a key must be text: {rendered!r}")
                expanded = self._node(value, item_scope, f"{where}.{rendered}")
                self._put(result, rendered, expanded, scope, where)
                continue
            expanded = self._node(entry[1], item_scope, where)
            if expanded is None or expanded == "":
                continue
            if not isinstance(expanded, Mapping):
                raise located(scope.file, where, f"{key} must hold a mapping here")
            for name, value in expanded.items():
                self._put(result, name, value, scope, where)
        return result

    @staticmethod
    def _put(result: dict[str, Any], key: str, value: Any, scope: _Scope, where: str) -> None:
        if key in result:
            raise located(scope.file, where, f"{key!r} is already defined")
        result[key] = value


def _variable_values(variables: Any) -> dict[str, Any]:
    if isinstance(variables, Mapping):
        return dict(variables)
    values: dict[str, Any] = {}
    for entry in variables if isinstance(variables, list) else []:
        if isinstance(entry, Mapping) and "name" in entry:
            values[str(entry["name"])] = entry.get("value", "")
    return values


def _declared_aliases(document: Mapping[str, Any]) -> set[str]:
    resources = document.get("resources")
    repositories = resources.get("repositories", []) if isinstance(resources, Mapping) else []
    return {
        str(entry["repository"])
        for entry in repositories or []
        if isinstance(entry, Mapping) and "repository" in entry
    }


def expand_pipeline(
    path: Path,
    repositories: Mapping[str, Path] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Any:
    """Expand the pipeline at ``path``; its repository is the folder above it holding ``.git``."""
    expander = Expander(_repository_root(path), repositories or {})
    return expander.expand_pipeline(path, parameters)


def expand_template(
    path: Path,
    parameters: Mapping[str, Any] | None = None,
    repositories: Mapping[str, Path] | None = None,
) -> Any:
    """Expand one template file with ``parameters``; returns its body (``stages``, ``jobs``...)."""
    return Expander(_repository_root(path), repositories or {}).expand_template(path, parameters)


def _repository_root(path: Path) -> Path:
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return path.resolve().parent
