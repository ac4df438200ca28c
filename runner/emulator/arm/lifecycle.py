"""Stopping and starting a site or a slot (`POST .../stop`, `POST .../start`), as
`az webapp stop --slot` and the portal do."""

from __future__ import annotations

from runner.emulator.arm.front_door import SITE, SLOT, Arm
from runner.emulator.routing import Router
from runner.emulator.wire import Params, Request, Response


class LifecycleRoutes:
    def __init__(self, arm: Arm) -> None:
        self._arm = arm

    def add_routes(self, router: Router) -> None:
        for base in (SITE, SLOT):
            router.add("POST", base + "/stop", self._stop)
            router.add("POST", base + "/start", self._start)

    def _stop(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        self._arm.platform.set_state(app, slot.name, "Stopped")
        return Response(200, b"")

    def _start(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        self._arm.platform.set_state(app, slot.name, "Running")
        return Response(200, b"")
