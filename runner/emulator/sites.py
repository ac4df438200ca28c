"""The slot sites: each slot of each app answers on its own HTTPS port with what it runs now.

The port belongs to the slot, not to the version: after a swap, production's port serves what
staging ran, as production's host name does in Azure.
"""

from __future__ import annotations

import ssl
from typing import Callable

from runner.emulator.apps import App, Slot
from runner.emulator.appservice import AppService
from runner.emulator.health import judge
from runner.emulator.requestlog import RequestLog
from runner.emulator.server import Answer, HttpsServer
from runner.emulator.wire import Request, Response

_NOT_STARTED = (
    b"<html><body><h1>:( Application Error</h1><p>The app did not start. "
    b"(The emulator was told this version is broken.)</p></body></html>"
)


def start_slot_sites(
    platform: AppService, context: ssl.SSLContext, log: RequestLog, clock: Callable[[], float]
) -> list[HttpsServer]:
    servers = []
    for app, slot in platform.slots():
        site = _site(platform, app, slot, clock)
        server = HttpsServer(0, context, site, log, f"{app.name}/{slot.name}")
        slot.port = server.port
        server.start()
        servers.append(server)
    return servers


def _site(platform: AppService, app: App, slot: Slot, clock: Callable[[], float]) -> Answer:
    app_key, app_name, slot_name = app.key, app.name, slot.name

    def answer(request: Request) -> Response:
        view = platform.site_view(app_key, slot_name)
        deployment = view.deployment
        verdict = judge(
            deployment.health,
            view.app_settings,
            deployment.started_at,
            deployment.warmup_seconds,
            clock(),
        )
        if deployment.health == "broken":
            # Azure's front end answers for a worker that never started.
            return Response(503, _NOT_STARTED, {"Content-Type": "text/html"})
        headers = {"X-App-Version": deployment.version} if verdict.running else {}
        if not verdict.running or _is_health_check(request.path, view.health_check_path):
            # Health probes (and a front end waiting for a starting app) get a short answer.
            headers["Content-Type"] = "text/plain; charset=utf-8"
            return Response(verdict.status, verdict.reason.encode(), headers)
        body = {
            "app": app_name,
            "slot": slot_name,
            "version": deployment.version,
            "hostName": slot.host_name,
        }
        return Response.json(verdict.status, body, headers)

    return answer


def _is_health_check(path: str, health_check_path: str | None) -> bool:
    if health_check_path is None:
        return False
    wanted = "/" + health_check_path.strip("/")
    return path.rstrip("/").lower() == wanted.rstrip("/").lower()
