"""The task's Azure Monitor request is the one azure-mgmt-monitor sends for the same call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from azure.mgmt.monitor import MonitorManagementClient

from runner.azure import monitor_requests as build
from runner.azure.app_service_requests import slot_path
from runner.request import SlotRef
from tests.emulator_process import Emulator, emulator_for_sdk, secret_credential
from tests.test_app_service_requests import Recorder, our_pipeline, transport

GROUP, APP = "rg-swap-demo", "contoso-web"
END = datetime(2026, 11, 29, 12, 30, tzinfo=timezone.utc)
START = END - timedelta(minutes=10)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with emulator_for_sdk(tmp_path_factory.mktemp("emulator"), "--app", f"{APP}@{GROUP}") as e:
        yield e


@pytest.mark.parametrize("slot", ["production", "staging"])
def test_metrics_request_is_the_one_azure_mgmt_monitor_sends(slot: str, emulator: Emulator) -> None:
    reference, ours = Recorder(), Recorder()
    ref = SlotRef(emulator.subscription_id, GROUP, APP, slot)
    resource_id = slot_path(ref)
    client = MonitorManagementClient(
        secret_credential(emulator),
        emulator.subscription_id,
        base_url=emulator.url,
        credential_scopes=[emulator.arm_scope],
        transport=transport(reference),
    )
    client.metrics.list(
        resource_id,
        timespan=f"{build.iso(START)}/{build.iso(END)}",
        interval="PT1M",
        metricnames="Requests,Http5xx",
        aggregation="Total",
    )
    pipeline = our_pipeline(emulator, ours)
    request = build.slot_metrics(ref, ("Requests", "Http5xx"), START, END, "Total")
    answer = pipeline.send_json("reading metrics", request)

    assert ours.sent == reference.sent
    assert ours.sent[0].query["api-version"] == [build.API_VERSION]
    assert [m["name"]["value"] for m in answer["value"]] == ["Requests", "Http5xx"]
