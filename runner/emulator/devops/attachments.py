"""Build and release attachments, as the service keeps them: the agent uploads a file a task
attached (`##vso[task.addattachment type=T;name=N]path`) to the job's timeline record, and the
build's (a classic release's) REST API lists them by type and reads each one (what a results tab
calls).

    PUT {org}/{scope}/_apis/distributedtask/hubs/build/plans/{plan}/timelines/{timeline}
        /records/{record}/attachments/{type}/{name}                     (the agent's upload)
    GET {org}/{project}/_apis/build/builds/{build}/attachments/{type}             (list)
    GET {org}/{project}/_apis/build/builds/{build}/{timeline}/{record}/attachments/{type}/{name}
    GET {org}/{project}/_apis/Release/releases/{release}/environments/{stage}/attempts/{attempt}
        /plan/{plan}/attachments/{type}                                         (list)
    GET .../plan/{plan}/timelines/{timeline}/records/{record}/attachments/{type}/{name}

A build (a release stage's deployment) is made with the control API
(`POST /_emulator/devops/builds`, `.../releases`), which answers the plan and timeline its job
would run under. The list answers a bare array when the caller's `Accept`
asks for `noArrayWrap=true`, as the web extension client does.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, NamedTuple
from urllib.parse import quote, unquote
from uuid import uuid4

from runner.emulator.settings import PROJECT_ID
from runner.emulator.wire import HttpError, Params, Request, Response

from .access import wrapped_exception
from .catalog import CALLER, identity_ref


class Build(NamedTuple):
    """A build, or a classic release stage's deployment (`release` set): one plan, one timeline."""

    id: int
    plan_id: str
    timeline_id: str
    release: bool = False


class Attachment(NamedTuple):
    build: Build
    record_id: str
    type: str
    name: str
    content: bytes
    created: str


class Attachments:
    def __init__(self, organization_url: str, now: Callable[[], str]) -> None:
        self._url = organization_url.rstrip("/")
        self._now = now
        self._lock = threading.Lock()
        self._builds: list[Build] = []
        self._files: list[Attachment] = []

    def add_routes(self, add: Callable[..., None], org: str, project_route: str) -> None:
        upload = (
            org + "/{scope}/_apis/distributedtask/hubs/{hub}/plans/{plan}/timelines/{timeline}"
            "/records/{record}/attachments/{type}/{name}"
        )
        add("PUT", upload, self._upload, job_writes=True)
        builds = project_route + "/build/builds/{build}"
        add("GET", builds + "/attachments/{type}", self._list)
        add("GET", builds + "/{timeline}/{record}/attachments/{type}/{name}", self._read)
        plan = (
            project_route + "/Release/releases/{release}/environments/{stage}/attempts/{attempt}"
            "/plan/{plan}"
        )
        add("GET", plan + "/attachments/{type}", self._list_release)
        add(
            "GET",
            plan + "/timelines/{timeline}/records/{record}/attachments/{type}/{name}",
            self._read_release,
        )

    # -- control API ---------------------------------------------------------------------------

    def new_build(self) -> dict[str, Any]:
        build = self._new(release=False)
        return {"id": build.id, "planId": build.plan_id, "timelineId": build.timeline_id}

    def new_release(self) -> dict[str, Any]:
        """A classic release with one stage, deployed once: its plan and timeline."""
        stage = self._new(release=True)
        return {
            "releaseId": stage.id,
            "environmentId": stage.id,
            "attempt": 1,
            "planId": stage.plan_id,
            "timelineId": stage.timeline_id,
        }

    def _new(self, release: bool) -> Build:
        with self._lock:
            build = Build(len(self._builds) + 1, str(uuid4()), str(uuid4()), release)
            self._builds.append(build)
        return build

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"buildId": a.build.id, "recordId": a.record_id, "type": a.type, "name": a.name}
                for a in self._files
            ]

    # -- the routes ----------------------------------------------------------------------------

    def _upload(self, request: Request, params: Params) -> Response:
        build = self._build_of_plan(params["plan"])
        if build.timeline_id != params["timeline"].lower():
            raise _not_found(f"Timeline {params['timeline']} was not found.")
        kind, name = unquote(params["type"]), unquote(params["name"])
        attachment = Attachment(build, params["record"].lower(), kind, name, request.body, "")
        with self._lock:
            self._files = [f for f in self._files if f[:4] != attachment[:4]]
            self._files.append(attachment._replace(created=self._now()))
        return Response.json(
            200,
            {
                "_links": {"self": {"href": self._href(attachment)}},
                "createdOn": self._now(),
                "lastChangedBy": identity_ref(CALLER)["id"],
                "lastChangedOn": self._now(),
                "name": name,
                "recordId": attachment.record_id,
                "timelineId": build.timeline_id,
                "type": kind,
            },
        )

    def _list(self, request: Request, params: Params) -> Response:
        build = self._build(params["build"])
        kind = unquote(params["type"])
        with self._lock:
            found = [f for f in self._files if f.build == build and f.type == kind]
        items = [{"_links": {"self": {"href": self._href(f)}}, "name": f.name} for f in found]
        if "noarraywrap=true" in (request.header("Accept") or "").lower().replace(" ", ""):
            return Response.json(200, items)
        return Response.json(200, {"count": len(items), "value": items})

    def _list_release(self, request: Request, params: Params) -> Response:
        stage = self._stage(params)
        kind = unquote(params["type"])
        with self._lock:
            found = [f for f in self._files if f.build == stage and f.type == kind]
        items = [
            {
                "_links": {"self": {"href": self._href(f)}},
                "createdOn": f.created,
                "modifiedOn": f.created,
                "name": f.name,
                "recordId": f.record_id,
                "timelineId": stage.timeline_id,
                "type": f.type,
            }
            for f in found
        ]
        if "noarraywrap=true" in (request.header("Accept") or "").lower().replace(" ", ""):
            return Response.json(200, items)
        return Response.json(200, {"count": len(items), "value": items})

    def _read_release(self, request: Request, params: Params) -> Response:
        return self._content(self._stage(params), params)

    def _stage(self, params: Params) -> Build:
        with self._lock:
            found = next(
                (
                    b
                    for b in self._builds
                    if b.release
                    and str(b.id) == params["release"] == params["stage"]
                    and params["attempt"] == "1"
                    and b.plan_id == params["plan"].lower()
                ),
                None,
            )
        if found is None:
            raise wrapped_exception(
                404,
                "ReleaseNotFoundException",
                f"VS402853: Release {params['release']} (stage {params['stage']}, attempt "
                f"{params['attempt']}, plan {params['plan']}) was not found.",
                "Microsoft.VisualStudio.Services.ReleaseManagement.Data",
            )
        return found

    def _read(self, request: Request, params: Params) -> Response:
        return self._content(self._build(params["build"]), params)

    def _content(self, build: Build, params: Params) -> Response:
        wanted = (
            params["timeline"].lower(),
            params["record"].lower(),
            unquote(params["type"]),
            unquote(params["name"]),
        )
        with self._lock:
            found = next(
                (
                    f
                    for f in self._files
                    if f.build == build
                    and (build.timeline_id, f.record_id, f.type, f.name) == wanted
                ),
                None,
            )
        if found is None:
            raise _not_found(f"The attachment {wanted[3]} of build {build.id} was not found.")
        return Response(200, found.content, {"Content-Type": "application/octet-stream"})

    def _href(self, attachment: Attachment) -> str:
        build = attachment.build
        file = f"attachments/{quote(attachment.type)}/{quote(attachment.name)}"
        if build.release:
            return (
                f"{self._url}/{PROJECT_ID}/_apis/Release/releases/{build.id}/environments/"
                f"{build.id}/attempts/1/plan/{build.plan_id}/timelines/{build.timeline_id}/"
                f"records/{attachment.record_id}/{file}"
            )
        return (
            f"{self._url}/{PROJECT_ID}/_apis/build/builds/{build.id}/{build.timeline_id}/"
            f"{attachment.record_id}/{file}"
        )

    def _build(self, text: str) -> Build:
        with self._lock:
            found = next((b for b in self._builds if not b.release and str(b.id) == text), None)
        if found is None:
            raise wrapped_exception(
                404,
                "BuildNotFoundException",
                f"The requested build {text} could not be found.",
                "Microsoft.TeamFoundation.Build.WebApi",
            )
        return found

    def _build_of_plan(self, plan: str) -> Build:
        with self._lock:
            found = next((b for b in self._builds if b.plan_id == plan.lower()), None)
        if found is None:
            raise _not_found(f"Plan {plan} was not found.")
        return found


def _not_found(message: str) -> HttpError:
    return wrapped_exception(
        404,
        "TaskOrchestrationPlanNotFoundException",
        message,
        "Microsoft.TeamFoundation.DistributedTask.WebApi",
    )
