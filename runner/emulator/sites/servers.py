"""The slot sites: each slot of each app answers on its own HTTPS port with what it runs now.

The port belongs to the slot, not to the version: after a swap, production's port serves what
staging ran, as production's host name does in Azure. Production's port applies the app's
routing rules (rampup.py): a routed request is served by the slot's version and counted on the
slot's metrics. A slot's own port is never routed.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from typing import Callable

from runner.emulator.appservice.health import Verdict, judge
from runner.emulator.appservice.platform import AppService
from runner.emulator.appservice.records import App, Slot, is_production
from runner.emulator.monitor.recorder import SiteMetrics
from runner.emulator.requestlog import RequestLog
from runner.emulator.server import Answer, HttpsServer
from runner.emulator.sites.rampup import COOKIE, TrafficSplit
from runner.emulator.wire import Request, Response

_NOT_STARTED = (
    b"<html><body><h1>:( Application Error</h1><p>The app did not start. "
    b"(The emulator was told this version is broken.)</p></body></html>"
)

_STOPPED = (
    b"<html><body><h1>Error 403 - This web app is stopped.</h1><p>The web app you have "
    b"attempted to reach is currently stopped and does not accept any requests.</p></body></html>"
)


class SlotSites:
    """What the slot sites share: the platform, the metrics they feed, the routing dice."""

    def __init__(
        self,
        platform: AppService,
        metrics: SiteMetrics,
        split: TrafficSplit,
        clock: Callable[[], float],
        seed: int | None = None,
    ) -> None:
        self.platform = platform
        self._dice = random.Random(seed)
        self._dice_lock = threading.Lock()
        self.metrics = metrics
        self.split = split
        self.clock = clock

    def start(self, context: ssl.SSLContext, log: RequestLog) -> list[HttpsServer]:
        servers = []
        for app, slot in self.platform.slots():
            site = self._site(app, slot)
            server = HttpsServer(0, context, site, log, f"{app.name}/{slot.name}")
            slot.port = server.port
            server.start()
            servers.append(server)
        return servers

    def _site(self, app: App, slot: Slot) -> Answer:
        app_key, own_slot = app.key, slot.name
        routes = is_production(slot.name)

        def answer(request: Request) -> Response:
            started = time.perf_counter()
            serving, set_cookie = own_slot, None
            if routes:
                rules = self.platform.ramp_up_rules(app_key)
                decision = self.split.route(rules, request.query, request.header("Cookie"))
                serving, set_cookie = decision.slot, decision.set_cookie
            response = self._serve(app, serving, request)
            if set_cookie is not None:
                # App Service pins a client for an hour, or until its cookies are deleted.
                response.headers["Set-Cookie"] = f"{COOKIE}={set_cookie}; Max-Age=3600; path=/"
            self.metrics.record(
                (*app_key, serving.lower()),
                response.status,
                time.perf_counter() - started,
                routed=serving != own_slot,
            )
            return response

        return answer

    def _fails_at_random(self, percent: float) -> bool:
        with self._dice_lock:
            return self._dice.uniform(0, 100) < percent

    def _serve(self, app: App, slot_name: str, request: Request) -> Response:
        view = self.platform.serve(app.key, slot_name)
        deployment = view.deployment
        if view.state != "Running":
            return Response(403, _STOPPED, {"Content-Type": "text/html"})
        verdict = judge(
            deployment.health,
            view.app_settings,
            deployment.started_at,
            deployment.warmup_seconds,
            self.clock(),
            view.request_number,
        )
        if deployment.health == "broken":
            # Azure's front end answers for a worker that never started.
            return Response(503, _NOT_STARTED, {"Content-Type": "text/html"})
        if verdict.running and deployment.slower_ms:
            time.sleep(deployment.slower_ms / 1000.0)  # this handler's thread only
        if (
            verdict.status == 200
            and deployment.error_percent
            and self._fails_at_random(deployment.error_percent)
        ):
            verdict = Verdict(
                500, True, f"A random failure ({deployment.error_percent:g} % of requests fail)."
            )
        headers = {"X-App-Version": deployment.version} if verdict.running else {}
        if not verdict.running or _is_health_check(request.path, view.health_check_path):
            # Health probes (and a front end waiting for a starting app) get a short answer.
            headers["Content-Type"] = "text/plain; charset=utf-8"
            return Response(verdict.status, verdict.reason.encode(), headers)
        slot = app.slots[slot_name.lower()]
        body = {
            "app": app.name,
            "slot": slot.name,
            "version": deployment.version,
            "hostName": slot.host_name,
        }
        return Response.json(verdict.status, body, headers)


def _is_health_check(path: str, health_check_path: str | None) -> bool:
    if health_check_path is None:
        return False
    wanted = "/" + health_check_path.strip("/")
    return path.rstrip("/").lower() == wanted.rstrip("/").lower()
