"""Scenarios: the emulator's warm-up fails a swap as App Service's does (a stopped source, the
ping path and statuses settings, a start slower than the warm-up waits), and Resource Manager
refuses writes as it does under a lock, without a role, or on a disabled subscription."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import CsmSlotEntity, StringDictionary

from tests.emulator_process import Emulator, emulator_for_sdk, web_client

GROUP = "rg-swap-demo"
APPS = ["web-stopped", "web-ping", "web-statuses", "web-slow", "web-locked"]
TO_PRODUCTION = CsmSlotEntity(target_slot="production", preserve_vnet=False)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    seeds = [arg for app in APPS for arg in ("--app", f"{app}@{GROUP}")]
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"),
        *("--swap-seconds", "0.3", "--retry-after", "0", "--warmup-timeout", "1"),
        *seeds,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> WebSiteManagementClient:
    return web_client(emulator)


def swap_fails(client: WebSiteManagementClient, app: str) -> tuple[int, dict[str, str]]:
    poller = client.web_apps.begin_swap_slot(
        GROUP, app, "staging", TO_PRODUCTION, polling_interval=0.1
    )
    with pytest.raises(HttpResponseError) as failure:
        poller.result()
    assert failure.value.response is not None
    return failure.value.status_code or 0, json.loads(failure.value.response.text())


def set_settings(client: WebSiteManagementClient, app: str, **values: str) -> None:
    current = client.web_apps.list_application_settings_slot(GROUP, app, "staging").properties
    merged = {**(current or {}), **values}
    client.web_apps.update_application_settings_slot(
        GROUP, app, "staging", StringDictionary(properties=merged)
    )


def test_a_stopped_source_cannot_be_warmed_up_and_nothing_is_swapped(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-stopped"
    emulator.deploy(app, "staging", "v2")
    client.web_apps.stop_slot(GROUP, app, "staging")

    staging = client.web_apps.get_slot(GROUP, app, "staging")
    page = requests.get(emulator.slot_url(app, "staging"), verify=emulator.ca_cert, timeout=5)
    status, body = swap_fails(client, app)

    assert staging.state == "Stopped"
    assert page.status_code == 403 and b"This web app is stopped" in page.content
    assert status == 417 and body["Code"] == "ExpectationFailed"
    assert body["Message"] == (
        f"Cannot swap site slots for site '{app}' because the 'staging' slot did not respond "
        "to http ping. (ColdStartFailed)"
    )
    assert emulator.serving(app, "production") == "v1"

    emulator.start_slot(app, "staging")  # the control API's way; ARM's start works the same
    client.web_apps.begin_swap_slot(
        GROUP, app, "staging", TO_PRODUCTION, polling_interval=0.1
    ).result()
    assert emulator.serving(app, "production") == "v2"


def test_the_warm_up_pings_the_ping_path_and_accepts_any_status_by_default(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-ping"
    emulator.deploy(app, "staging", "v2", health="unhealthy")
    set_settings(client, app, WEBSITE_SWAP_WARMUP_PING_PATH="/healthz")

    client.web_apps.begin_swap_slot(
        GROUP, app, "staging", TO_PRODUCTION, polling_interval=0.1
    ).result()

    [operation] = [o for o in emulator.operations() if o["app"] == app]
    assert (operation["warmup_path"], operation["warmup_status"]) == ("/healthz", 500)
    assert emulator.serving(app, "production") == "v2"


def test_a_status_the_ping_statuses_do_not_list_stops_the_swap(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-statuses"
    emulator.deploy(app, "staging", "v2", health="unhealthy")
    set_settings(client, app, WEBSITE_SWAP_WARMUP_PING_STATUSES="200,202")

    status, body = swap_fails(client, app)

    assert status == 400
    assert body["Message"] == (
        f"Cannot swap slots for site '{app}' because the application initialization in "
        "'staging' slot either took too long or failed."
    )
    [operation] = [o for o in emulator.operations() if o["app"] == app]
    assert (operation["warmup_path"], operation["warmup_status"]) == ("/", 500)
    assert emulator.serving(app, "production") == "v1"


def test_a_start_slower_than_the_warm_up_waits_times_the_swap_out(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-slow"
    emulator.deploy(app, "staging", "v2", warmup_seconds=60)  # --warmup-timeout 1

    status, body = swap_fails(client, app)

    assert status == 400
    assert body["Message"] == (
        f"Cannot swap slots for site '{app}' because the warmup requests to application in "
        "'staging' slot have timed out."
    )
    assert emulator.serving(app, "production") == "v1"


REFUSALS = [
    ("scope-locked", 409, "ScopeLocked", "cannot perform write operation because following"),
    (
        "authorization-failed",
        403,
        "AuthorizationFailed",
        "does not have authorization to perform action "
        "'Microsoft.Web/sites/slots/slotsswap/action' over scope",
    ),
    (
        "subscription-disabled",
        409,
        "ReadOnlyDisabledSubscription",
        "is disabled and therefore marked as read only",
    ),
]


@pytest.mark.parametrize(
    ("kind", "status", "code", "words"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_arm_refuses_the_swap_as_it_does_and_reads_still_work(
    emulator: Emulator,
    client: WebSiteManagementClient,
    kind: str,
    status: int,
    code: str,
    words: str,
) -> None:
    app = "web-locked"
    emulator.add_fault(kind, count=0, app=app)
    try:
        site = client.web_apps.get_slot(GROUP, app, "staging")
        with pytest.raises(HttpResponseError) as refused:
            client.web_apps.begin_swap_slot(
                GROUP, app, "staging", TO_PRODUCTION, polling_interval=0.1
            ).result()
    finally:
        emulator.clear_faults()

    assert site.state == "Running"
    assert refused.value.status_code == status
    assert refused.value.response is not None
    error = json.loads(refused.value.response.text())["error"]
    assert error["code"] == code and words in error["message"], error
    assert [o for o in emulator.operations() if o["app"] == app] == []
