"""Moves a shipped package's import of a module that only some of its functions use into
those functions, so that importing the package does not load that module.

Every swap imports azure-identity, whose package imports every credential, so the certificate
credential's `cryptography` (about 35 ms to import, plus its compiling on a cold agent) loads for
a client secret too. The build applies `DEFERRED` to the packages it ships: for each listed file,
the top-level imports of the listed modules move into the functions that use their names, and
the build fails if a name is used when the module itself runs (at import time), where moving
the import would change what the code does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import NamedTuple, Union

# A file inside a package set -> the modules whose top-level imports move into its functions.
DEFERRED: dict[str, tuple[str, ...]] = {
    # Only the certificate credential uses cryptography.
    "azure/identity/_credentials/certificate.py": ("cryptography",),
    "azure/identity/_internal/aadclient_certificate.py": ("cryptography",),
    # Only enabling HTTP/2 (which nothing here does) reads the installed h2's version.
    "urllib3/http2/__init__.py": ("importlib.metadata",),
    # Only the async policy's wait uses asyncio; the task is synchronous.
    "azure/mgmt/core/policies/_base_async.py": ("asyncio",),
}

Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]


class DeferError(ValueError):
    """A listed import cannot move without changing what the module does."""


class _Moved(NamedTuple):
    statement: Union[ast.Import, ast.ImportFrom]
    names: frozenset[str]  # the names it binds in the module
    text: str  # the statement as written, on one line


def _imported_module(node: Union[ast.Import, ast.ImportFrom]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return ["." * node.level + (node.module or "")]


def _matches(module: str, listed: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in listed)


def _bound_names(node: Union[ast.Import, ast.ImportFrom]) -> frozenset[str]:
    names = set()
    for alias in node.names:
        if alias.name == "*":
            raise DeferError(f"line {node.lineno}: a star import cannot move")
        if alias.asname:
            names.add(alias.asname)
        elif isinstance(node, ast.Import):
            names.add(alias.name.split(".")[0])
        else:
            names.add(alias.name)
    return frozenset(names)


def _one_line(node: Union[ast.Import, ast.ImportFrom]) -> str:
    aliases = ", ".join(
        alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in node.names
    )
    if isinstance(node, ast.Import):
        return f"import {aliases}"
    return f"from {'.' * node.level}{node.module or ''} import {aliases}"


class _Uses(ast.NodeVisitor):
    """Where each name is read: in the body of which outermost function, or at import time."""

    def __init__(self, names: frozenset[str], future_annotations: bool) -> None:
        self.names = names
        self.future_annotations = future_annotations
        self.function: Function | None = None
        self.in_function: dict[int, tuple[Function, set[str]]] = {}
        self.at_import: list[tuple[str, int]] = []

    def visit_Name(self, node: ast.Name) -> None:
        if node.id not in self.names:
            return
        if not isinstance(node.ctx, ast.Load):
            raise DeferError(f"line {node.lineno}: {node.id!r} is assigned, not only read")
        if self.function is None:
            self.at_import.append((node.id, node.lineno))
        else:
            self.in_function.setdefault(id(self.function), (self.function, set()))[1].add(node.id)

    def visit_Global(self, node: ast.Global) -> None:
        for name in set(node.names) & self.names:
            raise DeferError(f"line {node.lineno}: {name!r} is declared global")

    def _visit_function(self, node: Function) -> None:
        # Decorators, defaults and (unless postponed) annotations run where the def runs.
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns is not None and not self.future_annotations:
            self.visit(node.returns)
        outer = self.function
        self.function = outer or node
        for statement in node.body:
            self.visit(statement)
        self.function = outer

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_arguments(self, node: ast.arguments) -> None:
        for default in [*node.defaults, *(d for d in node.kw_defaults if d is not None)]:
            self.visit(default)
        if not self.future_annotations:
            for arg in [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]:
                if arg is not None and arg.annotation is not None:
                    self.visit(arg.annotation)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if not self.future_annotations or self.function is not None:
            self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)


def _moved_statements(tree: ast.Module, modules: tuple[str, ...]) -> Iterator[_Moved]:
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            matched = [_matches(m, modules) for m in _imported_module(node)]
            if any(matched) and not all(matched):
                raise DeferError(f"line {node.lineno}: one import names listed and other modules")
            if all(matched):
                yield _Moved(node, _bound_names(node), _one_line(node))


def _first_body_line(function: Function, lines: list[str]) -> tuple[int, str]:
    """The line (0-based) before which the imports go, and the body's indentation."""
    body = function.body
    docstring = len(body) > 1 and ast.get_docstring(function, clean=False) is not None
    first = body[1 if docstring else 0]
    if first.lineno == function.lineno or (docstring and first.lineno == body[0].end_lineno):
        raise DeferError(f"line {function.lineno}: {function.name}'s body shares a line")
    line = lines[first.lineno - 1]
    indent = line[: len(line) - len(line.lstrip())]
    if line[len(indent) :] and first.col_offset != len(indent):
        raise DeferError(f"line {first.lineno}: a statement that does not start its line")
    return first.lineno - 1, indent


def defer_imports(source: str, modules: tuple[str, ...], filename: str = "<module>") -> str:
    """`source` with its top-level imports of `modules` moved into the functions that use them."""
    try:
        return _defer(source, modules)
    except DeferError as error:
        raise DeferError(f"{filename}: {error}") from None


def _defer(source: str, modules: tuple[str, ...]) -> str:
    tree = ast.parse(source)
    moved = list(_moved_statements(tree, modules))
    if not moved:
        raise DeferError(f"no top-level import of {', '.join(modules)} to move")
    names = frozenset().union(*(m.names for m in moved))
    future_annotations = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )
    uses = _Uses(names, future_annotations)
    statements = [m.statement for m in moved]
    for node in tree.body:
        if node not in statements:
            uses.visit(node)
    if uses.at_import:
        name, line = uses.at_import[0]
        raise DeferError(f"line {line}: {name!r} is used when the module runs")

    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, list[str]]] = []  # (start, end) line span -> replacement
    for m in moved:
        node = m.statement
        span = "".join(lines[node.lineno - 1 : node.end_lineno]).strip()
        if node.col_offset != 0 or ast.get_source_segment(source, node) != span:
            raise DeferError(f"line {node.lineno}: the import shares its line")
        edits.append((node.lineno - 1, node.end_lineno or node.lineno, []))
    for function, used in uses.in_function.values():
        line, indent = _first_body_line(function, lines)
        inserted = [f"{indent}{m.text}\n" for m in moved if m.names & used]
        edits.append((line, line, inserted))
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        lines[start:end] = replacement
    result = "".join(lines)
    compile(result, "<deferred>", "exec", dont_inherit=True)
    return result
