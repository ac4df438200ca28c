"""Scenarios: what a health gate, a post-swap verification and a rollback see on the emulator:
the health check path in site config, the slot sites' health answers, versions that need a slot
setting, slow warm-ups, and faults that hit one app of several."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from azure.core.exceptions import HttpResponseError
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
APPS = ["web-config", "web-probe", "web-sticky", "web-warm"]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    seeds = [arg for app in APPS for arg in ("--app", f"{app}@{GROUP}:staging")]
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"),
        "--swap-seconds",
        "0.4",
        "--retry-after",
        "0",
        "--health-check-path",
        "/healthz",
        *seeds,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> WebSiteManagementClient:
    return web_client(emulator)


def probe(emulator: Emulator, app: str, slot: str, path: str = "/healthz") -> requests.Response:
    return requests.get(
        emulator.slot_url(app, slot).rstrip("/") + path, verify=emulator.ca_cert, timeout=5
    )


def swap_into_production(client: WebSiteManagementClient, app: str, slot: str = "staging") -> None:
    client.web_apps.begin_swap_slot_with_production(
        GROUP, app, CsmSlotEntity(target_slot=slot, preserve_vnet=True), polling_interval=0.1
    ).result()


def test_health_check_path_is_seeded_changed_and_read_by_azure_mgmt_web(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-config"
    seeded = client.web_apps.get_configuration(GROUP, app).health_check_path
    seeded_slot = client.web_apps.get_configuration_slot(GROUP, app, "staging").health_check_path

    client.web_apps.update_configuration_slot(
        GROUP, app, "staging", SiteConfigResource(properties=SiteConfig(health_check_path="/ready"))
    )
    emulator.control(
        "POST",
        "config",
        {"app": app, "slot": "production", "properties": {"healthCheckPath": "/live"}},
    )

    assert (seeded, seeded_slot) == ("/healthz", "/healthz")
    assert emulator.info["health_check_path"] == "/healthz"
    assert client.web_apps.get_configuration(GROUP, app).health_check_path == "/live"
    assert (
        client.web_apps.get_configuration_slot(GROUP, app, "staging").health_check_path == "/ready"
    )
    assert probe(emulator, app, "staging", "/ready").text == "Healthy"
    # Site config stays with its slot through a swap.
    swap_into_production(client, app)
    assert client.web_apps.get_configuration(GROUP, app).health_check_path == "/live"


def test_sites_answer_the_health_path_with_a_short_body(emulator: Emulator) -> None:
    app = "web-probe"
    emulator.deploy(app, "staging", "v2", health="unhealthy")

    healthy, unhealthy = probe(emulator, app, "production"), probe(emulator, app, "staging")
    page = probe(emulator, app, "staging", "/orders")

    assert (healthy.status_code, healthy.text) == (200, "Healthy")
    assert unhealthy.status_code == 500 and unhealthy.text.startswith("Unhealthy")
    assert len(unhealthy.content) < 200
    assert unhealthy.headers["Content-Type"].startswith("text/plain")
    assert unhealthy.headers["X-App-Version"] == "v2"  # the app runs, and fails
    assert page.status_code == 500 and page.json()["version"] == "v2"


def test_a_version_needing_a_sticky_setting_fails_in_production_and_a_swap_back_heals_it(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-sticky"
    # The new version needs PAYMENTS_MODE, a slot setting added only to staging so far.
    client.web_apps.update_slot_configuration_names(
        GROUP,
        app,
        SlotConfigNamesResource(
            properties=SlotConfigNames(
                app_setting_names=["SLOT_NAME", "PAYMENTS_MODE"], connection_string_names=[]
            )
        ),
    )
    settings = client.web_apps.list_application_settings_slot(GROUP, app, "staging")
    settings.properties = {**(settings.properties or {}), "PAYMENTS_MODE": "sandbox"}
    client.web_apps.update_application_settings_slot(GROUP, app, "staging", settings)
    emulator.deploy(app, "staging", "v2", health="needs-setting:PAYMENTS_MODE=sandbox")
    before = probe(emulator, app, "staging")

    swap_into_production(client, app)
    production, staging = probe(emulator, app, "production"), probe(emulator, app, "staging")

    assert before.status_code == 200
    assert (production.status_code, production.headers["X-App-Version"]) == (500, "v2")
    assert "PAYMENTS_MODE" in production.text
    assert (staging.status_code, staging.headers["X-App-Version"]) == (200, "v1")
    [operation] = [o for o in emulator.operations() if o["app"] == app]
    assert operation["outcome"] == "Succeeded"  # warm-up accepts any answer, as Azure's does

    swap_into_production(client, app)  # the rollback: swap the same two slots again

    production, staging = probe(emulator, app, "production"), probe(emulator, app, "staging")
    assert (production.status_code, production.headers["X-App-Version"]) == (200, "v1")
    assert (staging.status_code, staging.headers["X-App-Version"]) == (200, "v2")


def test_a_slow_warm_up_delays_health_and_the_swap_waits_for_it(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-warm"
    emulator.deploy(app, "staging", "v2", warmup_seconds=1.0)
    deployed = time.time()
    starting = probe(emulator, app, "staging")
    while probe(emulator, app, "staging").status_code != 200:
        time.sleep(0.05)
    warmed = time.time() - deployed

    poller = client.web_apps.begin_swap_slot_with_production(
        GROUP, app, CsmSlotEntity(target_slot="staging", preserve_vnet=True), polling_interval=0.1
    )
    restarted = probe(emulator, app, "staging")  # the swap restarts the source slot
    mid_swap = emulator.serving(app, "production")
    poller.result()

    assert (starting.status_code, "X-App-Version" in starting.headers) == (503, False)
    assert "warm-up" in starting.text
    assert 0.8 <= warmed < 2.5, warmed
    assert restarted.status_code == 503 and mid_swap == "v1"
    [operation] = [o for o in emulator.operations() if o["app"] == app]
    assert operation["due_at"] - operation["accepted_at"] == pytest.approx(1.0 + 0.2, abs=1e-3)
    # Production runs the instances warmed in staging: healthy at once.
    assert probe(emulator, app, "production").status_code == 200
    assert emulator.serving(app, "production") == "v2"


def test_faults_scoped_to_one_app_leave_the_others_alone(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    seeds = [arg for app in ("web-a", "web-b", "web-c") for arg in ("--app", f"{app}@{GROUP}")]
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"),
        "--swap-seconds",
        "0.2",
        "--retry-after",
        "0",
        "--fault",
        "swap-fails@web-b",
        *seeds,
    ) as emulator:
        client = web_client(emulator)
        for app in ("web-a", "web-b", "web-c"):
            emulator.deploy(app, "staging", "v2")
        emulator.add_fault("throttle", app="web-a", method="POST", path="slotsswap")
        # azure-core retries a dropped GET, not a dropped POST: drop web-c's first poll.
        emulator.add_fault("drop", app="web-c", method="GET", path="operationresults")
        since = time.time()

        outcomes = {}
        for app in ("web-a", "web-b", "web-c"):
            try:
                swap_into_production(client, app)
                outcomes[app] = "swapped"
            except HttpResponseError as error:
                # azure-mgmt-web does not parse App Service's error body; the body is there.
                assert error.response is not None
                outcomes[app] = error.response.text()

        assert outcomes["web-a"] == outcomes["web-c"] == "swapped"
        assert "worker process in the 'staging' slot" in outcomes["web-b"]
        served = {app: emulator.serving(app, "production") for app in ("web-a", "web-b", "web-c")}
        assert served == {"web-a": "v2", "web-b": "v1", "web-c": "v2"}
        calls = [
            (entry["path"].split("/")[8], entry["method"], entry["status"])
            for entry in emulator.requests(since)
            if entry["path"].endswith("/slotsswap") or "/operationresults/" in entry["path"]
        ]
        assert [call for call in calls if call[1] == "POST"] == [
            ("web-a", "POST", 429),
            ("web-a", "POST", 202),
            ("web-b", "POST", 202),
            ("web-c", "POST", 202),
        ]
        dropped = [call[0] for call in calls if call[2] == 0]
        assert dropped == ["web-c"]
        assert emulator.control("GET", "faults") == []
