"""Scenarios: azure-mgmt-web reads sites and slots and swaps them on the emulator, and each slot's
own HTTPS site serves what Azure would serve at every moment."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import (
    CsmSlotEntity,
    SiteConfig,
    SiteConfigResource,
    SlotConfigNames,
    SlotConfigNamesResource,
)

from tests.emulator_process import Emulator, emulator_for_sdk, web_client

GROUP = "rg-swap-demo"
# One app per scenario, so the scenarios share one emulator and stay independent.
APPS = ["web-swap", "web-slots", "web-preview", "web-busy", "web-broken", "web-read", "web-config"]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    seeds = [arg for app in APPS for arg in ("--app", f"{app}@{GROUP}:staging,qa")]
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"),
        "--swap-seconds",
        "0.3",
        "--retry-after",
        "0",
        *seeds,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> WebSiteManagementClient:
    return web_client(emulator)


def test_sites_and_slots_read_like_azure(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    site = client.web_apps.get(GROUP, "web-read")
    slots = list(client.web_apps.list_slots(GROUP, "web-read"))
    staging = client.web_apps.get_slot(GROUP, "web-read", "staging")

    assert site.name == "web-read"
    assert site.state == "Running"
    assert site.resource_group == GROUP
    assert site.default_host_name == emulator.slot_url("web-read", "production")[8:-1]
    assert sorted(str(slot.name) for slot in slots) == ["web-read/qa", "web-read/staging"]
    assert staging.type == "Microsoft.Web/sites/slots"
    assert staging.slot_swap_status is None
    assert "web-read" in [s.name for s in client.web_apps.list_by_resource_group(GROUP)]


def test_unknown_app_and_slot_are_404_with_arm_codes(client: WebSiteManagementClient) -> None:
    with pytest.raises(ResourceNotFoundError) as app_error:
        client.web_apps.get(GROUP, "no-such-app")
    with pytest.raises(ResourceNotFoundError) as slot_error:
        client.web_apps.get_slot(GROUP, "web-read", "no-such-slot")
    with pytest.raises(ResourceNotFoundError) as group_error:
        client.web_apps.get("rg-missing", "web-read")

    assert app_error.value.error is not None and app_error.value.error.code == "ResourceNotFound"
    assert "Microsoft.Web/sites/no-such-app" in str(app_error.value)
    assert slot_error.value.error is not None
    assert slot_error.value.error.code == "ResourceNotFound"
    assert group_error.value.error is not None
    assert group_error.value.error.code == "ResourceGroupNotFound"


def test_swap_with_production_switches_what_each_slot_serves(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    emulator.deploy("web-swap", "staging", "v2")

    poller = client.web_apps.begin_swap_slot_with_production(
        GROUP,
        "web-swap",
        CsmSlotEntity(target_slot="staging", preserve_vnet=True),
        polling_interval=0.2,
    )
    assert emulator.serving("web-swap", "production") == "v1"  # still the old version mid-swap
    poller.result()

    assert emulator.serving("web-swap", "production") == "v2"
    assert emulator.serving("web-swap", "staging") == "v1"
    status = client.web_apps.get(GROUP, "web-swap").slot_swap_status
    assert status is not None
    assert (status.source_slot_name, status.destination_slot_name) == ("staging", "production")
    [operation] = [o for o in emulator.operations() if o["app"] == "web-swap"]
    assert operation["outcome"] == "Succeeded"
    assert operation["finished_at"] - operation["accepted_at"] == pytest.approx(0.3)


def test_slot_to_slot_swap_leaves_production_alone(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    emulator.deploy("web-slots", "staging", "v2")
    emulator.deploy("web-slots", "qa", "v3")

    client.web_apps.begin_swap_slot(
        GROUP,
        "web-slots",
        "staging",
        CsmSlotEntity(target_slot="qa", preserve_vnet=False),
        polling_interval=0.2,
    ).result()

    assert emulator.serving("web-slots", "qa") == "v2"
    assert emulator.serving("web-slots", "staging") == "v3"
    assert emulator.serving("web-slots", "production") == "v1"


def test_sticky_settings_stay_and_others_move(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-config"
    staging = client.web_apps.list_application_settings_slot(GROUP, app, "staging")
    staging.properties = {**(staging.properties or {}), "FEATURE": "new"}
    client.web_apps.update_application_settings_slot(GROUP, app, "staging", staging)
    diffs = list(
        client.web_apps.list_slot_differences_slot(
            GROUP, app, "staging", CsmSlotEntity(target_slot="production", preserve_vnet=True)
        )
    )

    client.web_apps.begin_swap_slot(
        GROUP,
        app,
        "staging",
        CsmSlotEntity(target_slot="production", preserve_vnet=True),
        polling_interval=0.2,
    ).result()

    production = client.web_apps.list_application_settings(GROUP, app).properties or {}
    after = client.web_apps.list_application_settings_slot(GROUP, app, "staging").properties or {}
    assert {d.setting_name for d in diffs} == {"FEATURE", "SLOT_NAME", "Database"}
    assert production["FEATURE"] == "new" and "FEATURE" not in after
    assert (production["SLOT_NAME"], after["SLOT_NAME"]) == ("production", "staging")
    names = client.web_apps.list_slot_configuration_names(GROUP, app)
    assert names.app_setting_names == ["SLOT_NAME"]


def test_config_and_sticky_names_can_be_changed(client: WebSiteManagementClient) -> None:
    app = "web-config"
    client.web_apps.update_configuration_slot(
        GROUP,
        app,
        "staging",
        SiteConfigResource(properties=SiteConfig(health_check_path="/healthz")),
    )
    client.web_apps.update_slot_configuration_names(
        GROUP,
        app,
        SlotConfigNamesResource(
            properties=SlotConfigNames(
                app_setting_names=["SLOT_NAME", "FEATURE"], connection_string_names=["Database"]
            )
        ),
    )

    config = client.web_apps.get_configuration_slot(GROUP, app, "staging")
    names = client.web_apps.list_slot_configuration_names(GROUP, app)
    assert config.health_check_path == "/healthz"
    assert names.app_setting_names == ["SLOT_NAME", "FEATURE"]


def test_swap_with_preview_applies_then_completes_or_resets(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-preview"
    emulator.deploy(app, "staging", "v2")
    to_production = CsmSlotEntity(target_slot="production", preserve_vnet=True)

    client.web_apps.apply_slot_configuration_slot(GROUP, app, "staging", to_production)
    previewed = client.web_apps.list_application_settings_slot(GROUP, app, "staging").properties
    with pytest.raises(ResourceExistsError, match="prepared for swap"):
        client.web_apps.begin_swap_slot(GROUP, app, "qa", to_production, polling_interval=0.2)
    client.web_apps.reset_slot_configuration_slot(GROUP, app, "staging")
    reset = client.web_apps.list_application_settings_slot(GROUP, app, "staging").properties
    client.web_apps.apply_slot_configuration_slot(GROUP, app, "staging", to_production)
    assert client.web_apps.get_slot(GROUP, app, "staging").target_swap_slot == "production"
    client.web_apps.begin_swap_slot(
        GROUP, app, "staging", to_production, polling_interval=0.2
    ).result()

    assert (previewed or {})["SLOT_NAME"] == "production"
    assert (reset or {})["SLOT_NAME"] == "staging"
    assert emulator.serving(app, "production") == "v2"
    staging = client.web_apps.list_application_settings_slot(GROUP, app, "staging").properties
    assert (staging or {})["SLOT_NAME"] == "staging"


def test_a_second_swap_while_one_runs_is_409(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-busy"
    emulator.add_fault("slow-swap", seconds=1, path=f"{app}/")
    entity = CsmSlotEntity(target_slot="production", preserve_vnet=True)
    first = client.web_apps.begin_swap_slot(GROUP, app, "staging", entity, polling_interval=0.2)

    with pytest.raises(ResourceExistsError) as conflict:
        client.web_apps.begin_swap_slot(GROUP, app, "qa", entity, polling_interval=0.2)

    assert "another operation is in progress" in str(conflict.value)
    assert "OperationName: SwapSiteSlots" in str(conflict.value)
    first.result()
    assert len([o for o in emulator.operations() if o["app"] == app]) == 1


def test_a_broken_version_fails_warm_up_and_nothing_is_swapped(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-broken"
    emulator.deploy(app, "staging", "v2", health="broken")
    assert emulator.serving(app, "staging") == "down"

    poller = client.web_apps.begin_swap_slot(
        GROUP,
        app,
        "staging",
        CsmSlotEntity(target_slot="production", preserve_vnet=True),
        polling_interval=0.2,
    )
    with pytest.raises(HttpResponseError) as failure:
        poller.result()

    assert failure.value.status_code == 417
    assert failure.value.response is not None
    message = json.loads(failure.value.response.text())["Message"]
    assert message == (
        f"Cannot swap site slots for site '{app}' because the 'staging' slot did "
        "not respond to http ping. (ColdStartFailed)"
    )
    assert emulator.serving(app, "production") == "v1"
    assert client.web_apps.get(GROUP, app).slot_swap_status is None
    settings = client.web_apps.list_application_settings_slot(GROUP, app, "staging").properties
    assert (settings or {})["SLOT_NAME"] == "staging"  # the target's sticky values were reverted


def test_an_unhealthy_version_still_answers_with_500(emulator: Emulator) -> None:
    emulator.deploy("web-read", "qa", "v9", health="unhealthy")

    response = requests.get(
        emulator.slot_url("web-read", "qa") + "any/path", verify=emulator.ca_cert, timeout=5
    )

    assert response.status_code == 500
    assert response.headers["X-App-Version"] == "v9"
    assert response.json()["slot"] == "qa"


def test_swap_is_an_lro_with_location_and_retry_after(emulator: Emulator) -> None:
    # Raw HTTP, to pin the exact protocol the SDK pollers depend on.
    token = requests.post(
        f"{emulator.url}{emulator.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "scope": emulator.arm_scope,
        },
        timeout=5,
    ).json()["access_token"]
    site = (
        f"{emulator.url}subscriptions/{emulator.subscription_id}/resourceGroups/{GROUP}"
        "/providers/Microsoft.Web/sites/web-read"
    )
    headers = {"Authorization": f"Bearer {token}"}
    emulator.add_fault("no-retry-after", count=1, path="web-read")

    accepted = requests.post(
        f"{site}/SLOTS/qa/slotsswap?api-version=2016-08-01",
        headers=headers,
        json={"targetSlot": "staging"},
        timeout=5,
    )
    polled = requests.get(accepted.headers["Location"], headers=headers, timeout=5)
    time.sleep(0.35)
    done = requests.get(accepted.headers["Location"], headers=headers, timeout=5)
    missing = requests.post(
        f"{site}/slotsswap", headers=headers, json={"targetSlot": "qa"}, timeout=5
    )
    same = requests.post(
        f"{site}/slots/qa/slotsswap?api-version=2025-05-01",
        headers=headers,
        json={"targetSlot": "qa"},
        timeout=5,
    )

    assert accepted.status_code == 202
    assert "Retry-After" not in accepted.headers  # the no-retry-after fault
    assert "/operationresults/" in accepted.headers["Location"]
    assert (polled.status_code, polled.headers.get("Retry-After")) == (202, "0")
    assert (done.status_code, done.content) == (200, b"")
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    assert same.status_code == 400
