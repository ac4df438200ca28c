"""YAML pipelines (create, get, list), their preview, and classic task groups."""

from __future__ import annotations

from typing import Any, Callable

from runner.emulator.settings import PROJECT_ID
from runner.emulator.wire import Handler, HttpError, Params, Request, Response

from . import catalog, preview
from .access import wrapped_exception
from .state import DevOpsState

AddRoute = Callable[[str, str, Handler], None]
_PIPELINES = "Microsoft.Azure.Pipelines.WebApi"


class PipelineRoutes:
    def __init__(self, state: DevOpsState, organization_url: str) -> None:
        self._state = state
        self._url = organization_url

    def add_routes(self, add: AddRoute, project_route: str) -> None:
        add("GET", project_route + "/pipelines", self._list)
        add("POST", project_route + "/pipelines", self._create)
        add("GET", project_route + "/pipelines/{pipelineId}", self._get)
        add("POST", project_route + "/pipelines/{pipelineId}/preview", self._preview)
        task_groups = project_route + "/distributedtask/taskgroups"
        add("GET", task_groups, self._list_task_groups)
        add("GET", task_groups + "/{taskGroupId}", self._list_task_groups)
        add("POST", task_groups, self._add_task_group)

    # -- pipelines -----------------------------------------------------------------------------

    def _list(self, request: Request, params: Params) -> Response:
        with self._state.lock:
            found = list(self._state.pipelines)
        return Response.json(200, {"count": len(found), "value": found})

    def _get(self, request: Request, params: Params) -> Response:
        return Response.json(200, self._pipeline(params["pipelineId"]))

    def _create(self, request: Request, params: Params) -> Response:
        body = request.json()
        body = body if isinstance(body, dict) else {}
        name = str(body.get("name") or "").strip()
        configuration = body.get("configuration")
        configuration = configuration if isinstance(configuration, dict) else {}
        repository = configuration.get("repository")
        repository = repository if isinstance(repository, dict) else {}
        path = str(configuration.get("path") or "")
        if not name:
            raise _invalid("The pipeline needs a name.")
        if str(configuration.get("type") or "").lower() != "yaml" or not path:
            raise _invalid(
                "Only YAML pipelines are supported: configuration.type 'yaml' and a path."
            )
        if str(repository.get("type") or "").lower() not in ("azurereposgit", "git"):
            raise _invalid(f"Repository type '{repository.get('type')}' is not supported here.")
        if str(repository.get("id") or "").lower() != catalog.REPOSITORY_ID:
            raise wrapped_exception(
                404,
                "GitRepositoryNotFoundException",
                f"TF401019: The Git repository with name or identifier {repository.get('id')} "
                "does not exist or you do not have permissions for the operation you are "
                "attempting.",
                "Microsoft.TeamFoundation.Git.Server",
            )
        folder = str(body.get("folder") or "\\")
        with self._state.lock:
            if any(
                p["name"].lower() == name.lower() and p["folder"] == folder
                for p in self._state.pipelines
            ):
                raise wrapped_exception(
                    409,
                    "DefinitionExistsException",
                    f"The pipeline name '{name}' already exists in folder '{folder}'.",
                    "Microsoft.TeamFoundation.Build.WebApi",
                )
            pipeline_id = self._state.new_id("pipeline")
            base = f"{self._url}{PROJECT_ID}"
            link = f"{base}/_apis/pipelines/{pipeline_id}?revision=1"
            web = f"{base}/_build/definition?definitionId={pipeline_id}"
            pipeline = {
                "id": pipeline_id,
                "name": name,
                "folder": folder,
                "revision": 1,
                "url": link,
                "_links": {
                    "self": {"href": link},
                    "web": {"href": web},
                },
                "configuration": {
                    "type": "yaml",
                    "path": "/" + path.lstrip("/"),
                    "repository": {"id": catalog.REPOSITORY_ID, "type": "azureReposGit"},
                },
            }
            self._state.pipelines.append(pipeline)
        return Response.json(200, pipeline)

    def _preview(self, request: Request, params: Params) -> Response:
        pipeline = self._pipeline(params["pipelineId"])
        body = request.json()
        body = body if isinstance(body, dict) else {}
        path = pipeline["configuration"]["path"]
        override = body.get("yamlOverride")
        with self._state.lock:
            files = dict(self._state.files)
        if isinstance(override, str) and override.strip():
            files[path] = override
        if path not in files:
            raise _validation(
                f"{path}: File {path} not found in repository {catalog.REPOSITORY_NAME} "
                "branch refs/heads/main."
            )
        parameters = body.get("templateParameters")
        final_yaml, problems = preview.expand(
            files, path, parameters if isinstance(parameters, dict) else {}
        )
        if problems:
            raise _validation("\n".join(problems))
        return Response.json(
            200,
            {
                "id": -1,
                "name": pipeline["name"],
                "state": "unknown",
                "finalYaml": final_yaml,
                "pipeline": {"id": pipeline["id"], "name": pipeline["name"]},
            },
        )

    def _pipeline(self, pipeline_id: str) -> dict[str, Any]:
        with self._state.lock:
            pipeline = self._state.pipeline(pipeline_id)
        if pipeline is None:
            raise wrapped_exception(
                404,
                "PipelineNotFoundException",
                f"Pipeline with id {pipeline_id} not found.",
                _PIPELINES,
            )
        return pipeline

    # -- task groups ---------------------------------------------------------------------------

    def _list_task_groups(self, request: Request, params: Params) -> Response:
        wanted = params.get("taskGroupId")
        with self._state.lock:
            found = [g for g in self._state.task_groups if not wanted or g["id"] == wanted.lower()]
        return Response.json(200, {"count": len(found), "value": found})

    def _add_task_group(self, request: Request, params: Params) -> Response:
        body = request.json()
        body = body if isinstance(body, dict) else {}
        name = str(body.get("name") or "").strip()
        if not name or not isinstance(body.get("tasks"), list) or not body["tasks"]:
            raise wrapped_exception(
                400,
                "MetaTaskDefinitionException",
                "A task group needs a name and at least one task.",
                "Microsoft.TeamFoundation.DistributedTask.WebApi",
            )
        with self._state.lock:
            if any(g["name"].lower() == name.lower() for g in self._state.task_groups):
                raise wrapped_exception(
                    400,
                    "MetaTaskDefinitionExistsException",
                    f"Task group {name} already exists.",
                    "Microsoft.TeamFoundation.DistributedTask.WebApi",
                )
            number = len(self._state.task_groups) + 1
            group = {
                **body,
                "id": f"d1000000-0000-4000-8000-{number:012x}",
                "name": name,
                "definitionType": "metaTask",
                "revision": 1,
                "createdBy": catalog.identity_ref(catalog.CALLER),
                "createdOn": self._state.now(),
                "modifiedBy": catalog.identity_ref(catalog.CALLER),
                "modifiedOn": self._state.now(),
            }
            self._state.task_groups.append(group)
        return Response.json(200, group)


def _invalid(message: str) -> HttpError:
    return wrapped_exception(400, "InvalidPipelineException", message, _PIPELINES)


def _validation(message: str) -> HttpError:
    return wrapped_exception(400, "PipelineValidationException", message, _PIPELINES)
