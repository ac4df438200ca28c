"""Scenarios: Azure's bad days. Retries never start a second swap; failures say what is live."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from runner.agent import local_agent
from runner.emulator.process import Emulator
from tests.agent import AgentLog, agent_environment, run_task
from tests.conftest import StartEmulator

APP, GROUP = "contoso-web", "rg-swap-demo"
INPUTS = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}


def swaps(emulator: Emulator) -> list[dict[str, Any]]:
    return emulator.operations()


def run(emulator: Emulator, tmp_path: Path, **inputs: str) -> AgentLog:
    return run_task(agent_environment(emulator.info, {**INPUTS, **inputs}, tmp_path), tmp_path)


@pytest.mark.parametrize("kind", ["throttle", "server-error", "unavailable", "drop"])
def test_a_failed_swap_request_is_resent_without_a_second_swap(
    emulator: Emulator, tmp_path: Path, kind: str
) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.add_fault(kind, method="POST", path="slotsswap")

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert len(swaps(emulator)) == 1
    assert emulator.serving(APP, "production") == "v2"
    assert emulator.serving(APP, "staging") == "v1"


@pytest.mark.parametrize("kind", ["throttle", "server-error", "drop"])
def test_status_checks_survive_transient_faults(
    emulator: Emulator, tmp_path: Path, kind: str
) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.add_fault(kind, method="GET", path="operationresults", count=2)

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert len(swaps(emulator)) == 1
    assert emulator.serving(APP, "production") == "v2"


def test_an_expired_token_is_renewed_once(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.add_fault("expired-token")

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert emulator.serving(APP, "production") == "v2"


def test_conflict_with_another_operation_waits_then_swaps(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.add_fault("conflict")

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert "Another operation is running" in log.stdout
    assert emulator.serving(APP, "production") == "v2"


def test_a_swap_azure_fails_reports_azure_message_and_keeps_production(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.add_fault("swap-fails")

    log = run(emulator, tmp_path)

    assert log.result == "Failed"
    assert log.outputs["SwapOutcome"] == "Failed"
    assert "Azure did not swap 'staging' into 'production'" in log.errors[0]
    assert "'production' serves version v1" in log.errors[0]
    assert emulator.serving(APP, "production") == "v1"
    assert emulator.serving(APP, "staging") == "v2"


def test_a_version_that_does_not_start_fails_warm_up_like_azure(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health="broken")

    log = run(emulator, tmp_path)

    assert log.result == "Failed"
    assert "did not respond to http ping" in log.errors[0]
    assert emulator.serving(APP, "production") == "v1"


def test_without_retry_after_the_swap_is_still_followed(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "1.5", "--retry-after", "none")
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert emulator.serving(APP, "production") == "v2"


def test_timeout_says_the_swap_is_still_running_and_what_production_serves(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "20")
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, SwapTimeoutInMinutes="0.05")

    assert log.result == "Failed"
    assert log.outputs["SwapOutcome"] == "Unfinished"
    message = log.errors[0]
    assert "Timed out after 3 s while Azure was still swapping" in message
    assert "'production' serves version v1" in message
    assert "Do not start another swap" in message
    assert len(swaps(emulator)) == 1


def start_task(emulator: Emulator, tmp_path: Path) -> subprocess.Popen[str]:
    return local_agent.start_task(agent_environment(emulator.info, INPUTS, tmp_path), tmp_path)


def wait_for_swap_to_start(emulator: Emulator) -> None:
    deadline = time.monotonic() + 20
    while not swaps(emulator):
        assert time.monotonic() < deadline, "the task never sent the swap"
        time.sleep(0.05)


def stop_mid_swap(
    start_emulator: StartEmulator, tmp_path: Path, sent: int
) -> tuple[AgentLog, float]:
    """Starts a 30 s swap, sends `sent` to the task as the agent would; returns log and delay."""
    emulator = start_emulator("--swap-seconds", "30")
    emulator.deploy(APP, "staging", "v2")
    task = start_task(emulator, tmp_path)
    wait_for_swap_to_start(emulator)

    started = time.monotonic()
    task.send_signal(sent)
    out, _ = task.communicate(timeout=15)
    log = AgentLog(out, "", task.returncode)
    assert len(swaps(emulator)) == 1
    assert log.result == "Canceled", log.text
    assert log.outputs["SwapOutcome"] == "Unfinished"
    assert "'production' serves version v1" in log.errors[0]
    return log, time.monotonic() - started


def test_sigint_mid_swap_stops_promptly_and_says_what_is_live(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    log, stopped_after = stop_mid_swap(start_emulator, tmp_path, signal.SIGINT)

    assert stopped_after < 7.5, "must finish before the agent's SIGTERM"
    assert "Canceled (SIGINT)" in log.errors[0]


def test_sigterm_mid_swap_stops_at_once_and_says_what_is_live(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    log, stopped_after = stop_mid_swap(start_emulator, tmp_path, signal.SIGTERM)

    assert stopped_after < 2.5, "must finish before the agent's kill"
    assert "Stopped (SIGTERM)" in log.errors[0]


def test_sigint_before_the_swap_changes_nothing(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator()
    # Hold the task at its first Azure request, so the signal lands before any swap.
    emulator.add_fault("throttle", count=0, path="slotsswap")
    task = start_task(emulator, tmp_path)
    deadline = time.monotonic() + 20
    while not any("slotsswap" in r["path"] for r in emulator.requests()):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    task.send_signal(signal.SIGINT)
    out, _ = task.communicate(timeout=15)

    log = AgentLog(out, "", task.returncode)
    assert log.result == "Canceled", log.text
    assert log.outputs["SwapOutcome"] == "Canceled"
    assert swaps(emulator) == []
    assert emulator.serving(APP, "production") == "v1"


def test_an_unhealthy_version_is_swapped_and_the_log_shows_its_errors(
    emulator: Emulator, tmp_path: Path
) -> None:
    # Azure's warm-up accepts any HTTP status, so it swaps; the log must show what went live.
    emulator.deploy(APP, "staging", "v2", health="unhealthy")

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert "After the swap: 'production'" in log.stdout
    assert "serves version v2 (HTTP 500)" in log.stdout
