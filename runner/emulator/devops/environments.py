"""Environments, the checks on them (an Approval is one), and which pipelines may use a
protected resource (environment, service connection, repository)."""

from __future__ import annotations

from typing import Any, Callable

from runner.emulator.wire import Handler, HttpError, Params, Request, Response

from . import catalog
from .access import wrapped_exception
from .state import DevOpsState

APPROVAL_CHECK_TYPE = "8c6f20a7-a545-4486-9777-f762fafe0d4d"
CHECK_TYPES = {APPROVAL_CHECK_TYPE: "Approval"}
PERMISSION_RESOURCE_TYPES = ("environment", "endpoint", "repository", "queue", "variablegroup")
AddRoute = Callable[[str, str, Handler], None]
_DISTRIBUTED_TASK = "Microsoft.TeamFoundation.DistributedTask.WebApi"


class EnvironmentRoutes:
    def __init__(self, state: DevOpsState) -> None:
        self._state = state

    def add_routes(self, add: AddRoute, project_route: str) -> None:
        environments = project_route + "/distributedtask/environments"
        add("GET", environments, self._list_environments)
        add("POST", environments, self._add_environment)
        add("GET", environments + "/{environmentId}", self._get_environment)
        checks = project_route + "/pipelines/checks/configurations"
        add("GET", checks, self._list_checks)
        add("POST", checks, self._add_check)
        add("GET", checks + "/{id}", self._get_check)
        permissions = project_route + "/pipelines/pipelinePermissions/{resourceType}/{resourceId}"
        add("GET", permissions, self._get_permissions)
        add("PATCH", permissions, self._update_permissions)

    # -- environments --------------------------------------------------------------------------

    def _list_environments(self, request: Request, params: Params) -> Response:
        name = request.param("name")
        with self._state.lock:
            found = [
                e for e in self._state.environments if not name or e["name"].lower() == name.lower()
            ]
        return Response.json(200, {"count": len(found), "value": found})

    def _add_environment(self, request: Request, params: Params) -> Response:
        body = _object(request)
        name = str(body.get("name") or "").strip()
        if not name or len(name) > 128 or any(c in name for c in '\\/:*?"<>|#%&'):
            raise wrapped_exception(
                400,
                "ArgumentException",
                f"Environment name '{name}' is not valid: it must be 1 to 128 characters and "
                'must not contain any of \\ / : * ? " < > | # % &.',
                "System",
            )
        with self._state.lock:
            if self._state.environment_named(name) is not None:
                raise wrapped_exception(
                    409,
                    "EnvironmentExistsException",
                    f"Environment '{name}' already exists in current project.",
                    _DISTRIBUTED_TASK,
                )
            environment = self._state.add_environment(name, str(body.get("description") or ""))
        return Response.json(200, environment)

    def _get_environment(self, request: Request, params: Params) -> Response:
        environment = self._state.environment(params["environmentId"])
        if environment is None:
            raise _environment_not_found(params["environmentId"])
        return Response.json(200, environment)

    # -- checks --------------------------------------------------------------------------------

    def _list_checks(self, request: Request, params: Params) -> Response:
        resource_type = (request.param("resourceType") or "").lower()
        resource_id = request.param("resourceId") or ""
        with_settings = "settings" in (request.param("$expand") or "").lower()
        with self._state.lock:
            found = [
                _shown(check, with_settings)
                for check in self._state.checks
                if (not resource_type or check["resource"]["type"] == resource_type)
                and (not resource_id or check["resource"]["id"] == resource_id)
            ]
        return Response.json(200, {"count": len(found), "value": found})

    def _get_check(self, request: Request, params: Params) -> Response:
        check = next((c for c in self._state.checks if str(c["id"]) == params["id"]), None)
        if check is None:
            raise wrapped_exception(
                404,
                "CheckConfigurationNotFoundException",
                f"Check configuration with id {params['id']} not found.",
                "Microsoft.Azure.Pipelines.Checks.WebApi",
            )
        with_settings = "settings" in (request.param("$expand") or "").lower()
        return Response.json(200, _shown(check, with_settings))

    def _add_check(self, request: Request, params: Params) -> Response:
        body = _object(request)
        check_type = _member(body, "type")
        type_id = str(check_type.get("id") or "").lower()
        if type_id not in CHECK_TYPES:
            raise _bad_check(f"The check type '{check_type.get('id')}' is not supported here.")
        resource = _member(body, "resource")
        resource_type = str(resource.get("type") or "").lower()
        resource_id = str(resource.get("id") or "")
        if resource_type != "environment":
            raise _bad_check(f"Checks on resource type '{resource.get('type')}' are not emulated.")
        environment = self._state.environment(resource_id)
        if environment is None:
            raise _environment_not_found(resource_id)
        settings = _member(body, "settings")
        approvers = []
        for approver in settings.get("approvers") or []:
            person = catalog.person_by_id(str((approver or {}).get("id") or ""))
            if person is None:
                raise _bad_check(
                    f"The approver with id '{(approver or {}).get('id')}' could not be found."
                )
            approvers.append(catalog.identity_ref(person))
        if not approvers:
            raise _bad_check("An approval check needs at least one approver.")
        now = self._state.now()
        check_id = self._state.new_id("check")
        check = {
            "id": check_id,
            "type": {"id": type_id, "name": CHECK_TYPES[type_id]},
            "settings": {**settings, "approvers": approvers},
            "resource": {"type": "environment", "id": resource_id, "name": environment["name"]},
            "timeout": int(body.get("timeout") or 43200),
            "createdBy": catalog.identity_ref(catalog.CALLER),
            "createdOn": now,
            "modifiedBy": catalog.identity_ref(catalog.CALLER),
            "modifiedOn": now,
            "url": f"pipelines/checks/configurations/{check_id}",
        }
        with self._state.lock:
            self._state.checks.append(check)
        return Response.json(200, check)

    # -- pipeline permissions ------------------------------------------------------------------

    def _get_permissions(self, request: Request, params: Params) -> Response:
        key = self._resource_key(params)
        with self._state.lock:
            return Response.json(200, self._permissions(key))

    def _update_permissions(self, request: Request, params: Params) -> Response:
        key = self._resource_key(params)
        body = _object(request)
        with self._state.lock:
            current = self._permissions(key)
            for entry in body.get("pipelines") or []:
                pipeline_id = str((entry or {}).get("id"))
                if self._state.pipeline(pipeline_id) is None:
                    raise wrapped_exception(
                        404,
                        "PipelineNotFoundException",
                        f"Pipeline with id {pipeline_id} not found.",
                        "Microsoft.Azure.Pipelines.WebApi",
                    )
                kept = [p for p in current["pipelines"] if str(p["id"]) != pipeline_id]
                if entry.get("authorized"):
                    kept.append(
                        {
                            "id": int(pipeline_id),
                            "authorized": True,
                            "authorizedBy": catalog.identity_ref(catalog.CALLER),
                            "authorizedOn": self._state.now(),
                        }
                    )
                current["pipelines"] = kept
            if isinstance(body.get("allPipelines"), dict):
                current["allPipelines"] = body["allPipelines"]
            self._state.permissions[key] = current
            return Response.json(200, current)

    def _resource_key(self, params: Params) -> tuple[str, str]:
        resource_type = params["resourceType"].lower()
        resource_id = params["resourceId"].lower()
        if resource_type not in PERMISSION_RESOURCE_TYPES:
            raise wrapped_exception(
                400,
                "ArgumentException",
                f"Resource type '{params['resourceType']}' is not valid.",
                "System",
            )
        exists = True
        if resource_type == "environment":
            exists = self._state.environment(resource_id) is not None
        elif resource_type == "endpoint":
            exists = any(c.id == resource_id for c in catalog.CONNECTIONS)
        if not exists:
            raise wrapped_exception(
                404,
                "ResourceNotFoundException",
                f"The {resource_type} with id {params['resourceId']} was not found.",
                "Microsoft.Azure.Pipelines.Authorization.WebApi",
            )
        return resource_type, resource_id

    def _permissions(self, key: tuple[str, str]) -> dict[str, Any]:
        found = self._state.permissions.get(key)
        if found is not None:
            return found
        return {"resource": {"type": key[0], "id": key[1]}, "pipelines": [], "allPipelines": None}


def _shown(check: dict[str, Any], with_settings: bool) -> dict[str, Any]:
    """The service leaves settings out unless asked with $expand=settings."""
    return check if with_settings else {k: v for k, v in check.items() if k != "settings"}


def _member(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _object(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise wrapped_exception(
            400, "ArgumentNullException", "The request body is missing.", "System"
        )
    return body


def _bad_check(message: str) -> HttpError:
    return wrapped_exception(
        400,
        "InvalidCheckConfigurationException",
        message,
        "Microsoft.Azure.Pipelines.Checks.WebApi",
    )


def _environment_not_found(environment_id: str) -> HttpError:
    return wrapped_exception(
        404,
        "EnvironmentNotFoundException",
        f"Environment with id '{environment_id}' not found.",
        _DISTRIBUTED_TASK,
    )
