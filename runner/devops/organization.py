"""The one talker to Azure DevOps: the calls init and validate need, through the azure-devops
client, with the service's own error text turned into a UserError that says what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, Optional

from runner.errors import UserError

from .auth import DevOpsCredentials

APPROVAL_CHECK_TYPE = "8C6F20A7-A545-4486-9777-F762FAFE0D4D"


class Identity(NamedTuple):
    id: str
    name: str  # as shown: a display name, or `[project]\group`


class Environment(NamedTuple):
    id: int
    name: str


class Endpoint(NamedTuple):
    id: str
    name: str
    type: str
    scheme: str


class Pipeline(NamedTuple):
    id: int
    name: str
    path: Optional[str]


class PreviewRefused(Exception):
    """The service looked at the YAML and refused it; `problems` are its lines, as it wrote them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Organization:
    def __init__(self, url: str, credentials: DevOpsCredentials) -> None:
        from azure.devops.connection import Connection

        self.url = url.rstrip("/")
        self._credentials = credentials
        self._clients = Connection(base_url=self.url, creds=credentials.msrest_credentials)
        self._v7_1 = self._clients.clients_v7_1

    # -- reads -----------------------------------------------------------------------------

    def project_id(self, project: str) -> str:
        with self._translated(f"project '{project}'"):
            return str(self._v7_1.get_core_client().get_project(project).id)

    def endpoint(self, project: str, name: str) -> Optional[Endpoint]:
        with self._translated(f"service connection '{name}'"):
            found = self._v7_1.get_service_endpoint_client().get_service_endpoints_by_names(
                project, [name]
            )
        for endpoint in found or []:
            if str(endpoint.name).lower() == name.lower():
                scheme = endpoint.authorization.scheme if endpoint.authorization else ""
                return Endpoint(str(endpoint.id), str(endpoint.name), str(endpoint.type), scheme)
        return None

    def identities(self, text: str) -> list[Identity]:
        with self._translated(f"approver '{text}'"):
            found = self._v7_1.get_identity_client().read_identities(
                search_filter="General", filter_value=text
            )
        return [
            Identity(str(i.id), str(i.provider_display_name or i.custom_display_name or i.id))
            for i in found or []
        ]

    def environments(self, project: str) -> list[Environment]:
        with self._translated("environments"):
            found = self._v7_1.get_task_agent_client().get_environments(project)
        return [Environment(int(e.id), str(e.name)) for e in found or []]

    def approvals(self, project: str, environment: Environment) -> list[set[str]]:
        """The approver ids of each Approval check on the environment."""
        with self._translated(f"checks on environment '{environment.name}'"):
            checks = self._v7_1.get_pipelines_checks_client().get_check_configurations_on_resource(
                project, "environment", str(environment.id), expand="settings"
            )
        found = []
        for check in checks or []:
            if str(check.type.id).upper() != APPROVAL_CHECK_TYPE:
                continue
            settings = (check.additional_properties or {}).get("settings") or {}
            found.append({str(a.get("id")).lower() for a in settings.get("approvers") or []})
        return found

    def repository_id(self, project: str, name: str) -> str:
        with self._translated(f"repository '{name}'"):
            return str(self._v7_1.get_git_client().get_repository(name, project).id)

    def pipelines(self, project: str) -> list[Pipeline]:
        with self._translated("pipelines"):
            found = self._v7_1.get_pipelines_client().list_pipelines(project)
        return [_pipeline(p) for p in found or []]

    def pipeline(self, project: str, pipeline_id: int) -> Pipeline:
        with self._translated(f"pipeline {pipeline_id}"):
            return _pipeline(self._v7_1.get_pipelines_client().get_pipeline(project, pipeline_id))

    def authorized_pipelines(self, project: str, resource_type: str, resource_id: str) -> set[int]:
        with self._translated(f"pipeline permissions of {resource_type} {resource_id}"):
            found = (
                self._v7_1.get_pipeline_permissions_client().get_pipeline_permissions_for_resource(
                    project, resource_type, resource_id
                )
            )
        return {int(p.id) for p in found.pipelines or [] if p.authorized}

    def task_group_names(self, project: str) -> list[str]:
        with self._translated("task groups"):
            found = self._v7_1.get_task_agent_client().get_task_groups(project)
        return [str(g.name) for g in found or []]

    def preview(self, project: str, pipeline_id: int, yaml_override: Optional[str]) -> str:
        """The expanded YAML; raises PreviewRefused with the service's own lines."""
        from azure.devops.exceptions import AzureDevOpsServiceError
        from azure.devops.v7_1.pipelines.models import RunPipelineParameters

        parameters = RunPipelineParameters(preview_run=True, yaml_override=yaml_override)
        client = self._v7_1.get_pipelines_client()
        with self._translated(f"the preview of pipeline {pipeline_id}"):
            try:
                return str(client.preview(parameters, project, pipeline_id).final_yaml or "")
            except AzureDevOpsServiceError as error:
                if error.type_key != "PipelineValidationException":
                    raise
                lines = [line for line in str(error.message).splitlines() if line.strip()]
                raise PreviewRefused(lines) from None

    # -- changes ---------------------------------------------------------------------------

    def add_environment(self, project: str, name: str) -> Environment:
        from azure.devops.v7_1.task_agent.models import EnvironmentCreateParameter

        description = "Created by swap-slots init"
        with self._translated(f"environment '{name}'"):
            created = self._v7_1.get_task_agent_client().add_environment(
                EnvironmentCreateParameter(name=name, description=description), project
            )
        return Environment(int(created.id), str(created.name))

    def add_approval(
        self, project: str, environment: Environment, approvers: list[Identity]
    ) -> None:
        from azure.devops.v7_1.pipelines_checks.models import (
            CheckConfiguration,
            CheckType,
            Resource,
        )

        class ApprovalCheck(CheckConfiguration):  # type: ignore[misc]
            # The client's model has no `settings`, which is where an approval keeps its approvers.
            _attribute_map = {
                **CheckConfiguration._attribute_map,
                "settings": {"key": "settings", "type": "object"},
            }

        check = ApprovalCheck(
            type=CheckType(id=APPROVAL_CHECK_TYPE, name="Approval"),
            resource=Resource(type="environment", id=str(environment.id), name=environment.name),
            timeout=43200,
        )
        check.settings = {
            "approvers": [{"id": a.id, "displayName": a.name} for a in approvers],
            "minRequiredApprovers": 0,  # every approver listed must approve
            "instructions": "Approve to swap the new version into production.",
            "executionOrder": "anyOrder",
            "requesterCannotBeApprover": False,
            "blockedApprovers": [],
        }
        with self._translated(f"the approval check on '{environment.name}'"):
            self._v7_1.get_pipelines_checks_client().add_check_configuration(check, project)

    def create_pipeline(self, project: str, name: str, repository_id: str, path: str) -> Pipeline:
        from azure.devops.v7_1.pipelines.models import (
            CreatePipelineConfigurationParameters,
            CreatePipelineParameters,
        )

        class YamlConfiguration(CreatePipelineConfigurationParameters):  # type: ignore[misc]
            # The client's model only knows `type`; a YAML pipeline also needs its file's place.
            _attribute_map = {
                **CreatePipelineConfigurationParameters._attribute_map,
                "path": {"key": "path", "type": "str"},
                "repository": {"key": "repository", "type": "object"},
            }

        configuration = YamlConfiguration(type="yaml")
        configuration.path = path
        configuration.repository = {"id": repository_id, "type": "azureReposGit"}
        parameters = CreatePipelineParameters(configuration=configuration, folder="\\", name=name)
        with self._translated(f"pipeline '{name}'"):
            return _pipeline(self._v7_1.get_pipelines_client().create_pipeline(parameters, project))

    def authorize(self, project: str, resource_type: str, resource_id: str, pipeline: int) -> None:
        from azure.devops.v7_1.pipeline_permissions.models import (
            PipelinePermission,
            ResourcePipelinePermissions,
        )

        permissions = ResourcePipelinePermissions(
            pipelines=[PipelinePermission(id=pipeline, authorized=True)]
        )
        with self._translated(f"pipeline permissions of {resource_type} {resource_id}"):
            self._v7_1.get_pipeline_permissions_client().update_pipeline_permisions_for_resource(
                permissions, project, resource_type, resource_id
            )

    def add_task_group(self, project: str, task_group: dict[str, Any]) -> None:
        with self._translated(f"task group '{task_group.get('name')}'"):
            self._v7_1.get_task_agent_client().add_task_group(task_group, project)

    # -- errors ----------------------------------------------------------------------------

    @contextmanager
    def _translated(self, subject: str) -> Iterator[None]:
        from azure.devops.exceptions import (
            AzureDevOpsAuthenticationError,
            AzureDevOpsServiceError,
        )
        from msrest.exceptions import AuthenticationError, ClientRequestError

        try:
            yield
        except AzureDevOpsServiceError as error:
            raise UserError(
                f"Azure DevOps ({self.url}) refused {subject}: {error.message}"
            ) from None
        except (AzureDevOpsAuthenticationError, AuthenticationError):
            raise UserError(
                f"Azure DevOps ({self.url}) did not accept {self._credentials.source} "
                f"(while reading {subject}): check that the token is current, belongs to this "
                "organization and has the scopes the README lists."
            ) from None
        except ClientRequestError as error:
            raise UserError(
                f"Could not ask Azure DevOps at {self.url} about {subject}: {error}. "
                "Check the --organization URL (https://dev.azure.com/ORGANIZATION)."
            ) from None


def _pipeline(found: Any) -> Pipeline:
    configuration = getattr(found, "configuration", None)
    extra = getattr(configuration, "additional_properties", None) or {}
    path = extra.get("path")
    return Pipeline(int(found.id), str(found.name), str(path) if path else None)
