"""One emulator run: PKI, platform state, the main HTTPS server (Entra, DevOps, MSI, ARM,
control API) and one HTTPS server per slot; then a ready line on stdout until a signal."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import Any

from runner.emulator.appservice.platform import AppService
from runner.emulator.arm import errors
from runner.emulator.arm.front_door import Arm, is_arm_path
from runner.emulator.arm.lifecycle import LifecycleRoutes
from runner.emulator.arm.publishing import PublishingRoutes
from runner.emulator.arm.refusals import refusal
from runner.emulator.arm.resourcelist import ResourceListRoutes
from runner.emulator.arm.resources import cloud_metadata
from runner.emulator.arm.siteconfig import SiteConfigRoutes
from runner.emulator.arm.slotswap import SlotSwapRoutes
from runner.emulator.certificates import Pki, ensure_pki
from runner.emulator.control import PREFIX, Control
from runner.emulator.devops.routes import DevOps
from runner.emulator.entra.actions import ActionsTokens, id_token_request_url
from runner.emulator.entra.tenant import Entra
from runner.emulator.entra.workload import MSI_PATH, Workload, oidc_request_uri
from runner.emulator.faults import REFUSAL_KINDS, RESPONSE_KINDS, Fault, FaultBook
from runner.emulator.monitor.recorder import MetricsTime, SiteMetrics
from runner.emulator.monitor.routes import MetricsRoutes
from runner.emulator.requestlog import RequestLog
from runner.emulator.routing import Router
from runner.emulator.server import HttpsServer, tls_context
from runner.emulator.settings import (
    ARM_AUDIENCE,
    CLIENT_ID,
    DEFAULT_ACTIONS_RUNTIME_TOKEN,
    FEDERATION_ISSUER,
    FEDERATION_SUBJECT,
    GITHUB_SUBJECT,
    MSI_CLIENT_ID,
    SERVICE_CONNECTION_ID,
    SUBSCRIPTION_ID,
    SUBSCRIPTION_NAME,
    TENANT_ID,
    EmulatorSettings,
)
from runner.emulator.sites.rampup import TrafficSplit
from runner.emulator.sites.servers import SlotSites
from runner.emulator.sites.usertraffic import TrafficRuns
from runner.emulator.wire import DropConnection, Params, Request, Response


class Emulator:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.pki: Pki = ensure_pki(settings.data_dir)
        context = tls_context(self.pki, settings.client_ca)
        clock = time.time
        self.log = RequestLog()
        self.faults = FaultBook(settings.faults)
        self.platform = AppService(
            settings.apps,
            settings.state_file,
            clock,
            settings.health_check_path,
            settings.base_error_percent,
        )
        self._clock = clock
        self.metrics = SiteMetrics(
            MetricsTime(settings.metrics_minute_seconds, settings.metrics_delay_minutes), clock
        )
        self._slot_sites = SlotSites(
            self.platform, self.metrics, TrafficSplit(settings.seed), clock, settings.seed
        )
        self.main = HttpsServer(settings.port, context, self._answer, self.log, "main")
        self.url = f"https://127.0.0.1:{self.main.port}/"
        entra = Entra(
            self.url,
            self.pki,
            settings.client_secret,
            clock,
            settings.client_secret_expired,
            settings.token_lifetime_seconds,
        )
        arm = Arm(self.url, self.platform, entra, self.faults, clock, f"127.0.0.1:{self.main.port}")
        publishing = PublishingRoutes(arm)

        self._public = Router()
        entra.add_routes(self._public)
        Workload(
            entra, self.pki, settings.system_access_token, settings.msi_header, clock
        ).add_routes(self._public)
        ActionsTokens(self.pki, DEFAULT_ACTIONS_RUNTIME_TOKEN, clock).add_routes(self._public)
        self._public.add("GET", "/metadata/endpoints", self._metadata)
        publishing.add_kudu_routes(self._public)

        self._arm = arm
        self._arm_routes = Router()
        arm.add_routes(self._arm_routes)
        SlotSwapRoutes(
            arm,
            self.faults,
            settings.swap_seconds,
            settings.retry_after,
            clock,
            settings.warmup_timeout,
        ).add_routes(self._arm_routes)
        SiteConfigRoutes(arm).add_routes(self._arm_routes)
        LifecycleRoutes(arm).add_routes(self._arm_routes)
        ResourceListRoutes(arm).add_routes(self._arm_routes)
        MetricsRoutes(arm, self.metrics, clock).add_routes(self._arm_routes)
        publishing.add_routes(self._arm_routes)

        self._devops = DevOps(self.url, entra, settings.system_access_token, clock)
        self._control = Router()
        traffic = TrafficRuns(str(self.pki.ca_cert))
        Control(self.platform, self.faults, self.log, self.metrics, traffic).add_routes(
            self._control
        )
        self._devops.add_control_routes(self._control)
        self._sites: list[HttpsServer] = []

    def start(self) -> None:
        self._sites = self._slot_sites.start(self.main.context, self.log)
        self.main.start()

    def stop(self) -> None:
        servers = (self.main, *self._sites)
        # Each shutdown waits for its server's poll loop; in parallel that is one wait, not many.
        stoppers = [threading.Thread(target=server.shutdown) for server in servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in servers:
            server.server_close()

    def ready_info(self) -> dict[str, Any]:
        apps = []
        for app in self.platform.apps():
            slots = {
                slot.name: {"url": f"https://{slot.host_name}/", "host_name": slot.host_name}
                for slot in app.slots.values()
            }
            apps.append({"name": app.name, "resource_group": app.resource_group, "slots": slots})
        return {
            "url": self.url,
            "ca_cert": str(self.pki.ca_cert),
            "tenant_id": TENANT_ID,
            "client_id": CLIENT_ID,
            "client_secret": self.settings.client_secret,
            "client_certificate": str(self.pki.client_cert),
            "subscription_id": SUBSCRIPTION_ID,
            "subscription_name": SUBSCRIPTION_NAME,
            "resource_group": apps[0]["resource_group"] if apps else None,
            "arm_audience": ARM_AUDIENCE,
            "system_access_token": self.settings.system_access_token,
            "oidc_request_uri": oidc_request_uri(self.url),
            "service_connection_id": SERVICE_CONNECTION_ID,
            "federated_issuer": FEDERATION_ISSUER,
            "federated_subject": FEDERATION_SUBJECT,
            "actions_id_token_request_url": id_token_request_url(self.url),
            "actions_id_token_request_token": DEFAULT_ACTIONS_RUNTIME_TOKEN,
            "github_federated_subject": GITHUB_SUBJECT,
            "msi_endpoint": self.url.rstrip("/") + MSI_PATH,
            "msi_header": self.settings.msi_header,
            "msi_client_id": MSI_CLIENT_ID,
            "data_dir": str(self.settings.data_dir),
            "state_file": str(self.settings.state_file) if self.settings.state_file else None,
            "swap_seconds": self.settings.swap_seconds,
            "health_check_path": self.settings.health_check_path,
            "metrics_minute_seconds": self.settings.metrics_minute_seconds,
            "metrics_delay_minutes": self.settings.metrics_delay_minutes,
            "apps": apps,
            **self._devops.ready_info(),
        }

    # -- the main server's dispatch --------------------------------------------------------------

    def _answer(self, request: Request) -> Response:
        if request.path.lower().startswith(PREFIX):
            return self._control.dispatch(request) or _not_found(request)
        fault = self.faults.take(RESPONSE_KINDS, request.method, request.path)
        if fault is not None:
            return _fault_response(fault)
        if is_arm_path(request.path):
            if self.settings.arm_latency:
                time.sleep(self.settings.arm_latency)
            self._arm.admit(request)
            if request.method != "GET":  # a lock or a missing role refuses writes and actions
                refused = self.faults.take(REFUSAL_KINDS, request.method, request.path)
                if refused is not None:
                    raise refusal(refused.kind, request.method, request.path)
            found = self._arm_routes.find(request.method, request.path)
            if found is None:
                raise errors.arm_error(
                    404,
                    "InvalidResourceType",
                    f"The resource type could not be found for path '{request.path}'.",
                )
            handler, params = found
            return handler(request, params)
        return self._public.dispatch(request) or self._devops.answer(request) or _not_found(request)

    def _metadata(self, request: Request, params: Params) -> Response:
        return Response.json(200, cloud_metadata(self.url))


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "drop":
        raise DropConnection()
    if fault.kind == "throttle":
        return Response.json(
            429,
            errors.arm_body(
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for operation type - "
                "Write_ObservationWindow_00:05:00. For more information, refer to - "
                "https://aka.ms/armthrottling",
            ),
            {"Retry-After": "1"},
        )
    if fault.kind == "unavailable":
        return Response.json(
            503,
            errors.arm_body(
                "ServiceUnavailable", "The service is temporarily unavailable. Please try again."
            ),
        )
    return Response.json(
        500,
        errors.arm_body(
            "InternalServerError",
            "Encountered internal server error. Diagnostic information: injected by the emulator.",
        ),
    )


def _not_found(request: Request) -> Response:
    return Response.json(404, errors.arm_body("NotFound", f"No route for {request.path}."))


def serve(settings: EmulatorSettings) -> int:
    """Run until SIGINT or SIGTERM; the ready line on stdout tells clients where everything is."""
    emulator = Emulator(settings)
    emulator.start()
    stopping = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    sys.stdout.write(json.dumps(emulator.ready_info()) + "\n")
    sys.stdout.flush()
    while not stopping.wait(0.5):
        pass
    emulator.stop()
    return 0
