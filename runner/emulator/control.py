"""The emulator's own control API under /_emulator/: deploy versions, inject faults, and read
what happened. It needs no token; the server listens on loopback only."""

from __future__ import annotations

from typing import Any

from runner.emulator.appservice import AppService
from runner.emulator.faults import FaultBook, new_fault
from runner.emulator.requestlog import RequestLog
from runner.emulator.routing import Router
from runner.emulator.settings import HEALTHS
from runner.emulator.wire import HttpError, Params, Request, Response

PREFIX = "/_emulator/"


class Control:
    def __init__(self, platform: AppService, faults: FaultBook, log: RequestLog) -> None:
        self._platform = platform
        self._faults = faults
        self._log = log

    def add_routes(self, router: Router) -> None:
        router.add("POST", "/_emulator/deploy", self._deploy)
        router.add("GET", "/_emulator/faults", self._list_faults)
        router.add("POST", "/_emulator/faults", self._add_fault)
        router.add("DELETE", "/_emulator/faults", self._clear_faults)
        router.add("GET", "/_emulator/requests", self._requests)
        router.add("DELETE", "/_emulator/requests", self._clear_requests)
        router.add("GET", "/_emulator/operations", self._operations)
        router.add("GET", "/_emulator/state", self._state)

    def _deploy(self, request: Request, params: Params) -> Response:
        body = _object(request)
        missing = [key for key in ("app", "slot", "version") if not isinstance(body.get(key), str)]
        if missing:
            raise _bad(f"deploy needs string fields: {', '.join(missing)}")
        health = body.get("health", "healthy")
        if health not in HEALTHS:
            raise _bad(f"health must be one of {', '.join(HEALTHS)}")
        resource_group = body.get("resource_group")
        app = self._platform.deploy(
            resource_group if isinstance(resource_group, str) else None,
            body["app"],
            body["slot"],
            body["version"],
            health,
        )
        slot = app.slot(body["slot"])
        assert slot is not None
        return Response.json(
            200,
            {
                "app": app.name,
                "resource_group": app.resource_group,
                "slot": slot.name,
                "version": body["version"],
                "health": health,
                "url": f"https://{slot.host_name}/",
            },
        )

    def _list_faults(self, request: Request, params: Params) -> Response:
        return Response.json(200, self._faults.listing())

    def _add_fault(self, request: Request, params: Params) -> Response:
        try:
            fault = new_fault(_object(request))
        except ValueError as error:
            raise _bad(str(error)) from None
        self._faults.add(fault)
        return Response.json(201, self._faults.listing())

    def _clear_faults(self, request: Request, params: Params) -> Response:
        self._faults.clear()
        return Response.json(200, [])

    def _requests(self, request: Request, params: Params) -> Response:
        since_text = request.param("since")
        try:
            since = float(since_text) if since_text else None
        except ValueError:
            raise _bad("since must be a Unix time in seconds") from None
        return Response.json(200, self._log.listing(since))

    def _clear_requests(self, request: Request, params: Params) -> Response:
        self._log.clear()
        return Response.json(200, [])

    def _operations(self, request: Request, params: Params) -> Response:
        return Response.json(200, self._platform.operations())

    def _state(self, request: Request, params: Params) -> Response:
        return Response.json(200, self._platform.snapshot())


def _object(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _bad(message: str) -> HttpError:
    return HttpError.json(400, {"error": message})
