"""One pipeline checked as the service checks it before a run: expanded with its templates,
validated against the schema, then the run-time checks; each problem located by file and line.

Used by `swap-slots validate` without an organization and by the emulator's Pipelines preview.
Needs the schema packages (jsonschema, check-jsonschema: dependencies of `pip install .`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, Optional

from runner.shipped import shipped_root

from .errors import TemplateError
from .expander import Expander
from .source_lines import locate

_SCHEMA_PLACE = re.compile(r"^\$(\S*): (.*)$", re.DOTALL)


class Problem(NamedTuple):
    file: Optional[Path]
    line: Optional[int]
    column: Optional[int]
    message: str


class Outcome(NamedTuple):
    pipeline: Any  # the expanded pipeline, or None when it could not be expanded
    problems: list[Problem]


def shipped_templates_root() -> Optional[Path]:
    """This project's templates/ and task.json: its checkout's, or the installed copy's."""
    return shipped_root()


class PipelineValidator:
    """The schema and task knowledge, built once (from this project's task.json)."""

    def __init__(self, task_manifest: Path) -> None:
        from . import schema  # needs jsonschema and check-jsonschema

        self._schema = schema
        manifest = schema.read_task_manifest(task_manifest)
        full = schema.pipeline_schema([manifest])
        self._strict = schema.SchemaValidator(full)
        self._catalog = schema.task_catalog(full)
        self._outputs = schema.task_outputs([manifest])

    def check(
        self,
        path: Path,
        self_root: Path,
        repositories: Mapping[str, Path],
        parameters: Optional[Mapping[str, Any]] = None,
    ) -> Outcome:
        from . import checks

        expander = Expander(self_root, repositories)
        try:
            pipeline = expander.expand_pipeline(path, parameters)
        except TemplateError as error:
            return Outcome(None, [problem_of(error, path)])
        # Without templates the expanded pipeline has the file's shape: its places have lines.
        same_shape = not expander.files_read
        found = [
            _schema_problem(path, message, same_shape)
            for message in self._strict.problems(self._schema.as_text(pipeline))
        ]
        if not found:
            found = [
                Problem(path, None, None, message)
                for message in checks.pipeline_problems(pipeline, self._catalog, self._outputs)
            ]
        return Outcome(pipeline, found)


def _schema_problem(path: Path, message: str, same_shape: bool) -> Problem:
    match = _SCHEMA_PLACE.match(message)
    if not same_shape or match is None:
        return Problem(path, None, None, message)
    place = locate(path, match.group(1))
    if place is None:
        return Problem(path, None, None, message)
    return Problem(path, place[0], place[1], match.group(2))


def problem_of(error: TemplateError, default_file: Path) -> Problem:
    file = error.file or default_file
    if error.line is not None:
        return Problem(file, error.line, error.column, error.detail)
    place = locate(file, error.where) if error.where is not None else None
    if place is None:
        return Problem(file, None, None, error.detail if error.file else str(error))
    return Problem(file, place[0], place[1], error.detail)


def count_stages_and_jobs(pipeline: Any) -> tuple[int, int]:
    """Stages and jobs of an expanded pipeline (a pipeline of jobs or steps is one stage)."""
    if not isinstance(pipeline, Mapping):
        return 0, 0
    if isinstance(pipeline.get("stages"), list):
        stages = [s for s in pipeline["stages"] if isinstance(s, Mapping)]
        jobs = sum(len(s.get("jobs") or []) for s in stages)
        return len(stages), jobs
    if isinstance(pipeline.get("jobs"), list):
        return 1, len(pipeline["jobs"])
    return 1, 1
