"""Scenarios: the health gate, the expected version, verification and the swap back, and swap
with preview, run as the agent runs the task, against the emulator over HTTPS."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from runner.agent import local_agent
from runner.emulator.process import Emulator
from tests.agent import AgentLog, agent_environment, run_task
from tests.conftest import StartEmulator, assert_refused_before_any_change, mutating_calls

APP, GROUP = "contoso-web", "rg-swap-demo"
INPUTS = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}
# Healthy in staging, failing in production: it needs staging's own slot setting.
WORKS_ONLY_IN_STAGING = "needs-setting:SLOT_NAME=staging"
FAST_CHECKS = {
    "HealthCheckPath": "/health",
    "HealthCheckTimeoutInMinutes": "0.05",
    "HealthyAfter": "1",
}


@pytest.fixture
def emulator(start_emulator: StartEmulator) -> Emulator:
    """contoso-web with 0.5 s swaps, its slots' site config naming /health as health check."""
    return start_emulator("--swap-seconds", "0.5", "--health-check-path", "/health")


def run(emulator: Emulator, tmp_path: Path, **inputs: str) -> AgentLog:
    return run_task(agent_environment(emulator.info, {**INPUTS, **inputs}, tmp_path), tmp_path)


def swap_posts(emulator: Emulator) -> list[dict[str, Any]]:
    return [
        r
        for r in emulator.requests()
        if r["method"] == "POST" and str(r["path"]).lower().endswith("/slotsswap")
    ]


def succeeded_swaps(emulator: Emulator) -> int:
    return sum(1 for op in emulator.operations() if op["outcome"] == "Succeeded")


def test_the_gate_stops_a_broken_staging_build_before_any_swap_request(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health="unhealthy")

    log = run(emulator, tmp_path, **FAST_CHECKS)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "NotStarted"
    message = log.errors[0]
    assert "The health gate stopped the swap" in message
    assert "HTTP 500" in message and "Unhealthy" in message
    assert "No swap was sent" in message and "'production' serves version v1" in message
    assert swap_posts(emulator) == [] and emulator.operations() == []
    assert mutating_calls(emulator) == []
    assert emulator.serving(APP, "production") == "v1"


def test_the_gate_uses_the_apps_own_health_check_path(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--health-check-path", "/healthz")
    emulator.deploy(APP, "staging", "v2", health="unhealthy")

    log = run(emulator, tmp_path, HealthCheckTimeoutInMinutes="0.03", HealthyAfter="1")

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    assert "/healthz (the app's healthCheckPath) answers 2xx" in log.stdout
    assert "Unhealthy: the app fails." in log.errors[0]
    assert swap_posts(emulator) == []


def test_without_health_path_or_version_the_log_says_nothing_was_checked(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path)

    assert log.result == "Succeeded", log.text
    assert "No health gate ran" in log.stdout
    assert "Nothing to verify after the swap" in log.stdout
    assert emulator.serving(APP, "production") == "v2"


def test_a_healthy_build_with_the_expected_version_is_swapped_and_verified(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, HealthCheckPath="/health", ExpectedVersion="v2")

    assert log.result == "Succeeded", log.text
    assert log.outputs["SwapOutcome"] == "Swapped"
    assert "Health gate passed after 3 probes" in log.stdout
    assert "Verification passed after 3 probes" in log.stdout
    assert "'production' verified" in log.stdout
    assert emulator.serving(APP, "production") == "v2"


def test_the_wrong_version_in_the_slot_stops_the_swap(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, ExpectedVersion="v3", HealthCheckTimeoutInMinutes="0.03")

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    assert "it serves version v3" in log.stdout
    assert "(expected v3)" in log.stdout
    assert "version v2" in log.errors[0]
    assert swap_posts(emulator) == []
    assert emulator.serving(APP, "production") == "v1"


def test_a_build_broken_only_in_production_is_swapped_back(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health=WORKS_ONLY_IN_STAGING)

    log = run(emulator, tmp_path, **FAST_CHECKS, ExpectedVersion="v2")

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "RolledBack"
    message = log.errors[-1]
    assert "'production' failed verification after the swap" in message
    assert "Swapped back in" in message and "The previous version is live again" in message
    assert "'production' serves version v1" in message
    assert emulator.serving(APP, "production") == "v1"
    assert emulator.serving(APP, "staging") == "v2"
    assert succeeded_swaps(emulator) == 2
    assert "is healthy again" in message
    summary = next(c for c in log.commands if c.name == "task.uploadsummary")
    text = Path(summary.data).read_text(encoding="utf-8")
    assert "RolledBack" in text and "Swap back took |" in text and "verify: production" in text


def test_without_rollback_a_failed_verification_leaves_the_swap_and_fails(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health=WORKS_ONLY_IN_STAGING)

    log = run(emulator, tmp_path, **FAST_CHECKS, RollbackOnFailure="false")

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "VerificationFailed"
    assert "RollbackOnFailure is false" in log.errors[-1]
    assert "'production' serves version v2" in log.errors[-1]
    assert succeeded_swaps(emulator) == 1


def test_preview_start_then_complete(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2")

    started = run(emulator, tmp_path, Action="Start Swap With Preview", HealthCheckPath="/health")

    assert started.result == "Succeeded", started.text
    assert started.outputs["SwapOutcome"] == "PreviewStarted"
    assert "Settings that differ between 'staging' and 'production'" in started.stdout
    assert "app setting SLOT_NAME: slot setting, stays with its slot" in started.stdout
    applied = [c for c in mutating_calls(emulator) if c["path"].endswith("applySlotConfig")]
    assert [c["path"].split("/sites/")[1] for c in applied] == [
        f"{APP}/slots/staging/applySlotConfig"
    ]
    assert emulator.operations() == []
    assert emulator.serving(APP, "production") == "v1"

    completed = run(emulator, tmp_path, Action="Complete Swap", HealthCheckPath="/health")

    assert completed.result == "Succeeded", completed.text
    assert completed.outputs["SwapOutcome"] == "Swapped"
    assert not completed.warnings
    assert emulator.serving(APP, "production") == "v2"
    assert len(emulator.operations()) == 1


def test_a_second_preview_start_is_refused_clearly(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2")
    run(emulator, tmp_path, Action="Start Swap With Preview")
    emulator.control("DELETE", "requests")

    log = run(emulator, tmp_path, Action="Start Swap With Preview")

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "NotStarted"
    assert "already prepared" in log.errors[-1] and "Cancel Swap" in log.errors[-1]
    assert mutating_calls(emulator) == []


def test_preview_cancel_resets_only_the_source_slot(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2")
    run(emulator, tmp_path, Action="Start Swap With Preview")
    emulator.control("DELETE", "requests")

    log = run(emulator, tmp_path, Action="Cancel Swap")

    assert log.result == "Succeeded", log.text
    assert log.outputs["SwapOutcome"] == "PreviewCanceled"
    changed = [c["path"].split("/sites/")[1] for c in mutating_calls(emulator)]
    assert changed == [f"{APP}/slots/staging/resetSlotConfig"]
    assert emulator.operations() == []
    assert emulator.serving(APP, "production") == "v1"


def test_preview_start_catches_a_build_that_fails_with_productions_settings(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health=WORKS_ONLY_IN_STAGING)

    log = run(emulator, tmp_path, Action="Start Swap With Preview", **FAST_CHECKS)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "NotStarted"
    assert "failed the health gate with the settings of 'production'" in log.errors[-1]
    assert "The swap with preview was canceled" in log.errors[-1]
    changed = [c["path"].rsplit("/", 1)[1] for c in mutating_calls(emulator)]
    assert changed == ["applySlotConfig", "resetSlotConfig"]
    assert emulator.serving(APP, "staging") == "v2" and emulator.operations() == []


def start_task(emulator: Emulator, tmp_path: Path, **inputs: str) -> Any:
    env = agent_environment(emulator.info, {**INPUTS, **inputs}, tmp_path)
    return local_agent.start_task(env, tmp_path)


def wait_for_operations(emulator: Emulator, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(emulator.operations()) < count:
        assert time.monotonic() < deadline, "the swap never started"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("kind", "method", "path"),
    [
        ("throttle", "POST", "slotsswap"),
        ("drop", "POST", "slotsswap"),
        ("server-error", "POST", "slotsswap"),
        ("drop", "GET", "operationresults"),
    ],
)
def test_the_swap_back_survives_faults_without_an_extra_swap(
    emulator: Emulator, tmp_path: Path, kind: str, method: str, path: str
) -> None:
    emulator.deploy(APP, "staging", "v2", health=WORKS_ONLY_IN_STAGING)
    task = start_task(emulator, tmp_path, **FAST_CHECKS)
    wait_for_operations(emulator, 1)
    emulator.add_fault(kind, method=method, path=path)

    out, _ = task.communicate(timeout=60)

    log = AgentLog(out, "", task.returncode)
    assert log.outputs["SwapOutcome"] == "RolledBack", log.text
    assert len(emulator.operations()) == 2
    assert succeeded_swaps(emulator) == 2
    assert emulator.serving(APP, "production") == "v1"
    assert "'production' serves version v1" in log.errors[-1]


def test_sigint_during_the_swap_back_says_where_the_app_stands(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health=WORKS_ONLY_IN_STAGING)
    task = start_task(emulator, tmp_path, **FAST_CHECKS)
    wait_for_operations(emulator, 1)
    emulator.add_fault("slow-swap", seconds=30)
    wait_for_operations(emulator, 2)

    started = time.monotonic()
    task.send_signal(signal.SIGINT)
    out, _ = task.communicate(timeout=15)

    assert time.monotonic() - started < 7.5, "must finish before the agent's SIGTERM"
    log = AgentLog(out, "", task.returncode)
    assert log.result == "Canceled", log.text
    assert log.outputs["SwapOutcome"] == "RollbackUnfinished"
    message = log.errors[-1]
    assert "Canceled (SIGINT)" in message
    assert "The swap back was still running in Azure" in message
    assert "'production' serves version v2" in message
    assert len(emulator.operations()) == 2


BAD_CHECKS = [
    ({"HealthCheckPath": "https://contoso.example/health"}, "HealthCheckPath is"),
    ({"HealthCheckTimeoutInMinutes": "soon"}, "HealthCheckTimeoutInMinutes is 'soon'"),
    ({"HealthyAfter": "0"}, "HealthyAfter is '0'"),
    ({"ExpectedVersion": "$(Build.BuildNumbr)"}, "ExpectedVersion is '$(Build.BuildNumbr)'"),
    ({"Action": "Swap With Preview"}, "'Start Swap With Preview'"),
]


@pytest.mark.parametrize(("inputs", "expected"), BAD_CHECKS, ids=[e for _, e in BAD_CHECKS])
def test_bad_check_inputs_fail_before_any_change(
    emulator: Emulator, tmp_path: Path, inputs: dict[str, str], expected: str
) -> None:
    log = run(emulator, tmp_path, **inputs)

    assert_refused_before_any_change(log, emulator, expected)


def test_sigint_during_verification_starts_no_swap_back_and_says_what_is_live(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health=WORKS_ONLY_IN_STAGING)
    task = start_task(emulator, tmp_path, **{**FAST_CHECKS, "HealthCheckTimeoutInMinutes": "1"})
    deadline = time.monotonic() + 30
    while succeeded_swaps(emulator) < 1:
        assert time.monotonic() < deadline, "the swap never ended"
        time.sleep(0.05)
    time.sleep(0.5)  # into the verification's probes

    task.send_signal(signal.SIGINT)
    out, _ = task.communicate(timeout=15)

    log = AgentLog(out, "", task.returncode)
    assert log.result == "Canceled", log.text
    assert log.outputs["SwapOutcome"] == "Unverified"
    assert "no swap back was started" in log.errors[-1]
    assert "'production' serves version v2" in log.errors[-1]
    assert len(emulator.operations()) == 1
