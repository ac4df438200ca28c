"""The slot sites: each slot of each app answers on its own HTTPS port with what it runs now.

The port belongs to the slot, not to the version: after a swap, production's port serves what
staging ran, as production's host name does in Azure.
"""

from __future__ import annotations

import ssl

from runner.emulator.apps import App, Slot
from runner.emulator.appservice import AppService
from runner.emulator.requestlog import RequestLog
from runner.emulator.server import Answer, HttpsServer
from runner.emulator.wire import Request, Response

_NOT_STARTED = (
    b"<html><body><h1>:( Application Error</h1><p>The app did not start. "
    b"(The emulator was told this version is broken.)</p></body></html>"
)


def start_slot_sites(
    platform: AppService, context: ssl.SSLContext, log: RequestLog
) -> list[HttpsServer]:
    servers = []
    for app, slot in platform.slots():
        server = HttpsServer(0, context, _site(platform, app, slot), log, f"{app.name}/{slot.name}")
        slot.port = server.port
        server.start()
        servers.append(server)
    return servers


def _site(platform: AppService, app: App, slot: Slot) -> Answer:
    app_key, app_name, slot_name = app.key, app.name, slot.name

    def answer(request: Request) -> Response:
        deployment = platform.serving(app_key, slot_name)
        if deployment.health == "broken":
            # Azure's front end answers for a worker that never started.
            return Response(503, _NOT_STARTED, {"Content-Type": "text/html"})
        status = 200 if deployment.health == "healthy" else 500
        body = {
            "app": app_name,
            "slot": slot_name,
            "version": deployment.version,
            "hostName": slot.host_name,
        }
        return Response.json(status, body, {"X-App-Version": deployment.version})

    return answer
