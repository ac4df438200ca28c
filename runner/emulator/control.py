"""The emulator's own control API under /_emulator/: deploy versions, inject faults, and read
what happened. It needs no token; the server listens on loopback only."""

from __future__ import annotations

from typing import Any

from runner.emulator.appservice.health import parse_health
from runner.emulator.appservice.platform import AppService
from runner.emulator.faults import FaultBook, new_fault
from runner.emulator.monitor.recorder import SiteMetrics
from runner.emulator.requestlog import RequestLog
from runner.emulator.routing import Router
from runner.emulator.settings import PRODUCTION
from runner.emulator.sites.rampup import check_rules
from runner.emulator.sites.usertraffic import TrafficRuns
from runner.emulator.wire import HttpError, Params, Request, Response

PREFIX = "/_emulator/"


class Control:
    def __init__(
        self,
        platform: AppService,
        faults: FaultBook,
        log: RequestLog,
        metrics: SiteMetrics,
        traffic: TrafficRuns,
    ) -> None:
        self._platform = platform
        self._faults = faults
        self._log = log
        self._metrics = metrics
        self._traffic = traffic

    def add_routes(self, router: Router) -> None:
        router.add("POST", "/_emulator/deploy", self._deploy)
        router.add("POST", "/_emulator/config", self._configure)
        router.add("POST", "/_emulator/stop", self._stop)
        router.add("POST", "/_emulator/start", self._start)
        router.add("GET", "/_emulator/faults", self._list_faults)
        router.add("POST", "/_emulator/faults", self._add_fault)
        router.add("DELETE", "/_emulator/faults", self._clear_faults)
        router.add("GET", "/_emulator/requests", self._requests)
        router.add("DELETE", "/_emulator/requests", self._clear_requests)
        router.add("GET", "/_emulator/operations", self._operations)
        router.add("GET", "/_emulator/state", self._state)
        router.add("GET", "/_emulator/metrics", self._counters)
        router.add("GET", "/_emulator/traffic", self._list_traffic)
        router.add("POST", "/_emulator/traffic", self._start_traffic)
        router.add("DELETE", "/_emulator/traffic", self._stop_traffic)

    def _deploy(self, request: Request, params: Params) -> Response:
        body = _object(request)
        missing = [key for key in ("app", "slot", "version") if not isinstance(body.get(key), str)]
        if missing:
            raise _bad(f"deploy needs string fields: {', '.join(missing)}")
        health = body.get("health", "healthy")
        try:
            parse_health(health if isinstance(health, str) else "")
        except ValueError as error:
            raise _bad(str(error)) from None
        warmup = body.get("warmup_seconds", 0)
        if not isinstance(warmup, (int, float)) or isinstance(warmup, bool) or warmup < 0:
            raise _bad("warmup_seconds must be a number >= 0")
        slower = body.get("slower_ms", 0)
        if not isinstance(slower, (int, float)) or isinstance(slower, bool) or slower < 0:
            raise _bad("slower_ms must be a number >= 0")
        error_percent = body.get("error_percent")
        if error_percent is not None and (
            not isinstance(error_percent, (int, float))
            or isinstance(error_percent, bool)
            or not 0 <= error_percent <= 100
        ):
            raise _bad("error_percent must be a number from 0 to 100")
        resource_group = body.get("resource_group")
        app = self._platform.deploy(
            resource_group if isinstance(resource_group, str) else None,
            body["app"],
            body["slot"],
            body["version"],
            health,
            float(warmup),
            float(slower),
            None if error_percent is None else float(error_percent),
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
                "warmup_seconds": float(warmup),
                "url": f"https://{slot.host_name}/",
            },
        )

    def _configure(self, request: Request, params: Params) -> Response:
        """Merge site config properties (e.g. healthCheckPath) into one slot, or every slot of an
        app when no slot is named; what `PATCH .../config/web` does, without a token."""
        body = _object(request)
        properties = body.get("properties")
        if not isinstance(body.get("app"), str) or not isinstance(properties, dict):
            raise _bad(
                'config needs "app" and "properties" (an object), e.g. '
                '{"app": "contoso-web", "properties": {"healthCheckPath": "/healthz"}}'
            )
        slot_name = body.get("slot")
        resource_group = body.get("resource_group")
        app = self._platform.find_one_app(
            resource_group if isinstance(resource_group, str) else None, body["app"]
        )
        try:
            check_rules(app, properties.get("experiments"))
        except ValueError as error:
            raise _bad(str(error)) from None
        if slot_name is None:
            slots = list(app.slots.values())
        else:
            slot = app.slot(str(slot_name))
            if slot is None:
                raise _bad(f"app '{app.name}' has no slot '{slot_name}'")
            slots = [slot]

        def merge() -> None:
            for slot in slots:
                slot.site_config.update(properties)

        self._platform.change(merge)
        return Response.json(200, {slot.name: slot.site_config for slot in slots})

    def _stop(self, request: Request, params: Params) -> Response:
        return self._set_state(request, "Stopped")

    def _start(self, request: Request, params: Params) -> Response:
        return self._set_state(request, "Running")

    def _set_state(self, request: Request, state: str) -> Response:
        """What `POST .../stop` and `.../start` do, without a token."""
        body = _object(request)
        if not isinstance(body.get("app"), str) or not isinstance(body.get("slot"), str):
            raise _bad(
                'stop and start need "app" and "slot", e.g. {"app": "contoso-web", '
                '"slot": "staging"}'
            )
        resource_group = body.get("resource_group")
        app = self._platform.find_one_app(
            resource_group if isinstance(resource_group, str) else None, body["app"]
        )
        slot = app.slot(body["slot"])
        if slot is None:
            raise _bad(f"app '{app.name}' has no slot '{body['slot']}'")
        self._platform.set_state(app, slot.name, state)
        return Response.json(200, {"app": app.name, "slot": slot.name, "state": state})

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

    def _counters(self, request: Request, params: Params) -> Response:
        """Per-slot counters since the start, live (the metrics API shows them later)."""
        wanted = (request.param("app") or "").lower()
        counters = []
        for app, slot in self._platform.slots():
            if wanted and app.name.lower() != wanted:
                continue
            key = (app.resource_group.lower(), app.name.lower(), slot.name.lower())
            counters.append(
                {
                    "app": app.name,
                    "resource_group": app.resource_group,
                    "slot": slot.name,
                    "url": f"https://{slot.host_name}/",
                    **self._metrics.totals(key),
                }
            )
        return Response.json(200, counters)

    def _list_traffic(self, request: Request, params: Params) -> Response:
        return Response.json(200, self._traffic.listing())

    def _start_traffic(self, request: Request, params: Params) -> Response:
        body = _object(request)
        rate, seconds = body.get("rate"), body.get("seconds")
        per_client = body.get("requests_per_client", 1)
        path = body.get("path", "/")
        if not isinstance(body.get("app"), str) or not _positive(rate) or not _positive(seconds):
            raise _bad('traffic needs "app", "rate" (new clients a second) and "seconds" (> 0)')
        assert isinstance(rate, (int, float)) and isinstance(seconds, (int, float))
        if not isinstance(per_client, int) or isinstance(per_client, bool) or per_client < 1:
            raise _bad("requests_per_client must be an integer >= 1")
        if not isinstance(path, str) or not path.startswith("/"):
            raise _bad("path must start with /")
        resource_group = body.get("resource_group")
        app = self._platform.find_one_app(
            resource_group if isinstance(resource_group, str) else None, body["app"]
        )
        site_url = f"https://{app.slots[PRODUCTION].host_name}/"
        run = self._traffic.start(app.name, site_url, float(rate), float(seconds), per_client, path)
        return Response.json(202, run)

    def _stop_traffic(self, request: Request, params: Params) -> Response:
        self._traffic.stop_all()
        return Response.json(200, self._traffic.listing())


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _object(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _bad(message: str) -> HttpError:
    return HttpError.json(400, {"error": message})
