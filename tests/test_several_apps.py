"""Scenarios: several apps swapped all or nothing (AdditionalWebApps), run as the agent runs the
task, against the emulator over HTTPS, with faults scoped to one app."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from runner.agent import local_agent
from runner.emulator.process import Emulator
from tests.agent import AgentLog, agent_environment, run_task
from tests.conftest import (
    StartEmulator,
    assert_refused_before_any_change,
    mutating_calls,
    reads_before_the_swaps,
)

APPS = ("web-weu", "web-eus", "web-sea")
GROUP = "rg-swap-demo"
INPUTS = {
    "WebAppName": APPS[0],
    "SourceSlot": "staging",
    "AdditionalWebApps": f"{APPS[1]}\n{GROUP}/{APPS[2]}",
}
FAST_CHECKS = {
    "HealthCheckPath": "/health",
    "HealthCheckTimeoutInMinutes": "0.05",
    "HealthyAfter": "1",
}
WORKS_ONLY_IN_STAGING = "needs-setting:SLOT_NAME=staging"


@pytest.fixture
def emulator(start_emulator: StartEmulator) -> Emulator:
    """Three apps with production and staging, 0.5 s swaps; v2 healthy in every staging slot."""
    seeded = [arg for app in APPS for arg in ("--app", f"{app}:staging")]
    emulator = start_emulator("--swap-seconds", "0.5", *seeded)
    for app in APPS:
        emulator.deploy(app, "staging", "v2")
    return emulator


def run(emulator: Emulator, tmp_path: Path, **inputs: str) -> AgentLog:
    return run_task(agent_environment(emulator.info, {**INPUTS, **inputs}, tmp_path), tmp_path)


def start(emulator: Emulator, tmp_path: Path, **inputs: str) -> Any:
    env = agent_environment(emulator.info, {**INPUTS, **inputs}, tmp_path)
    return local_agent.start_task(env, tmp_path)


def swap_posts(emulator: Emulator) -> list[dict[str, Any]]:
    return [
        r
        for r in emulator.requests()
        if r["method"] == "POST" and str(r["path"]).lower().endswith("/slotsswap")
    ]


def swaps_of(emulator: Emulator, app: str) -> int:
    """Swaps Azure completed on the app."""
    return sum(
        1 for op in emulator.operations() if op["app"] == app and op["outcome"] == "Succeeded"
    )


def serving(emulator: Emulator) -> dict[str, str]:
    return {app: emulator.serving(app, "production") for app in APPS}


def final_line(log: AgentLog) -> str:
    return [c for c in log.commands if c.name == "task.complete"][-1].data


def app_outcomes(log: AgentLog) -> dict[str, str]:
    """Each app's SwapOutcome, as the final line says it ("'web-eus' RolledBack: ...")."""
    return dict(re.findall(r"'([\w-]+)' (\w+): 'production' serves", final_line(log)))


def summary(log: AgentLog) -> str:
    command = next(c for c in log.commands if c.name == "task.uploadsummary")
    return Path(command.data).read_text(encoding="utf-8")


def test_three_apps_are_swapped_together_and_verified(emulator: Emulator, tmp_path: Path) -> None:
    # As the stage template lists them: every app, the main one too, separated by commas.
    listed = ", ".join(APPS)

    log = run(emulator, tmp_path, **FAST_CHECKS, ExpectedVersion="v2", AdditionalWebApps=listed)

    assert log.result == "Succeeded", log.text
    assert log.outputs["SwapOutcome"] == "Swapped"
    assert log.outputs["ProductionUrl"] == emulator.slot_url(APPS[0], "production")
    assert serving(emulator) == {app: "v2" for app in APPS}
    assert app_outcomes(log) == {app: "Swapped" for app in APPS}
    for app in APPS:
        assert f"'{app}' Swapped: 'production' serves version v2" in final_line(log)
        assert f"[{app}] Health gate passed" in log.stdout
        assert f"[{app}] Verification passed" in log.stdout
    # In parallel: every swap was accepted before the first one ended.
    operations = emulator.operations()
    assert len(operations) == 3
    assert max(op["accepted_at"] for op in operations) < min(op["finished_at"] for op in operations)
    text = summary(log)
    assert [text.count(f"### Swap Slots: `{app}` — Swapped") for app in APPS] == [1, 1, 1]


def test_every_apps_reads_before_the_swaps_go_to_azure_in_one_round_trip(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    # Each ARM answer takes 1 s: the three apps' slots, differences, health paths, routing
    # rules and warm-up settings are all asked for before the first answer is back.
    seeded = [arg for app in APPS for arg in ("--app", f"{app}:staging")]
    emulator = start_emulator("--swap-seconds", "0.3", "--arm-latency", "1", *seeded)
    others = f"{GROUP}/{APPS[1]}\n{GROUP}/{APPS[2]}"

    log = run(emulator, tmp_path, ResourceGroupName=GROUP, AdditionalWebApps=others)

    assert log.outputs["SwapOutcome"] == "Swapped", log.text
    reads = [r["time"] for r in reads_before_the_swaps(emulator)]
    assert len(reads) == 3 * 7, reads  # site, slot, slotsdiffs, three site configs, settings
    assert reads[-1] - reads[0] < 0.9, reads


def test_one_apps_gate_failing_stops_every_swap(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APPS[1], "staging", "v2", health="unhealthy")

    log = run(emulator, tmp_path, **FAST_CHECKS)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "NotStarted"
    assert swap_posts(emulator) == [] and emulator.operations() == []
    assert mutating_calls(emulator) == []
    message = log.errors[-1]
    assert f"the health gate of '{APPS[1]}' failed" in message
    assert "no swap was sent to any app" in message
    assert serving(emulator) == {app: "v1" for app in APPS}
    assert app_outcomes(log) == {app: "NotStarted" for app in APPS}


def test_one_apps_swap_failing_swaps_the_others_back(emulator: Emulator, tmp_path: Path) -> None:
    emulator.add_fault("swap-fails", app=APPS[1])

    log = run(emulator, tmp_path, **FAST_CHECKS)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "RolledBack"
    assert serving(emulator) == {app: "v1" for app in APPS}
    assert [swaps_of(emulator, app) for app in APPS] == [2, 0, 2]
    message = log.errors[-1]
    assert f"the swap of '{APPS[1]}' did not happen as asked (Failed)" in message
    assert "every app that was swapped was swapped back" in message
    assert app_outcomes(log) == {APPS[0]: "RolledBack", APPS[1]: "Failed", APPS[2]: "RolledBack"}
    assert "Azure did not swap 'staging' into 'production'" in summary(log)


def test_one_app_unhealthy_in_production_swaps_every_app_back(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APPS[2], "staging", "v2", health=WORKS_ONLY_IN_STAGING)

    log = run(emulator, tmp_path, **FAST_CHECKS)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "RolledBack"
    assert serving(emulator) == {app: "v1" for app in APPS}
    assert [swaps_of(emulator, app) for app in APPS] == [2, 2, 2]
    assert f"'{APPS[2]}' failed verification" in log.errors[-1]
    assert app_outcomes(log) == {app: "RolledBack" for app in APPS}
    text = summary(log)
    assert "'production' failed verification after the swap" in text
    assert f"Swapped back because '{APPS[2]}' failed verification" in text
    assert len(re.findall(r"\| Swap back took \| \d", text)) == 3


def test_without_rollback_the_apps_stay_as_they_are_and_the_step_fails(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.add_fault("swap-fails", app=APPS[0])

    log = run(emulator, tmp_path, **FAST_CHECKS, RollbackOnFailure="false")

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "PartlySwapped"
    assert serving(emulator) == {APPS[0]: "v1", APPS[1]: "v2", APPS[2]: "v2"}
    assert "RollbackOnFailure is false" in log.stdout


def test_sigint_during_the_swaps_back_says_where_each_app_stands(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APPS[1], "staging", "v2", health=WORKS_ONLY_IN_STAGING)
    task = start(emulator, tmp_path, **{**FAST_CHECKS, "HealthCheckTimeoutInMinutes": "0.03"})
    _wait_for_operations(emulator, 3)
    emulator.add_fault("slow-swap", count=3, seconds=30)
    _wait_for_operations(emulator, 6)

    started = time.monotonic()
    task.send_signal(signal.SIGINT)
    out, _ = task.communicate(timeout=15)

    assert time.monotonic() - started < 7.5, "must finish before the agent's SIGTERM"
    log = AgentLog(out, "", task.returncode)
    assert log.result == "Canceled", log.text
    assert log.outputs["SwapOutcome"] == "RollbackUnfinished"
    assert app_outcomes(log) == {app: "RollbackUnfinished" for app in APPS}
    for app in APPS:
        assert f"'{app}' RollbackUnfinished: 'production' serves version v2" in final_line(log)
    assert len(emulator.operations()) == 6


def test_sigint_during_the_swaps_watches_them_end_and_starts_no_swap_back(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.add_fault("slow-swap", count=1, seconds=30, app=APPS[2])
    task = start(emulator, tmp_path, **FAST_CHECKS)
    _wait_for_operations(emulator, 3)

    task.send_signal(signal.SIGINT)
    out, _ = task.communicate(timeout=15)

    log = AgentLog(out, "", task.returncode)
    assert log.result == "Canceled", log.text
    assert log.outputs["SwapOutcome"] == "Unfinished"
    assert app_outcomes(log) == {
        APPS[0]: "Unverified",
        APPS[1]: "Unverified",
        APPS[2]: "Unfinished",
    }
    assert len(emulator.operations()) == 3  # no swap back
    assert f"'{APPS[2]}' Unfinished: 'production' serves version v1" in final_line(log)


BAD_LISTS = [
    ({"AdditionalWebApps": f"{APPS[1]}\nweb-nowhere"}, "AdditionalWebApps line 2 ('web-nowhere')"),
    ({"AdditionalWebApps": f"{APPS[1]}\n\nrg-nowhere/{APPS[2]}"}, "line 3 ('rg-nowhere/"),
    ({"AdditionalWebApps": "a/b/c"}, "AdditionalWebApps line 1 ('a/b/c') is not an app"),
    ({"AdditionalWebApps": f"{APPS[1]}\n{APPS[1]}"}, "line 2 ('web-eus') names 'web-eus' twice"),
    ({"AdditionalWebApps": f"{APPS[1]}, {GROUP}/{APPS[1]}"}, "which AdditionalWebApps line 1"),
    ({"TrafficSteps": "10"}, "AdditionalWebApps cannot be combined with TrafficSteps"),
    ({"BakeMinutes": "2"}, "AdditionalWebApps cannot be combined with BakeMinutes"),
    ({"Action": "Start Swap With Preview"}, "not 'Start Swap With Preview'"),
]


@pytest.mark.parametrize(("inputs", "expected"), BAD_LISTS, ids=[e for _, e in BAD_LISTS])
def test_a_bad_app_list_is_refused_before_any_change(
    emulator: Emulator, tmp_path: Path, inputs: dict[str, str], expected: str
) -> None:
    log = run(emulator, tmp_path, **inputs)

    assert_refused_before_any_change(log, emulator, expected)
    assert serving(emulator) == {app: "v1" for app in APPS}


def _wait_for_operations(emulator: Emulator, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(emulator.operations()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} swaps started"
        time.sleep(0.05)
