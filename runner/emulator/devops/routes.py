"""The organization's REST routes, over the seeded catalog and the project's state.

Every route needs credentials (see access.py) and, except discovery, an api-version (in the
query or, as the client sends it, in `Accept: application/json;api-version=7.1-preview.1`).
Paths are matched case-insensitively; the project may be named or given by id.
"""

from __future__ import annotations

from typing import Any, Callable

from runner.emulator.entra.tenant import Entra
from runner.emulator.routing import Router
from runner.emulator.settings import ORGANIZATION, ORGANIZATION_ID, PROJECT
from runner.emulator.wire import Handler, HttpError, Params, Request, Response

from . import catalog, locations
from .access import Access, Caller, wrapped_exception
from .attachments import Attachments
from .environments import EnvironmentRoutes
from .pipelines import PipelineRoutes
from .state import DevOpsState

ORG = "/" + ORGANIZATION
PROJECT_ROUTE = ORG + "/{project}/_apis"
CONTROL_PREFIX = "/_emulator/devops"


class DevOps:
    def __init__(
        self,
        server_url: str,
        entra: Entra,
        system_access_token: str,
        clock: Callable[[], float],
    ) -> None:
        self.organization_url = catalog.organization_url(server_url)
        self.state = DevOpsState(clock)
        self.attachments = Attachments(self.organization_url, self.state.now)
        self._access = Access(server_url, entra, system_access_token, clock)
        self._router = Router()
        self._add_routes()

    def ready_info(self) -> dict[str, str]:
        return {
            "devops_url": self.organization_url.rstrip("/"),
            "devops_project": PROJECT,
            "devops_token": catalog.DEVOPS_PAT,
        }

    def answer(self, request: Request) -> Response | None:
        """The answer to a request under the organization's path; None for any other path."""
        lowered = request.path.lower()
        if not (lowered == ORG or lowered.startswith(ORG + "/")):
            return None
        origin = request.header("Origin")
        if (
            origin
            and request.method == "OPTIONS"
            and request.header("Access-Control-Request-Method")
        ):
            return _preflight(request, origin)
        answer = self._answer(request)
        if origin:
            # A web extension's page (another origin) reads the REST API, as on the service.
            answer.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
        return answer

    def _answer(self, request: Request) -> Response:
        found = self._router.find(request.method, request.path)
        if found is None:
            self._access.caller(request)
            raise wrapped_exception(
                404,
                "ResourceNotFoundException",
                f"The resource at {request.path} was not found on the emulated organization.",
                "Microsoft.VisualStudio.Services.WebApi",
            )
        handler, params = found
        return handler(request, params)

    def add_control_routes(self, router: Router) -> None:
        router.add("GET", CONTROL_PREFIX, self._control_state)
        router.add("PUT", CONTROL_PREFIX + "/files", self._control_put_file)
        router.add("POST", CONTROL_PREFIX + "/builds", self._control_new_build)
        router.add("POST", CONTROL_PREFIX + "/releases", self._control_new_release)

    # -- the route table ---------------------------------------------------------------------

    def _add_routes(self) -> None:
        add = self._add
        add("OPTIONS", ORG + "/_apis", self._locations, versioned=False)
        add("GET", ORG + "/_apis/ResourceAreas", self._resource_areas)
        add("GET", ORG + "/_apis/ResourceAreas/{areaId}", self._resource_area)
        add("GET", ORG + "/_apis/ConnectionData", self._connection_data)
        add("GET", ORG + "/_apis/projects", self._projects)
        add("GET", ORG + "/_apis/projects/{project}", self._project)
        add("GET", ORG + "/_apis/Identities", self._identities)
        add("GET", PROJECT_ROUTE + "/serviceendpoint/endpoints", self._endpoints)
        add("GET", PROJECT_ROUTE + "/git/repositories", self._repositories)
        add("GET", PROJECT_ROUTE + "/git/repositories/{repository}", self._repository)
        EnvironmentRoutes(self.state).add_routes(add, PROJECT_ROUTE)
        PipelineRoutes(self.state, self.organization_url).add_routes(add, PROJECT_ROUTE)
        self.attachments.add_routes(add, ORG, PROJECT_ROUTE)

    def _add(
        self,
        method: str,
        template: str,
        handler: Handler,
        versioned: bool = True,
        job_writes: bool = False,  # the job's own token may write here (the agent's uploads)
    ) -> None:
        def admitted(request: Request, params: Params) -> Response:
            caller = self._access.caller(request)
            if versioned and not _api_version(request):
                raise wrapped_exception(
                    400,
                    "VssVersionNotSpecifiedException",
                    "The API version for this request is not specified.",
                    "Microsoft.VisualStudio.Services.WebApi",
                )
            if "project" in params and not catalog.is_project(params["project"]):
                raise project_not_found(params["project"])
            writes = method in ("POST", "PUT", "PATCH", "DELETE")
            job_may = job_writes or template.lower().endswith("/preview")
            if caller is Caller.JOB and writes and not job_may:
                self._access.refuse_job_write(request, template.rsplit("/_apis/", 1)[-1])
            return handler(request, params)

        self._router.add(method, template, admitted)

    # -- discovery and the catalog -----------------------------------------------------------

    def _locations(self, request: Request, params: Params) -> Response:
        return Response.json(200, locations.locations_body())

    def _resource_areas(self, request: Request, params: Params) -> Response:
        return Response.json(200, locations.resource_areas_body(self.organization_url))

    def _resource_area(self, request: Request, params: Params) -> Response:
        body = locations.resource_area_body(params["areaId"], self.organization_url)
        if body is None:
            raise wrapped_exception(
                404, "ResourceAreaNotFoundException", f"Resource area {params['areaId']} not found."
            )
        return Response.json(200, body)

    def _connection_data(self, request: Request, params: Params) -> Response:
        user = catalog.identity(catalog.CALLER)
        return Response.json(
            200,
            {
                "authenticatedUser": user,
                "authorizedUser": user,
                "instanceId": ORGANIZATION_ID,
                "deploymentId": ORGANIZATION_ID,
                "deploymentType": "hosted",
                "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7"},
            },
        )

    def _projects(self, request: Request, params: Params) -> Response:
        return _collection([catalog.project_body(self.organization_url)])

    def _project(self, request: Request, params: Params) -> Response:
        if not catalog.is_project(params["project"]):
            raise project_not_found(params["project"])
        return Response.json(200, catalog.project_body(self.organization_url))

    def _identities(self, request: Request, params: Params) -> Response:
        ids = request.param("identityIds")
        if ids:
            people = [p for p in map(catalog.person_by_id, ids.split(",")) if p is not None]
        elif (request.param("searchFilter") or "").lower() in (
            "general",
            "accountname",
            "mailaddress",
        ):
            people = catalog.find_people(request.param("filterValue") or "")
        else:
            raise wrapped_exception(
                400,
                "ArgumentException",
                "Either identityIds, descriptors or searchFilter with filterValue is required.",
                "System",
            )
        return _collection([catalog.identity(person) for person in people])

    def _endpoints(self, request: Request, params: Params) -> Response:
        found = list(catalog.CONNECTIONS)
        names = request.param("endpointNames")
        if names is not None:
            wanted = {n.strip().lower() for n in names.split(",")}
            found = [c for c in found if c.name.lower() in wanted]
        ids = request.param("endpointIds")
        if ids is not None:
            wanted = {i.strip().lower() for i in ids.split(",")}
            found = [c for c in found if c.id in wanted]
        kind = request.param("type")
        if kind:
            found = [c for c in found if c.type == kind.lower()]
        return _collection([catalog.endpoint_body(c, self.organization_url) for c in found])

    def _repositories(self, request: Request, params: Params) -> Response:
        return _collection([catalog.repository_body(self.organization_url)])

    def _repository(self, request: Request, params: Params) -> Response:
        if params["repository"].lower() not in (catalog.REPOSITORY_ID, catalog.REPOSITORY_NAME):
            raise wrapped_exception(
                404,
                "GitRepositoryNotFoundException",
                f"TF401019: The Git repository with name or identifier {params['repository']} "
                "does not exist or you do not have permissions for the operation you are "
                "attempting.",
                "Microsoft.TeamFoundation.Git.Server",
            )
        return Response.json(200, catalog.repository_body(self.organization_url))

    # -- control API ---------------------------------------------------------------------------

    def _control_state(self, request: Request, params: Params) -> Response:
        return Response.json(
            200, {**self.state.snapshot(), "attachments": self.attachments.snapshot()}
        )

    def _control_new_build(self, request: Request, params: Params) -> Response:
        return Response.json(201, self.attachments.new_build())

    def _control_new_release(self, request: Request, params: Params) -> Response:
        return Response.json(201, self.attachments.new_release())

    def _control_put_file(self, request: Request, params: Params) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) for k in ("path", "content")
        ):
            raise HttpError.json(400, {"error": "the body needs string fields path and content"})
        with self.state.lock:
            self.state.files["/" + body["path"].lstrip("/")] = body["content"]
        return Response.json(200, {"files": sorted(self.state.files)})


def _api_version(request: Request) -> str | None:
    if request.param("api-version"):
        return request.param("api-version")
    accept = request.header("Accept") or ""
    for part in accept.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "api-version" and value:
            return value
    return None


def _preflight(request: Request, origin: str) -> Response:
    asked = request.header("Access-Control-Request-Headers") or ""
    return Response(
        204,
        b"",
        {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": asked or "Authorization, Content-Type, Accept",
            "Access-Control-Max-Age": "3600",
            "Vary": "Origin",
        },
    )


def _collection(items: list[Any]) -> Response:
    return Response.json(200, {"count": len(items), "value": items})


def project_not_found(name: str) -> HttpError:
    return wrapped_exception(
        404,
        "ProjectDoesNotExistWithNameException",
        f"TF200016: The following project does not exist: {name}. Verify that the name of the "
        "project is correct and that the project exists on the specified Azure DevOps Server.",
        "Microsoft.TeamFoundation.Core.WebApi",
    )
