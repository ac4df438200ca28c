"""Scenario (opt-in): Microsoft's own AzureAppServiceManage@0, built from its source, run exactly
as the agent runs a step of it, swaps slots on the emulator.

Skipped unless SWAP_SLOTS_MS_TASK_DIR names a built task folder (one holding its task.json, the
compiled execution target and node_modules). The task is not published on npm: build
`Tasks/AzureAppServiceManageV0` of microsoft/azure-pipelines-tasks yourself, outside this
repository, the way that repository documents (npm and tsc; its package.json asks for an
azure-pipelines-tasks-azure-arm-rest newer than the newest public one, 3.272.1). Nothing of it,
code or build script, is kept here. Then:

    SWAP_SLOTS_MS_TASK_DIR=<the built task folder> .venv/bin/pytest tests/test_emulator_ms_task.py

Each step runs `node <taskdir>/<Node20_1 target of its task.json>` with: INPUT_* for every input
of the task's own task.json (its default, then the step's value), the ENDPOINT_* variables the
agent sets for an AzureRM service connection and nothing else of it, the SYSTEM_*/AGENT_*/BUILD_*
variables of a build job, cwd the work folder, stdin closed, and the emulator's CA trusted the
way a machine trusts a company CA (NODE_EXTRA_CA_CERTS). `node` is the one on PATH (the agent
bundles Node 20); SWAP_SLOTS_NODE overrides it.

The connection's `environment` is `AzureCloud`, as for nearly every real connection (the
default of the "Azure Resource Manager" connection dialog), with the emulator standing where
Azure is: its URL is the connection's ARM URL and authority. azure-arm-rest then signs in the
ADAL way (v1 endpoint `{authority}{tenant}/oauth2/token/`) for the audience *the ARM URL
itself* (outside Azure Stack it ignores `activeDirectoryServiceEndpointResourceId`), and uses
the public-cloud api-versions. `AzureStack` (the only environment whose ARM URL a user types in
the dialog) would instead read `metadata/endpoints` and use older api-versions; it is run once too.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from runner.agent.local_agent import AgentLog
from tests.emulator_process import Emulator, start_emulator
from tests.ms_task_agent import MsTask, run_step

TASK_DIR = os.environ.get("SWAP_SLOTS_MS_TASK_DIR", "")
pytestmark = pytest.mark.skipif(
    not TASK_DIR,
    reason="set SWAP_SLOTS_MS_TASK_DIR to a built AzureAppServiceManageV0 folder "
    "(see this module's docstring) to run Microsoft's task against the emulator",
)

APP, GROUP = "contoso-web", "rg-swap-demo"


@pytest.fixture(scope="module")
def task() -> MsTask:
    return MsTask(Path(TASK_DIR).resolve())


@pytest.fixture(scope="module")
def node() -> str:
    found = os.environ.get("SWAP_SLOTS_NODE") or shutil.which("node")
    if not found:
        pytest.fail("SWAP_SLOTS_MS_TASK_DIR is set but there is no node on PATH")
    return found


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(
        tmp_path / "emulator", "--swap-seconds", "1", "--app", f"{APP}:staging,qa"
    ) as running:
        yield running


def succeeded(log: AgentLog) -> bool:
    """As the agent judges the step: exit code 0 and no task.complete other than Succeeded."""
    return log.exit_code == 0 and set(log.results) <= {"Succeeded"}


def swap_slots(source: str, target: str = "production") -> dict[str, str]:
    step = {"Action": "Swap Slots", "WebAppName": APP, "ResourceGroupName": GROUP}
    step["SourceSlot"] = source
    if target != "production":
        step.update(SwapWithProduction="false", TargetSlot=target)
    return step


def calls(emulator: Emulator) -> list[tuple[str, str, str, int]]:
    """(method, path, api-version, status) of each request to the main server."""
    return [
        (entry["method"], entry["path"], entry["query"].get("api-version", ""), entry["status"])
        for entry in emulator.requests()
        if entry["server"] == "main" and not entry["path"].startswith("/_emulator/")
    ]


def kudu_log(emulator: Emulator, slot: str) -> list[dict[str, Any]]:
    """What Kudu's deployment log of a slot holds, newest first."""
    user = f"${APP}" if slot == "production" else f"${APP}__{slot}"
    response = requests.get(
        f"{emulator.url}_kudu/{GROUP}/{APP}/{slot}/api/deployments",
        auth=(user, f"emulator-publishing-{APP}-{slot}"),
        verify=emulator.ca_cert,
        timeout=5,
    )
    response.raise_for_status()
    entries: list[dict[str, Any]] = response.json()
    return entries


def site(emulator: Emulator, slot: Optional[str] = None) -> str:
    path = f"/subscriptions/{emulator.subscription_id}/resourceGroups/{GROUP}"
    path += f"/providers/Microsoft.Web/sites/{APP}"
    return path if slot is None else f"{path}/slots/{slot}"


def slot_state(emulator: Emulator, slot: str) -> dict[str, Any]:
    (app,) = [a for a in emulator.state()["apps"] if a["name"] == APP]
    state: dict[str, Any] = app["slots"][slot]
    return state


def prepared(emulator: Emulator) -> Optional[dict[str, Any]]:
    (app,) = [a for a in emulator.state()["apps"] if a["name"] == APP]
    found: Optional[dict[str, Any]] = app["prepared"]
    return found


@pytest.mark.parametrize("scheme", ["secret", "certificate"])
def test_swap_slots_swaps_staging_into_production(
    task: MsTask, node: str, emulator: Emulator, tmp_path: Path, scheme: str
) -> None:
    if scheme == "certificate" and shutil.which("openssl") is None:
        pytest.skip("off Windows the task runs the machine's openssl for the thumbprint")
    emulator.deploy(APP, "staging", "v2")

    log = run_step(task, node, emulator.info, tmp_path / "agent", swap_slots("staging"), scheme)

    assert succeeded(log), log.text
    assert f"Swapped App Service '{APP}' slots - 'staging' and 'production'" in log.stdout
    assert emulator.serving(APP, "production") == "v2"
    assert emulator.serving(APP, "staging") == "v1"
    assert emulator.serving(APP, "qa") == "v1"

    made = calls(emulator)
    # ADAL-style sign-in for the ARM URL itself, on the v1 endpoint, trailing slash included.
    assert ("POST", f"/{emulator.tenant_id}/oauth2/token/", "", 200) in made
    assert (
        "POST",
        f"{site(emulator)}/config/publishingcredentials/list",
        "2016-08-01",
        200,
    ) in made
    policy = f"{site(emulator)}/basicPublishingCredentialsPolicies/scm"
    assert ("GET", policy, "2022-03-01", 200) in made
    assert ("GET", f"{site(emulator)}/", "2016-08-01", 200) in made
    swaps = [call for call in made if call[1].endswith("/slotsswap")]
    assert swaps == [("POST", f"{site(emulator, 'staging')}/slotsswap", "2016-08-01", 202)]
    polls = [call[3] for call in made if "/operationresults/" in call[1]]
    assert polls[-1] == 200 and set(polls[:-1]) <= {202}, polls
    # It sleeps the emulator's `Retry-After: 1` between polls (15 s when there is none).
    poll_times = [e["time"] for e in emulator.requests() if "/operationresults/" in e["path"]]
    gaps = [later - earlier for earlier, later in zip(poll_times, poll_times[1:])]
    assert all(0.9 <= gap < 5 for gap in gaps), gaps
    assert not [call for call in made if call[3] == 401], made
    assert not any("discovery/instance" in call[1] for call in made)
    # "Warm-up": one GET of each slot's own site.
    warmed = {entry["server"] for entry in emulator.requests() if entry["server"] != "main"}
    assert {f"{APP}/production", f"{APP}/staging"} <= warmed

    staging_records, production_records = (
        kudu_log(emulator, "staging"),
        kudu_log(emulator, "production"),
    )
    assert [record["status"] for record in staging_records + production_records] == [4, 4]
    assert staging_records[0]["id"] == production_records[0]["id"]
    assert json.loads(staging_records[0]["message"])["type"] == "SlotSwap"
    (operation,) = emulator.operations()
    assert (operation["source"], operation["target"], operation["outcome"]) == (
        "staging",
        "production",
        "Succeeded",
    )


def test_swap_slots_on_an_azure_stack_connection(
    task: MsTask, node: str, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")

    log = run_step(
        task,
        node,
        emulator.info,
        tmp_path / "agent",
        swap_slots("staging"),
        environment="AzureStack",
    )

    assert succeeded(log), log.text
    assert emulator.serving(APP, "production") == "v2"
    made = calls(emulator)
    # Azure Stack: the cloud's endpoints come from ARM's metadata, and api-versions are older.
    assert ("GET", "/metadata/endpoints", "2015-01-01", 200) in made
    assert (
        "GET",
        f"{site(emulator)}/basicPublishingCredentialsPolicies/scm",
        "2020-12-01",
        200,
    ) in made


def test_swap_slots_swaps_two_slots(
    task: MsTask, node: str, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.deploy(APP, "qa", "v3")

    log = run_step(task, node, emulator.info, tmp_path / "agent", swap_slots("staging", "qa"))

    assert succeeded(log), log.text
    assert f"Swapped App Service '{APP}' slots - 'staging' and 'qa'" in log.stdout
    assert emulator.serving(APP, "qa") == "v2"
    assert emulator.serving(APP, "staging") == "v3"
    assert emulator.serving(APP, "production") == "v1"
    # Sticky settings stayed with their slots.
    assert slot_state(emulator, "qa")["app_settings"]["SLOT_NAME"] == "qa"
    assert slot_state(emulator, "staging")["app_settings"]["SLOT_NAME"] == "staging"
    assert [record["status"] for record in kudu_log(emulator, "qa")] == [4]


def test_swap_slots_fails_the_step_when_the_swap_fails(
    task: MsTask, node: str, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.add_fault("swap-fails")

    log = run_step(task, node, emulator.info, tmp_path / "agent", swap_slots("staging"))

    assert log.results == ["Failed"], log.text
    (complete,) = [command for command in log.commands if command.name == "task.complete"]
    assert "worker process in the 'staging' slot could not be started" in complete.data, log.text
    assert emulator.serving(APP, "production") == "v1"
    assert [record["status"] for record in kudu_log(emulator, "production")] == [3]


def test_swap_with_preview_then_complete(
    task: MsTask, node: str, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    # As YAML written for it reads: the resource group is found from the app's name.
    preview = {"WebAppName": APP, "SourceSlot": "staging"}

    started = run_step(
        task,
        node,
        emulator.info,
        tmp_path / "start",
        {"Action": "Start Swap With Preview", **preview},
    )

    assert succeeded(started), started.text
    made = calls(emulator)
    lookup = [c for c in made if c[1] == f"/subscriptions/{emulator.subscription_id}/resources"]
    assert lookup == [("GET", lookup[0][1], "2016-07-01", 200)], made
    assert ("POST", f"{site(emulator, 'staging')}/applySlotConfig", "2016-08-01", 200) in made
    # Phase 1: staging runs with production's sticky settings; nothing is swapped yet.
    assert prepared(emulator) is not None
    assert slot_state(emulator, "staging")["app_settings"]["SLOT_NAME"] == "production"
    assert emulator.serving(APP, "production") == "v1"
    assert emulator.serving(APP, "staging") == "v2"

    completed = run_step(
        task, node, emulator.info, tmp_path / "complete", {"Action": "Complete Swap", **preview}
    )

    assert succeeded(completed), completed.text
    assert emulator.serving(APP, "production") == "v2"
    assert emulator.serving(APP, "staging") == "v1"
    assert prepared(emulator) is None
    assert slot_state(emulator, "staging")["app_settings"]["SLOT_NAME"] == "staging"
    assert slot_state(emulator, "production")["app_settings"]["SLOT_NAME"] == "production"
    assert [operation["outcome"] for operation in emulator.operations()] == ["Succeeded"]


def test_swap_with_preview_then_cancel(
    task: MsTask, node: str, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    started = run_step(
        task,
        node,
        emulator.info,
        tmp_path / "start",
        {"Action": "Start Swap With Preview", "WebAppName": APP, "SourceSlot": "staging"},
    )
    assert succeeded(started), started.text
    assert prepared(emulator) is not None

    # Cancel Swap names the slot whose preview it resets, and the resource group.
    cancelled = run_step(
        task,
        node,
        emulator.info,
        tmp_path / "cancel",
        {"Action": "Cancel Swap", "WebAppName": APP, "ResourceGroupName": GROUP, "Slot": "staging"},
    )

    assert succeeded(cancelled), cancelled.text
    assert ("POST", f"{site(emulator, 'staging')}/resetSlotConfig", "2016-08-01", 200) in calls(
        emulator
    )
    assert prepared(emulator) is None
    assert slot_state(emulator, "staging")["app_settings"]["SLOT_NAME"] == "staging"
    assert emulator.serving(APP, "production") == "v1"
    assert emulator.serving(APP, "staging") == "v2"
    assert emulator.operations() == []


def test_swap_slots_reports_success_for_a_version_that_fails_in_production(
    task: MsTask, node: str, emulator: Emulator, tmp_path: Path
) -> None:
    """What Swap Slots' health gate is for: Microsoft's task has none, and never rolls back."""
    emulator.control("POST", "config", {"app": APP, "properties": {"healthCheckPath": "/healthz"}})
    # v2 needs a slot setting only staging has: healthy there, failing once in production.
    emulator.deploy(APP, "staging", "v2", health="needs-setting:SLOT_NAME=staging")

    log = run_step(task, node, emulator.info, tmp_path / "agent", swap_slots("staging"))

    assert succeeded(log), log.text
    health = requests.get(
        emulator.slot_url(APP, "production") + "healthz", verify=emulator.ca_cert, timeout=5
    )
    assert (health.status_code, health.headers["X-App-Version"]) == (500, "v2")
    assert "SLOT_NAME" in health.text
