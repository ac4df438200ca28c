"""`swap-slots validate`: ask Azure DevOps to expand the pipeline (the Pipelines preview, with the
local file as an override), or, without an organization, expand and check it here with the
project's own expander. Exit codes: 0 valid, 1 invalid, 2 could not ask."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from runner.errors import UserError

VALID, INVALID, COULD_NOT_ASK = 0, 1, 2
DEFAULT_YAML = Path("azure-pipelines.yml")


@dataclass(frozen=True)
class ValidateRequest:
    organization: Optional[str]
    project: Optional[str]
    pipeline: Optional[str]
    yaml_path: Optional[Path]


def run_validate(
    request: ValidateRequest,
    environ: Mapping[str, str],
    say: Callable[[str], None],
    warn: Callable[[str], None],
) -> int:
    try:
        if request.organization:
            return _ask_the_service(request, environ, say)
        return _check_here(request.yaml_path or DEFAULT_YAML, say)
    except UserError as error:
        warn(f"swap-slots validate: could not validate: {error}")
        return COULD_NOT_ASK


def _ask_the_service(
    request: ValidateRequest, environ: Mapping[str, str], say: Callable[[str], None]
) -> int:
    from .auth import find_credentials
    from .organization import Organization, PreviewRefused

    if not request.organization or not request.project or not request.pipeline:
        raise UserError("--organization needs --project and --pipeline (its name or id).")
    override = None
    if request.yaml_path is not None:
        try:
            override = request.yaml_path.read_text(encoding="utf-8")
        except OSError as error:
            raise UserError(f"Cannot read {request.yaml_path}: {error.strerror}.") from None
    organization = Organization(request.organization, find_credentials(environ))
    pipeline_id = _pipeline_id(organization, request.project, request.pipeline)
    try:
        final_yaml = organization.preview(request.project, pipeline_id, override)
    except PreviewRefused as refused:
        say(
            f"Azure DevOps found {len(refused.problems)} problem(s) in pipeline {request.pipeline}:"
        )
        for line in refused.problems:
            say(f"  {line}")
        return INVALID
    from runner.pipeline_templates.validation import count_stages_and_jobs
    from runner.pipeline_templates.yaml_text import load_yaml

    stages, jobs = count_stages_and_jobs(load_yaml(final_yaml, "the expanded pipeline"))
    source = f" with {request.yaml_path}" if request.yaml_path else ""
    say(f"Valid: Azure DevOps expanded pipeline {request.pipeline}{source} into "
        f"{stages} stage(s) and {jobs} job(s).")  # fmt: skip
    return VALID


def _pipeline_id(organization: Any, project: str, pipeline: str) -> int:
    if pipeline.isdigit():
        return int(pipeline)
    pipelines = organization.pipelines(project)
    for found in pipelines:
        if found.name.lower() == pipeline.lower():
            return int(found.id)
    known = ", ".join(sorted(p.name for p in pipelines)) or "none"
    raise UserError(
        f"There is no pipeline named '{pipeline}' in project '{project}' of {organization.url} "
        f"(pipelines: {known}): pass its name or id with --pipeline, or create it with "
        "swap-slots init --repository."
    )


def _check_here(path: Path, say: Callable[[str], None]) -> int:
    from runner.pipeline_templates.errors import TemplateError
    from runner.pipeline_templates.validation import (
        PipelineValidator,
        count_stages_and_jobs,
        shipped_templates_root,
    )
    from runner.pipeline_templates.yaml_text import load_yaml_file

    root = shipped_templates_root()
    if root is None:
        raise UserError(
            "Validating without --organization needs this project's templates beside the "
            "program: install swap-slots from a checkout of its repository."
        )
    try:
        document = load_yaml_file(path)
    except TemplateError as error:
        if error.line is None:
            raise  # not readable: nothing was validated
        document = None  # not YAML: the check below reports it at its line
    repositories = _local_repositories(document, root)
    try:
        validator = PipelineValidator(root / "task.json")
    except ImportError:
        raise UserError(
            "Validating without --organization needs the schema packages (jsonschema, "
            "check-jsonschema), which swap-slots installs: pip install . again."
        ) from None
    outcome = validator.check(path, _repository_root(path), repositories)
    if outcome.problems:
        say(f"{path}: {len(outcome.problems)} problem(s):")
        for problem in outcome.problems:
            shown = _shown(problem.file or path)
            place = f" (Line: {problem.line}, Col: {problem.column or 1})" if problem.line else ""
            say(f"  {shown}{place}: {problem.message}")
        return INVALID
    stages, jobs = count_stages_and_jobs(outcome.pipeline)
    say(f"Valid: {path} expands into {stages} stage(s) and {jobs} job(s) "
        "(checked here, with this project's expander and the Azure Pipelines schema).")  # fmt: skip
    return VALID


def _local_repositories(document: Any, templates_root: Path) -> dict[str, Path]:
    """Repository resources holding this project's templates are the local checkout."""
    resources = document.get("resources") if isinstance(document, Mapping) else None
    entries = resources.get("repositories") if isinstance(resources, Mapping) else None
    found: dict[str, Path] = {}
    for entry in entries or []:
        if not isinstance(entry, Mapping) or "repository" not in entry:
            continue
        alias, name = str(entry["repository"]), str(entry.get("name") or "")
        if name.lower().endswith("swap-slots"):
            found[alias] = templates_root
        else:
            raise UserError(
                f"The repository resource '{alias}' ({name}) is not this project's: offline, "
                "only the swap-slots templates can be expanded. Pass --organization, --project "
                "and --pipeline to let Azure DevOps expand it."
            )
    return found


def _repository_root(path: Path) -> Path:
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return path.resolve().parent


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
