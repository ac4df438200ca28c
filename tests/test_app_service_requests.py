"""The task's own ARM requests are the requests azure-mgmt-web sends for the same calls.

`runner.azure.app_service_requests` keeps azure-mgmt-web off the task's start-up path; this checks,
call by call against the emulator, that nothing was lost: the same method, path, api-version and
body as the reference SDK, through the same ARM pipeline policies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from io import StringIO
from typing import Any, Callable, NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import CsmSlotEntity, SiteConfig, SiteConfigResource

from runner.azure import app_service_requests as build
from runner.azure.arm_pipeline import ArmPipeline
from runner.azure.connection import Cloud, Connection, Scheme
from runner.request import SlotRef
from runner.terminal.terminal_log import TerminalLog
from tests.emulator_process import Emulator, emulator_for_sdk, secret_credential

GROUP, APP = "rg-swap-demo", "contoso-web"


class SentRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


class Recorder(requests.adapters.HTTPAdapter):
    """Notes every request on its way to the emulator, then sends it for real."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        url = urlsplit(str(request.url))
        if url.path.startswith("/subscriptions/"):
            raw = request.body
            text = raw.decode() if isinstance(raw, bytes) else raw
            self.sent.append(
                SentRequest(
                    str(request.method),
                    url.path.lower(),
                    parse_qs(url.query),
                    json.loads(text) if text else None,
                )
            )
        return super().send(request, *args, **kwargs)


def transport(recorder: Recorder) -> RequestsTransport:
    session = requests.Session()
    session.mount("https://", recorder)
    return RequestsTransport(session=session, session_owner=False)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"), "--app", f"{APP}@{GROUP}:staging,qa"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def sdk(emulator: Emulator) -> tuple[WebSiteManagementClient, Recorder]:
    recorder = Recorder()
    client = WebSiteManagementClient(
        secret_credential(emulator),
        emulator.subscription_id,
        base_url=emulator.url,
        credential_scopes=[emulator.arm_scope],
        transport=transport(recorder),
    )
    return client, recorder


def our_pipeline(emulator: Emulator, recorder: Recorder) -> ArmPipeline:
    """The task's own ARM pipeline, as the emulator's service principal, through `recorder`."""
    cloud = Cloud("Emulator", emulator.url, emulator.url, emulator.arm_audience)
    connection = Connection(
        "emulator",
        Scheme.SERVICE_PRINCIPAL_SECRET,
        cloud,
        emulator.subscription_id,
        emulator.tenant_id,
        emulator.client_id,
        emulator.client_secret,
    )
    return ArmPipeline(connection, TerminalLog(StringIO()), transport=transport(recorder))


@pytest.fixture(scope="module")
def ours(emulator: Emulator) -> tuple[ArmPipeline, Recorder]:
    recorder = Recorder()
    return our_pipeline(emulator, recorder), recorder


def slot(name: str, emulator: Emulator) -> SlotRef:
    return SlotRef(emulator.subscription_id, GROUP, APP, name)


# Each case: our request, and the azure-mgmt-web call that is its reference.
CASES: dict[str, tuple[Callable[[Emulator], Any], Callable[[WebSiteManagementClient], Any]]] = {
    "list sites": (
        lambda e: build.list_sites(e.subscription_id),
        lambda c: list(c.web_apps.list()),
    ),
    "get site": (
        lambda e: build.get_site(slot("production", e)),
        lambda c: c.web_apps.get(GROUP, APP),
    ),
    "get slot": (
        lambda e: build.get_site(slot("staging", e)),
        lambda c: c.web_apps.get_slot(GROUP, APP, "staging"),
    ),
    "list slots": (
        lambda e: build.list_slots(e.subscription_id, GROUP, APP),
        lambda c: list(c.web_apps.list_slots(GROUP, APP)),
    ),
    "swap with production": (
        lambda e: build.swap(slot("staging", e), "production", False),
        lambda c: c.web_apps.begin_swap_slot_with_production(
            GROUP, APP, CsmSlotEntity(target_slot="staging", preserve_vnet=False), polling=False
        ),
    ),
    "swap two slots": (
        lambda e: build.swap(slot("staging", e), "qa", True),
        lambda c: c.web_apps.begin_swap_slot(
            GROUP,
            APP,
            "staging",
            CsmSlotEntity(target_slot="qa", preserve_vnet=True),
            polling=False,
        ),
    ),
    "differences with production": (
        lambda e: build.slot_differences(slot("staging", e), "production", False),
        lambda c: list(
            c.web_apps.list_slot_differences_from_production(
                GROUP, APP, CsmSlotEntity(target_slot="staging", preserve_vnet=False)
            )
        ),
    ),
    "differences between slots": (
        lambda e: build.slot_differences(slot("staging", e), "qa", False),
        lambda c: list(
            c.web_apps.list_slot_differences_slot(
                GROUP, APP, "staging", CsmSlotEntity(target_slot="qa", preserve_vnet=False)
            )
        ),
    ),
    "apply production's settings (preview)": (
        lambda e: build.apply_slot_config(slot("staging", e), "production", False),
        lambda c: c.web_apps.apply_slot_configuration_slot(
            GROUP, APP, "staging", CsmSlotEntity(target_slot="production", preserve_vnet=False)
        ),
    ),
    "apply another slot's settings (preview)": (
        lambda e: build.apply_slot_config(slot("staging", e), "qa", False),
        lambda c: c.web_apps.apply_slot_configuration_slot(
            GROUP, APP, "staging", CsmSlotEntity(target_slot="qa", preserve_vnet=False)
        ),
    ),
    "reset a slot (cancel preview)": (
        lambda e: build.reset_slot_config(slot("staging", e)),
        lambda c: c.web_apps.reset_slot_configuration_slot(GROUP, APP, "staging"),
    ),
    "reset production": (
        lambda e: build.reset_slot_config(slot("production", e)),
        lambda c: c.web_apps.reset_production_slot_config(GROUP, APP),
    ),
    "read web config": (
        lambda e: build.get_web_config(slot("production", e)),
        lambda c: c.web_apps.get_configuration(GROUP, APP),
    ),
    "read a slot's web config": (
        lambda e: build.get_web_config(slot("staging", e)),
        lambda c: c.web_apps.get_configuration_slot(GROUP, APP, "staging"),
    ),
    "list app settings": (
        lambda e: build.list_app_settings(slot("production", e)),
        lambda c: c.web_apps.list_application_settings(GROUP, APP),
    ),
    "list a slot's app settings": (
        lambda e: build.list_app_settings(slot("staging", e)),
        lambda c: c.web_apps.list_application_settings_slot(GROUP, APP, "staging"),
    ),
    "change web config": (
        lambda e: build.update_web_config(slot("production", e), {"healthCheckPath": "/health"}),
        lambda c: c.web_apps.update_configuration(
            GROUP, APP, SiteConfigResource(properties=SiteConfig(health_check_path="/health"))
        ),
    ),
    "change a slot's web config": (
        lambda e: build.update_web_config(slot("staging", e), {"healthCheckPath": "/health"}),
        lambda c: c.web_apps.update_configuration_slot(
            GROUP,
            APP,
            "staging",
            SiteConfigResource(properties=SiteConfig(health_check_path="/health")),
        ),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_request_is_the_one_azure_mgmt_web_sends(
    case: str,
    emulator: Emulator,
    sdk: tuple[WebSiteManagementClient, Recorder],
    ours: tuple[ArmPipeline, Recorder],
) -> None:
    ours_request, reference = CASES[case]
    client, sdk_sent = sdk
    pipeline, our_sent = ours
    sdk_sent.sent.clear()
    our_sent.sent.clear()
    with contextlib.suppress(Exception):  # an error answer (a swap already running) is fine
        reference(client)
    pipeline.send(case, ours_request(emulator), accept_errors=True)

    assert our_sent.sent[:1] == sdk_sent.sent[:1], (our_sent.sent, sdk_sent.sent)
    assert our_sent.sent[0].query == {"api-version": [build.API_VERSION]}
