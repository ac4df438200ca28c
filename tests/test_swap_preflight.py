"""Scenarios: the pre-flight, as the agent runs the task. What Azure would refuse minutes into a
swap is refused before any swap request; what may fail Azure's warm-up is said before the swap;
the warm-up settings are in the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.web.models import StringDictionary

from runner.emulator.process import Emulator
from tests.agent import AgentLog, agent_environment, run_task
from tests.conftest import StartEmulator, mutating_calls
from tests.emulator_process import web_client

APP, GROUP = "contoso-web", "rg-swap-demo"
INPUTS = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}


def run(emulator: Emulator, tmp_path: Path, **inputs: str) -> AgentLog:
    return run_task(agent_environment(emulator.info, {**INPUTS, **inputs}, tmp_path), tmp_path)


def swap_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if str(r["path"]).endswith("/slotsswap")]


def set_app_settings(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, slot: str, **values: str
) -> None:
    """As a user would, through azure-mgmt-web (a PUT replaces them all: merge first)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_cert)
    apps = web_client(emulator).web_apps
    current = apps.list_application_settings_slot(GROUP, APP, slot).properties or {}
    properties = {**current, **values}
    apps.update_application_settings_slot(GROUP, APP, slot, StringDictionary(properties=properties))


def test_a_stopped_source_slot_is_refused_before_any_swap_request(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.stop_slot(APP, "staging")

    log = run(emulator, tmp_path)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "NotStarted"
    assert len(log.errors) == 1
    error = log.errors[0]
    assert "The source slot 'staging' of App Service 'contoso-web'" in error and "Stopped" in error
    assert f"az webapp start --name {APP} --resource-group {GROUP} --slot staging" in error
    assert "did not respond to http ping" in error
    assert "Nothing was changed in Azure" in error
    assert swap_requests(emulator) == [] and mutating_calls(emulator) == []
    assert emulator.serving(APP, "production") == "v1"


def test_a_stopped_production_is_refused_and_started_without_a_slot(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.stop_slot(APP, "production")

    log = run(emulator, tmp_path)

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    assert "The target slot 'production'" in log.errors[0]
    assert f"(az webapp start --name {APP} --resource-group {GROUP}, or Start" in log.errors[0]
    assert swap_requests(emulator) == []


def test_a_preview_prepared_for_another_pair_is_refused_with_the_way_out(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--app", f"{APP}@{GROUP}:staging,qa")
    started = run(
        emulator,
        tmp_path,
        Action="Start Swap With Preview",
        SwapWithProduction="false",
        TargetSlot="qa",
    )
    assert started.outputs["SwapOutcome"] == "PreviewStarted", started.text

    log = run(emulator, tmp_path)

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    error = log.errors[0]
    assert "A swap with preview of 'staging' with 'qa' is prepared" in error
    assert "Action: Cancel Swap and SourceSlot: staging" in error
    assert "--action reset" in error
    assert swap_requests(emulator) == []


def test_the_warm_up_settings_are_in_the_plan_and_no_other_setting_value_is(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.deploy(APP, "staging", "v2")
    set_app_settings(
        emulator,
        monkeypatch,
        "staging",
        WEBSITE_SWAP_WARMUP_PING_PATH="/healthz",
        WEBSITE_WARMUP_PATH="/warm",
        DATABASE_PASSWORD="not-for-the-log-7f3a",
    )

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert (
        "Azure warm-up:  pings /healthz, accepts any status "
        "(WEBSITE_SWAP_WARMUP_PING_PATH=/healthz, WEBSITE_WARMUP_PATH=/warm)"
    ) in log.stdout
    assert "not-for-the-log-7f3a" not in log.text  # (its name is among the differences)
    assert [op["warmup_path"] for op in emulator.operations()] == ["/healthz"]


def test_a_source_without_warm_up_settings_says_what_azure_does(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert "Azure warm-up:  pings /, accepts any status (none set)" in log.stdout


WARNINGS = [
    (
        {"autoSwapSlotName": "production"},
        {},
        "Auto swap is on for",
    ),
    (
        {
            "ipSecurityRestrictions": [
                {"ipAddress": "203.0.113.0/24", "action": "Allow", "priority": 100, "name": "HQ"}
            ]
        },
        {},
        "restricts access by IP address and allows none of App Service's own addresses",
    ),
    (
        {},
        {"WEBSITE_SWAP_WARMUP_PING_STATUSES": "200"},
        "is HTTPS only and WEBSITE_SWAP_WARMUP_PING_STATUSES is '200'",
    ),
    (
        {},
        {"WEBSITE_SWAP_WARMUP_PING_PATH": "healthz"},
        "WEBSITE_SWAP_WARMUP_PING_PATH of 'staging' is 'healthz': App Service expects a path",
    ),
    (
        {},
        {"WEBSITE_SWAP_WARMUP_PING_STATUSES": "200;301"},
        "WEBSITE_SWAP_WARMUP_PING_STATUSES of 'staging' is '200;301': App Service expects HTTP",
    ),
]


@pytest.mark.parametrize(
    ("config", "settings", "expected"),
    WARNINGS,
    ids=["auto swap", "ip restrictions", "https", "ping path", "statuses"],
)
def test_what_may_fail_the_warm_up_is_warned_about_before_the_swap(
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, Any],
    settings: dict[str, str],
    expected: str,
) -> None:
    emulator.deploy(APP, "staging", "v2")
    if config:
        emulator.control("POST", "config", {"app": APP, "slot": "staging", "properties": config})
    if settings:
        set_app_settings(emulator, monkeypatch, "staging", **settings)

    log = run(emulator, tmp_path)

    assert log.result == "SucceededWithIssues", log.text
    assert len(log.warnings) == 1 and expected in log.warnings[0], log.warnings
    plan_ends = log.stdout.index(log.warnings[0][:30])
    assert plan_ends < log.stdout.index("Swapping 'staging' into 'production'")
    assert emulator.serving(APP, "production") == "v2"


def test_a_read_only_lock_is_refused_before_any_swap_request(
    emulator: Emulator, tmp_path: Path
) -> None:
    # A ReadOnly lock refuses every write and action: listing app settings, a POST, included.
    emulator.add_fault("scope-locked", count=0, app=APP)

    log = run(emulator, tmp_path)

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    error = log.errors[0]
    assert "Azure refused to read the app settings of" in error
    assert "ScopeLocked: The scope '/subscriptions/" in error
    assert "Fix: Remove the lock for the release" in error
    assert swap_requests(emulator) == []
