"""The Pipelines preview: the pipeline's YAML (or the caller's override) expanded with its
templates by the project's own expander and checks, answered as the service answers it.

The repository's files are written to a scratch folder so templates can be referenced relative to
the pipeline; a GitHub repository resource named `<owner>/swap-slots` is this project's own
checkout (its templates are what the shipped pipelines use). Problems are worded as the service
words them: `/azure-pipelines.yml (Line: 12, Col: 7): message`, and for a template in a
repository resource `templates/stages/x.yml@alias (Line: ..., Col: ...): message`.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from . import catalog

_validator: Any = None
_validator_lock = threading.Lock()


def expand(
    files: Mapping[str, str], path: str, parameters: Mapping[str, Any]
) -> tuple[str, list[str]]:
    """(final YAML, []) for a valid pipeline, else ("", the service's error lines)."""
    from runner.pipeline_templates.errors import TemplateError
    from runner.pipeline_templates.yaml_text import dump_yaml, load_yaml
    from runner.shipped import shipped_root

    project_root = shipped_root()
    if project_root is None:
        return "", [f"{path}: the emulator cannot find this project's templates and task.json."]

    with tempfile.TemporaryDirectory(prefix="devops-preview-") as scratch:
        root = Path(scratch).resolve()
        for name, text in files.items():
            target = root / name.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        try:
            document = load_yaml(files[path], path)
        except TemplateError as error:
            return "", [_service_line(path, error.line, error.column, error.detail)]
        aliases: dict[str, tuple[Path, str]] = {}
        problems: list[str] = []
        for alias, resource in _repository_resources(document):
            found = _checkout_of(resource, root, project_root)
            if isinstance(found, str):
                problems.append(f"{path}: {found}")
            else:
                aliases[alias] = (found, alias)
        if problems:
            return "", problems
        outcome = _shared_validator(project_root).check(
            root / path.lstrip("/"), root, {a: r for a, (r, _) in aliases.items()}, parameters
        )
        if outcome.problems:
            return "", [
                _service_line(
                    _shown(problem.file, root, aliases, path),
                    problem.line,
                    problem.column,
                    problem.message.replace(str(root), ""),
                )
                for problem in outcome.problems
            ]
        return dump_yaml(outcome.pipeline), []


def _shared_validator(project_root: Path) -> Any:
    global _validator
    from runner.pipeline_templates.validation import PipelineValidator

    with _validator_lock:
        if _validator is None:
            _validator = PipelineValidator(project_root / "task.json")
        return _validator


def _repository_resources(document: Any) -> list[tuple[str, Mapping[str, Any]]]:
    resources = document.get("resources") if isinstance(document, Mapping) else None
    entries = resources.get("repositories") if isinstance(resources, Mapping) else None
    return [
        (str(entry["repository"]), entry)
        for entry in entries or []
        if isinstance(entry, Mapping) and "repository" in entry
    ]


def _checkout_of(resource: Mapping[str, Any], root: Path, project_root: Path) -> Path | str:
    kind = str(resource.get("type") or "").lower()
    name = str(resource.get("name") or "")
    if kind == "github":
        endpoint = str(resource.get("endpoint") or "")
        if not any(c.name == endpoint and c.type == "github" for c in catalog.CONNECTIONS):
            return (
                f"The repository {resource.get('repository')} references service connection "
                f"'{endpoint}' which could not be found. The service connection does not exist, "
                "has been disabled or has not been authorized for use."
            )
        if name.lower().endswith("/swap-slots"):
            return project_root
    if kind == "git" and name.lower() in (
        catalog.REPOSITORY_NAME,
        f"{catalog.project_reference()['name']}/{catalog.REPOSITORY_NAME}",
    ):
        return root
    return (
        f"Could not get the latest source version for repository {name} hosted on "
        f"{kind or 'an unknown host'} using ref {resource.get('ref') or 'refs/heads/main'}."
    )


def _shown(
    file: Optional[Path], root: Path, aliases: Mapping[str, tuple[Path, str]], path: str
) -> str:
    if file is None:
        return path
    resolved = file.resolve()
    if resolved.is_relative_to(root):
        return "/" + resolved.relative_to(root).as_posix()
    for checkout, alias in aliases.values():
        if resolved.is_relative_to(checkout):
            return f"{resolved.relative_to(checkout).as_posix()}@{alias}"
    return path


def _service_line(file: str, line: Optional[int], column: Optional[int], message: str) -> str:
    if line is None:
        return f"{file}: {message}"
    return f"{file} (Line: {line}, Col: {column or 1}): {message}"
