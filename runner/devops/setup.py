"""`swap-slots init`: everything is checked before anything changes; then each step creates what
is missing and leaves what exists, so a second run changes nothing and says so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional

from runner.errors import UserError

from .organization import Endpoint, Environment, Identity, Organization
from .pipeline_yaml import TEMPLATES_CONNECTION, PipelineValues, pipeline_yaml
from .steps import CREATED, EXISTED, WRITTEN, Step

SUPPORTED_SCHEMES = ("ServicePrincipal", "WorkloadIdentityFederation", "ManagedServiceIdentity")
ENVIRONMENTS = ("staging", "production")


@dataclass(frozen=True)
class InitRequest:
    organization: str
    project: str
    service_connection: str
    app: str
    resource_group: Optional[str]
    slot: str
    approvers: tuple[str, ...]
    repository: Optional[str]
    yaml_path: Path
    pipeline_name: Optional[str]
    dry_run: bool
    classic: bool


class Checked(NamedTuple):
    endpoint: Endpoint
    approvers: list[Identity]
    repository_id: Optional[str]


def check(request: InitRequest, organization: Organization) -> Checked:
    """Everything init relies on, read and judged before any change."""
    if not request.classic and not request.resource_group:
        raise UserError(
            f"--resource-group is needed: the pipeline deploys {request.app} to its "
            f"'{request.slot}' slot with AzureWebApp@1, which needs the app's resource group."
        )
    organization.project_id(request.project)
    endpoint = organization.endpoint(request.project, request.service_connection)
    where = f"project '{request.project}' of {organization.url}"
    if endpoint is None:
        raise UserError(
            f"There is no service connection named '{request.service_connection}' in {where}: "
            "create an Azure Resource Manager connection (Project settings -> Service "
            "connections) or pass the name of an existing one with --service-connection."
        )
    if endpoint.type.lower() != "azurerm":
        raise UserError(
            f"The service connection '{endpoint.name}' in {where} is of type '{endpoint.type}'; "
            "SwapSlots@1 needs an Azure Resource Manager (AzureRM) connection: pass one with "
            "--service-connection."
        )
    if endpoint.scheme.lower() not in (s.lower() for s in SUPPORTED_SCHEMES):
        raise UserError(
            f"The service connection '{endpoint.name}' in {where} uses the authentication "
            f"scheme '{endpoint.scheme}', which SwapSlots@1 cannot sign in with: use a "
            f"connection with {', '.join(SUPPORTED_SCHEMES)}."
        )
    approvers = [_one_identity(organization, text) for text in request.approvers]
    repository_id = None
    if request.repository and not request.classic:
        repository_id = organization.repository_id(request.project, request.repository)
    return Checked(endpoint, approvers, repository_id)


def _one_identity(organization: Organization, text: str) -> Identity:
    found = organization.identities(text)
    if not found:
        raise UserError(
            f"The approver '{text}' is not a user or group of {organization.url}: give a "
            "user's sign-in e-mail address, or a group as [PROJECT]\\Group Name."
        )
    if len({i.id for i in found}) > 1:
        names = ", ".join(sorted(i.name for i in found))
        raise UserError(f"The approver '{text}' names several identities ({names}): be precise.")
    return found[0]


class Setup:
    """The steps, in order; each records what it did (or would do, in a dry run)."""

    def __init__(self, request: InitRequest, organization: Organization, checked: Checked) -> None:
        self.request = request
        self.organization = organization
        self.checked = checked
        self.steps: list[Step] = []
        self._environments: dict[str, Optional[Environment]] = {}
        self._pipeline_id: Optional[int] = None

    def _record(self, what: str, created: bool) -> None:
        planned = "would be created" if self.request.dry_run else CREATED
        self.steps.append(Step(what, planned if created else EXISTED))

    def environments(self) -> None:
        project = self.request.project
        existing = {e.name.lower(): e for e in self.organization.environments(project)}
        for name in ENVIRONMENTS:
            environment = existing.get(name)
            if environment is None and not self.request.dry_run:
                environment = self.organization.add_environment(project, name)
                self._record(f"environment '{name}'", True)
            else:
                self._record(f"environment '{name}'", environment is None)
            self._environments[name] = environment

    def approval(self) -> None:
        approvers = self.checked.approvers
        production = self._environments.get("production")
        if not approvers:
            has_one = production is not None and bool(
                self.organization.approvals(self.request.project, production)
            )
            if not has_one:
                self.steps.append(
                    Step("approval on 'production'", "none: pass --approver to add one")
                )
            return
        names = ", ".join(a.name for a in approvers)
        what = f"approval on 'production' by {names}"
        wanted = {a.id.lower() for a in approvers}
        if production is None:
            self._record(what, True)
            return
        if wanted in self.organization.approvals(self.request.project, production):
            self._record(what, False)
            return
        if not self.request.dry_run:
            self.organization.add_approval(self.request.project, production, approvers)
        self._record(what, True)

    def pipeline_file(self) -> None:
        request = self.request
        assert request.resource_group is not None
        text = pipeline_yaml(
            PipelineValues(request.app, request.resource_group, request.slot,
                           self.checked.endpoint.name)
        )  # fmt: skip
        path = request.yaml_path
        what = f"pipeline file {path}"
        if path.exists():
            same = path.read_text(encoding="utf-8") == text
            self.steps.append(
                Step(what, EXISTED if same else "kept: it differs from what init writes")
            )
            return
        if not request.dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        self.steps.append(Step(what, "would be written" if request.dry_run else WRITTEN))

    def pipeline(self) -> None:
        request = self.request
        assert request.repository and self.checked.repository_id
        name = self.pipeline_name
        pipelines = self.organization.pipelines(request.project)
        existing = [p for p in pipelines if p.name.lower() == name.lower()]
        path_in_repository = _path_in_repository(request.yaml_path)
        what = f"pipeline '{name}' ({request.repository}: {path_in_repository})"
        if existing:
            self._pipeline_id = existing[0].id
            elsewhere = existing[0].path and existing[0].path != path_in_repository
            result = f"{EXISTED}, with its YAML at {existing[0].path}" if elsewhere else EXISTED
            self.steps.append(Step(what, result))
            return
        if not request.dry_run:
            created = self.organization.create_pipeline(
                request.project, name, self.checked.repository_id, path_in_repository
            )
            self._pipeline_id = created.id
        self._record(what, True)

    def permissions(self) -> None:
        endpoint = self.checked.endpoint
        resources = [("environment", name, self._environments.get(name)) for name in ENVIRONMENTS]
        for kind, name, environment in resources:
            resource_id = str(environment.id) if environment is not None else None
            self._authorize(kind, f"environment '{name}'", resource_id)
        self._authorize("endpoint", f"service connection '{endpoint.name}'", endpoint.id)
        github = self.organization.endpoint(self.request.project, TEMPLATES_CONNECTION)
        shown = f"GitHub connection '{TEMPLATES_CONNECTION}' (the templates' repository)"
        if github is None or github.type.lower() != "github":
            self.steps.append(
                Step(shown, "missing: create a GitHub service connection of that name")
            )
            return
        self._authorize("endpoint", shown, github.id)

    def _authorize(self, kind: str, shown: str, resource_id: Optional[str]) -> None:
        what = f"pipeline may use {shown}"
        project, pipeline = self.request.project, self._pipeline_id
        if pipeline is None or resource_id is None:
            self._record(what, True)  # only in a dry run: the pipeline or resource is not there
            return
        if pipeline in self.organization.authorized_pipelines(project, kind, resource_id):
            self._record(what, False)
            return
        if not self.request.dry_run:
            self.organization.authorize(project, kind, resource_id, pipeline)
        self._record(what, True)

    @property
    def pipeline_name(self) -> str:
        return self.request.pipeline_name or f"{self.request.app}-deploy-test-swap"


def run_init(
    request: InitRequest,
    environ: Mapping[str, str],
    say: Callable[[str], None],
    warn: Callable[[str], None],
) -> int:
    """The init command: 0 when set up (or planned), 1 when a check or a step failed."""
    from .auth import find_credentials

    try:
        if request.classic and (request.approvers or request.repository):
            raise UserError(
                "--classic imports a task group for a classic release pipeline, whose approvals "
                "are set on its Swap stage: drop --approver and --repository (see "
                "docs/classic-release/README.md)."
            )
        organization = Organization(request.organization, find_credentials(environ))
        return run_setup(request, organization, say)
    except UserError as error:
        warn(f"swap-slots init: {error}")
        return 1


def run_setup(request: InitRequest, organization: Organization, say: Callable[[str], None]) -> int:
    from .classic import import_task_group

    checked = check(request, organization)
    setup = Setup(request, organization, checked)
    try:
        if request.classic:
            setup.steps.append(import_task_group(request.project, organization, request.dry_run))
        else:
            setup.environments()
            setup.approval()
            setup.pipeline_file()
            if request.repository:
                setup.pipeline()
                setup.permissions()
    except UserError:
        if setup.steps:
            say(_table(request, setup.steps) + "\n\nThe next step failed; run init again once "
                "it is fixed: what is listed above is kept.")  # fmt: skip
        raise
    say(_table(request, setup.steps))
    say(_next(request, setup))
    return 0


def _table(request: InitRequest, steps: list[Step]) -> str:
    heading = f"Swap Slots set-up of project '{request.project}' in {request.organization}"
    if request.dry_run:
        heading += " (dry run: nothing was changed)"
    width = max(len(step.what) for step in steps) + 2
    lines = [heading, ""] + [f"  {step.what.ljust(width)}{step.result}" for step in steps]
    if not request.dry_run and not any(s.result in (CREATED, WRITTEN) for s in steps):
        lines += ["", "Nothing changed: everything was already set up."]
    return "\n".join(lines)


def _next(request: InitRequest, setup: Setup) -> str:
    if request.dry_run:
        return "\nNext: run the same command without --dry-run."
    if request.classic:
        return (
            "\nNext: build the release pipeline with the task group, as "
            "docs/classic-release/README.md describes (approvals go on its Swap stage)."
        )
    path = request.yaml_path.as_posix()
    local = f"swap-slots validate --yaml-path {path}"
    if not request.repository:
        return (
            f"\nNext: {local}\n      then commit {path}, and run init again with "
            "--repository NAME to create the pipeline."
        )
    return (
        f"\nNext: commit and push {path} to {request.repository}, then\n"
        f"      swap-slots validate --organization {request.organization} "
        f"--project {_quoted(request.project)} --pipeline {_quoted(setup.pipeline_name)} "
        f"--yaml-path {path}"
    )


def _path_in_repository(yaml_path: Path) -> str:
    """The file's path from the root of the checkout holding it (else from here)."""
    resolved = yaml_path.resolve()
    for folder in resolved.parents:
        if (folder / ".git").exists():
            return "/" + resolved.relative_to(folder).as_posix()
    try:
        return "/" + resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return "/" + resolved.name


def _quoted(text: str) -> str:
    return text if text.replace("-", "").replace("_", "").isalnum() else f'"{text}"'
