"""Scenarios: the canary before a swap into production (TrafficSteps), run as the agent runs the
task, against the emulator with user traffic, compressed metrics minutes and short steps."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from runner.agent import local_agent
from runner.emulator.process import Emulator
from tests.agent import AgentLog, agent_environment, read_until, run_task
from tests.conftest import StartEmulator, assert_refused_before_any_change

APP, GROUP = "contoso-web", "rg-swap-demo"
CANARY = {
    "WebAppName": APP,
    "ResourceGroupName": GROUP,
    "SourceSlot": "staging",
    "HealthCheckPath": "/health",
    "HealthCheckTimeoutInMinutes": "0.05",
    "HealthyAfter": "1",
    "TrafficSteps": "10,50",
    "TrafficStepMinutes": "0.04",
    "MinRequests": "5",
}


@pytest.fixture
def emulator(start_emulator: StartEmulator) -> Emulator:
    """Metrics minutes of 0.25 s, published one minute late; swaps of 0.3 s."""
    return start_emulator(
        "--swap-seconds", "0.3", "--metrics-minute-seconds", "0.25", "--seed", "7"
    )


def user_traffic(emulator: Emulator, rate: int = 150, seconds: int = 30) -> None:
    emulator.control("POST", "traffic", {"app": APP, "rate": rate, "seconds": seconds})


def rules(emulator: Emulator) -> list[dict[str, Any]]:
    config = emulator.control(
        "POST", "config", {"app": APP, "slot": "production", "properties": {}}
    )
    return list((config["production"].get("experiments") or {}).get("rampUpRules") or [])


def summary_rows(tmp_path: Path) -> dict[str, list[str]]:
    """The summary's evidence rows (a canary step's, the bake's), by their Watched cell: each
    row's cells."""
    summary = "".join(p.read_text() for p in tmp_path.rglob("swap-slots-*.md"))
    cells = [[c.strip() for c in row.strip("|").split(" | ")] for row in summary.splitlines()]
    return {row[0]: row for row in cells if len(row) == 7 and row[0].endswith("`")}


def run(emulator: Emulator, tmp_path: Path, **inputs: str) -> AgentLog:
    return run_task(agent_environment(emulator.info, {**CANARY, **inputs}, tmp_path), tmp_path)


def test_a_good_version_passes_10_then_50_percent_and_is_swapped_in(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    user_traffic(emulator)

    log = run(emulator, tmp_path, BakeMinutes="0.03")

    assert log.result == "Succeeded", log.text
    assert log.outputs["SwapOutcome"] == "Swapped"
    assert "Step at 10 %: passed: 'staging': 5xx 0.0 % of" in log.stdout
    assert "Step at 50 %: passed: 'staging': 5xx 0.0 % of" in log.stdout
    assert "the slot was not shown worse than production" in log.stdout
    assert "Canary passed at 10 %, 50 %." in log.stdout
    assert "Bake passed: production: 5xx 0.0 % of" in log.stdout
    assert "the old version: 5xx 0.0 % of" in log.stdout
    assert rules(emulator) == []
    assert emulator.serving(APP, "production") == "v2"
    rows = summary_rows(tmp_path)
    assert list(rows) == ["10 % to `staging`", "50 % to `staging`", "bake: `production`"], rows
    assert all(row[-1] == "passed" for row in rows.values()), rows


def test_a_version_failing_20_percent_passes_the_gate_and_is_stopped_at_10_percent(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health="flaky:20")
    user_traffic(emulator)

    log = run(emulator, tmp_path)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "CanaryFailed"
    assert "Health gate passed" in log.stdout
    message = log.errors[-1]
    assert "The canary stopped the swap: the step at 10 % failed (" in message, message
    assert "5xx on 'staging' more than 1 point above production's (confidence" in message
    assert "production 5xx 0.0 % of" in message
    assert "Step at 10 %: failed after" in log.warnings[-1]
    assert "Routing rule removed" in log.stdout
    assert "Step at 50 %" not in log.stdout
    assert rules(emulator) == []
    assert emulator.serving(APP, "production") == "v1"
    assert emulator.operations() == []


# Too little traffic (no user traffic at all; MinRequests 50), in a canary step and in the bake.
TOO_LITTLE = {
    "canary, fail": ({"InsufficientTraffic": "fail"}, "CanaryFailed"),
    "canary and bake, continue": (
        {"InsufficientTraffic": "continue", "BakeMinutes": "0.02"},
        "Swapped",
    ),
    "bake, fail: swapped back": ({"TrafficSteps": "", "BakeMinutes": "0.02"}, "RolledBack"),
}


@pytest.mark.parametrize("case", TOO_LITTLE, ids=list(TOO_LITTLE))
def test_too_little_traffic(emulator: Emulator, tmp_path: Path, case: str) -> None:
    inputs, outcome = TOO_LITTLE[case]
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, MinRequests="50", **inputs)

    assert log.outputs["SwapOutcome"] == outcome, log.text
    if outcome == "CanaryFailed":
        assert "too little traffic to judge the step at 10 %" in log.errors[-1]
        assert emulator.serving(APP, "production") == "v1" and emulator.operations() == []
    elif outcome == "Swapped":
        assert "going on (InsufficientTraffic: continue)" in log.stdout
        assert "passing it (InsufficientTraffic: continue)" in log.warnings[-1]
        assert emulator.serving(APP, "production") == "v2"
    else:
        message = log.errors[-1]
        assert "Too little traffic reached 'production' during the bake to judge it" in message
        assert "fewer than MinRequests 50" in message
        assert "The previous version is live again" in message
        assert emulator.serving(APP, "production") == "v1"
        assert [op["outcome"] for op in emulator.operations()] == ["Succeeded", "Succeeded"]
    assert rules(emulator) == []


def test_a_rule_left_by_an_earlier_run_is_reported_and_cleared_first(
    emulator: Emulator, tmp_path: Path
) -> None:
    host = emulator.host_name(APP, "staging")
    emulator.control(
        "POST",
        "config",
        {
            "app": APP,
            "slot": "production",
            "properties": {
                "experiments": {
                    "rampUpRules": [
                        {"name": "staging", "actionHostName": host, "reroutePercentage": 30}
                    ]
                }
            },
        },
    )
    emulator.deploy(APP, "staging", "v2", health="unhealthy")

    log = run(emulator, tmp_path)

    assert "still routes 30 % of its traffic to 'staging'" in log.warnings[0], log.text
    assert log.outputs["SwapOutcome"] == "NotStarted"
    assert rules(emulator) == []


def test_a_rule_left_by_an_earlier_run_is_cleared_before_a_swap_without_canary(
    emulator: Emulator, tmp_path: Path
) -> None:
    host = emulator.host_name(APP, "staging")
    rule = {"name": "staging", "actionHostName": host, "reroutePercentage": 30}
    emulator.control(
        "POST",
        "config",
        {"app": APP, "slot": "production", "properties": {"experiments": {"rampUpRules": [rule]}}},
    )
    emulator.deploy(APP, "staging", "v2")
    inputs = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}

    log = run_task(agent_environment(emulator.info, inputs, tmp_path), tmp_path)

    assert "still routes 30 % of its traffic to 'staging'" in log.warnings[0], log.text
    assert log.outputs["SwapOutcome"] == "Swapped"
    assert rules(emulator) == []
    assert emulator.serving(APP, "production") == "v2"


def start(emulator: Emulator, tmp_path: Path, **inputs: str) -> subprocess.Popen[str]:
    env = agent_environment(emulator.info, {**CANARY, **inputs}, tmp_path)
    return local_agent.start_task(env, tmp_path)


def wait_for_rule(emulator: Emulator, percent: float = 0) -> None:
    """Until production routes a share (`percent`, if given) to the slot."""
    deadline = time.monotonic() + 30
    while not [r for r in rules(emulator) if percent in (0, r["reroutePercentage"])]:
        assert time.monotonic() < deadline, f"the canary never set its rule ({percent} %)"
        time.sleep(0.05)


def test_throttling_while_removing_the_rule_is_retried(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2", health="flaky:20")
    user_traffic(emulator)
    task = start(emulator, tmp_path, TrafficSteps="10", TrafficStepMinutes="0.05")
    wait_for_rule(emulator)
    emulator.add_fault("throttle", count=2, method="PATCH", path="/config/web$")

    out, _ = task.communicate(timeout=60)

    log = AgentLog(out, "", task.returncode)
    assert log.outputs["SwapOutcome"] == "CanaryFailed", log.text
    assert "Routing rule removed" in log.stdout
    patches = [r for r in emulator.requests() if r["method"] == "PATCH"]
    assert [r["status"] for r in patches][-3:] == [429, 429, 200]
    assert rules(emulator) == []
    assert emulator.serving(APP, "production") == "v1"


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_during_a_step_removes_the_rule_and_the_summary_keeps_the_steps(
    emulator: Emulator, tmp_path: Path, name: str
) -> None:
    emulator.deploy(APP, "staging", "v2")
    user_traffic(emulator)
    task = start(emulator, tmp_path, TrafficStepMinutes="0.05")
    wait_for_rule(emulator, 50)  # the step at 10 % was judged

    started = time.monotonic()
    task.send_signal(getattr(signal, name))
    out, _ = task.communicate(timeout=15)

    assert time.monotonic() - started < 2.5, "must finish well within the agent's grace"
    log = AgentLog(out, "", task.returncode)
    assert log.result == "Canceled", log.text
    assert log.outputs["SwapOutcome"] == "Canceled"
    assert f"Canceled ({name}) during the canary step at 50 %" in log.errors[-1]
    assert "Routing rule removed" in log.stdout
    assert rules(emulator) == []
    assert emulator.serving(APP, "production") == "v1" and emulator.operations() == []
    rows = summary_rows(tmp_path)
    assert list(rows) == ["10 % to `staging`", "50 % to `staging`"], rows
    first = rows["10 % to `staging`"]
    # Watched | User requests | 5xx | Probes failed | Response time | Baseline | Verdict
    assert int(first[1]) > 0 and first[2] == "0.0 %" and first[3].startswith("0 of "), first
    assert first[5].startswith("production: 5xx 0.0 %") and first[6] == "passed", first
    assert rows["50 % to `staging`"][-1] == "canceled", rows


BAD_INPUTS = [
    ({"TrafficSteps": "50,10"}, "TrafficSteps is '50,10': give percentages"),
    ({"TrafficSteps": "10,100"}, "from 1 to 99, ascending"),
    ({"TrafficSteps": "ten"}, "TrafficSteps is 'ten'"),
    ({"SwapWithProduction": "false", "TargetSlot": "qa"}, "needs Action 'Swap Slots'"),
    ({"Action": "Start Swap With Preview"}, "SwapWithProduction: true"),
    ({"TrafficStepMinutes": "0"}, "TrafficStepMinutes is '0'"),
    ({"MaxErrorRatePercent": "101"}, "MaxErrorRatePercent is '101'"),
    ({"MinRequests": "many"}, "MinRequests is 'many'"),
    ({"InsufficientTraffic": "ignore"}, "use 'fail' or 'continue'"),
]


@pytest.mark.parametrize(("inputs", "expected"), BAD_INPUTS, ids=[e for _, e in BAD_INPUTS])
def test_bad_canary_inputs_fail_before_any_change(
    emulator: Emulator, tmp_path: Path, inputs: dict[str, str], expected: str
) -> None:
    log = run(emulator, tmp_path, **inputs)

    assert_refused_before_any_change(log, emulator, expected)


def test_a_version_that_degrades_production_during_the_bake_is_swapped_back(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    user_traffic(emulator)
    task = start(emulator, tmp_path, TrafficSteps="10", BakeMinutes="0.2")
    seen = read_until(task, "Baking:")  # swapped and verified: the bake begins
    # Now in production, the new version starts failing half of its requests.
    emulator.deploy(APP, "production", "v2", health="flaky:50")

    rest, _ = task.communicate(timeout=60)
    out = seen + rest

    log = AgentLog(out, "", task.returncode)
    assert log.outputs["SwapOutcome"] == "RolledBack", log.text
    assert "Canary passed at 10 %." in log.stdout
    message = log.errors[-1]
    assert "'production' degraded during the bake (5xx on production more than 1 point" in message
    assert "above the old version's (confidence" in message
    assert "Production degraded during the bake: 5xx on production" in log.stdout
    assert "The previous version is live again" in message
    assert emulator.serving(APP, "production") == "v1"
    assert [op["outcome"] for op in emulator.operations()] == ["Succeeded", "Succeeded"]
