"""Scenarios: the Swap Slots action as a GitHub runner runs it (its environment and files, a
separate process) against the emulator, signing in with the job's OIDC token."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from runner.emulator.process import Emulator
from tests.conftest import StartEmulator, mutating_calls
from tests.github_runner import (
    StepRun,
    action_environment,
    assert_nothing_leaked,
    finish_step,
    read_output_file,
    run_step,
    start_step,
)

APP, GROUP = "contoso-web", "rg-swap-demo"
SWAP = {"app-name": APP, "slot": "staging"}
FAST_CHECKS = {
    "health-check-path": "/health",
    "health-check-timeout-minutes": "0.05",
    "healthy-after": "1",
}
WORKS_ONLY_IN_STAGING = "needs-setting:SLOT_NAME=staging"


def run(emulator: Emulator, tmp_path: Path, **inputs: str) -> StepRun:
    return run_step(action_environment(emulator.info, {**SWAP, **inputs}, tmp_path))


def succeeded_swaps(emulator: Emulator) -> int:
    return sum(1 for op in emulator.operations() if op["outcome"] == "Succeeded")


def test_a_swap_with_the_jobs_oidc_token_succeeds_and_github_reads_its_outputs_and_summary(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")

    step = run(emulator, tmp_path, **FAST_CHECKS, **{"expected-version": "v2"})

    assert step.succeeded, step.text
    assert step.errors == [] and step.warnings == []
    assert step.outputs == {
        "swap-outcome": "Swapped",
        "production-url": emulator.slot_url(APP, "production"),
        "source-slot-url": emulator.slot_url(APP, "staging"),
    }
    assert emulator.serving(APP, "production") == "v2"
    assert step.groups[:2] == ["Plan", "Settings that differ between 'staging' and 'production'"]
    assert "OpenID Connect (GitHub Actions)" in step.stdout
    # The job's token was asked for Entra's audience and exchanged as a client assertion.
    calls = emulator.requests()
    asked = [c for c in calls if str(c["path"]).endswith("/idtoken")]
    assert len(asked) == 1 and asked[0]["method"] == "GET"
    assert "audience=api%3A%2F%2FAzureADTokenExchange" in str(asked[0].get("query", "")) or any(
        "AzureADTokenExchange" in str(v) for v in asked[0].values()
    )
    assert "### Swap Slots: `contoso-web` — Swapped" in step.summary
    assert "| `production` | version v1 (HTTP 200) | version v2 (HTTP 200) |" in step.summary
    assert "| verify: production |" in step.summary
    assert "```mermaid" not in step.summary  # no canary, no bake: nothing to draw


BAD_INPUTS = [
    ({"app-name": ""}, "Input app-name is required but empty. Set it in the step's `with:`."),
    ({"slot": "stag ing"}, "slot"),
    ({"target-slot": "staging"}, "slot and the target are both 'staging'"),
    ({"action": "swapp"}, "action is 'swapp': use one of 'swap', 'start-preview'"),
    ({"healthy-after": "0"}, "healthy-after is '0'"),
    ({"health-check-path": "https://x/health"}, "health-check-path is 'https://x/health'"),
    ({"traffic-steps": "50,10"}, "traffic-steps is '50,10'"),
    (
        {"traffic-steps": "10", "max-response-time-ratio": "0.5"},
        "max-response-time-ratio is '0.5'",
    ),
    ({"bake-minutes": "1", "insufficient-traffic": "maybe"}, "insufficient-traffic is 'maybe'"),
    ({"rollback-on-failure": "yes"}, "rollback-on-failure is 'yes': give true or false"),
    (
        {"additional-apps": "other-web", "bake-minutes": "5"},
        "additional-apps cannot be combined with bake-minutes",
    ),
    ({"tenant-id": ""}, "tenant-id is empty while client-id is set"),
    (
        {"environment": "azuremoon", "resource-manager-endpoint": "", "authority-host": ""},
        "environment is 'azuremoon'",
    ),
    ({"slot": "stagin"}, "stagin"),  # Azure's answer: no such slot
]


@pytest.mark.parametrize(("inputs", "expected"), BAD_INPUTS, ids=[e for _, e in BAD_INPUTS])
def test_bad_inputs_fail_with_one_clear_error_and_change_nothing(
    emulator: Emulator, tmp_path: Path, inputs: dict[str, str], expected: str
) -> None:
    emulator.deploy(APP, "staging", "v2")

    step = run(emulator, tmp_path, **inputs)

    assert step.exit_code == 1, step.text
    assert step.outputs == {"swap-outcome": "NotStarted"}
    assert len(step.errors) == 1, step.errors
    assert expected in step.errors[0] and "Nothing was changed in Azure" in step.errors[0]
    assert mutating_calls(emulator) == []
    assert emulator.serving(APP, "production") == "v1"


def test_oidc_without_id_token_permission_says_which_permission(
    emulator: Emulator, tmp_path: Path
) -> None:
    env = action_environment(emulator.info, SWAP, tmp_path)
    del env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]

    step = run_step(env)

    assert step.exit_code == 1
    assert "permissions: id-token: write" in step.errors[0]
    assert mutating_calls(emulator) == []


def test_a_build_broken_only_in_production_is_swapped_back(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health=WORKS_ONLY_IN_STAGING)

    step = run(emulator, tmp_path, **FAST_CHECKS, **{"expected-version": "v2"})

    assert step.exit_code == 1, step.text
    assert step.outputs["swap-outcome"] == "RolledBack"
    assert "Swapped back in" in step.errors[-1]
    assert "'production' serves version v1" in step.errors[-1]
    assert emulator.serving(APP, "production") == "v1"
    assert succeeded_swaps(emulator) == 2
    assert "— RolledBack" in step.summary and "Swap back took |" in step.summary


def test_sigint_mid_swap_stops_within_the_runners_grace_and_says_what_is_live(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "30")
    emulator.deploy(APP, "staging", "v2")
    env = action_environment(emulator.info, SWAP, tmp_path)
    process = start_step(env)
    deadline = time.monotonic() + 30
    while not emulator.operations():
        assert time.monotonic() < deadline, "the swap never started"
        time.sleep(0.05)

    started = time.monotonic()
    process.send_signal(signal.SIGINT)  # what the runner sends the step's process first
    step = finish_step(process, env, timeout=15)

    assert time.monotonic() - started < 7.5, "must end before the runner's SIGTERM"
    assert step.exit_code == 1
    assert step.outputs["swap-outcome"] == "Unfinished"
    assert "Canceled (SIGINT)" in step.errors[0]
    assert "'production' serves version v1" in step.errors[0]
    assert len(emulator.operations()) == 1


def test_no_secret_reaches_the_log_outputs_or_summary_even_with_step_debug(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")

    env = action_environment(emulator.info, {**SWAP, **FAST_CHECKS}, tmp_path, debug=True)
    step = run_step(env)

    assert step.succeeded, step.text
    assert "::debug::" in step.stdout  # debug logging really was on
    token = str(emulator.info["actions_id_token_request_token"])
    # Masked before anything else could print it, then the job's OIDC token and Entra's token.
    assert step.stdout.splitlines()[0] == f"::add-mask::{token}"
    jwts = [mask for mask in step.masks if mask.count(".") == 2 and mask.startswith("eyJ")]
    assert len(jwts) >= 2, step.masks
    assert_nothing_leaked(step, [token, *jwts, *(jwt.split(".")[1] for jwt in jwts)])


def test_the_outputs_file_is_read_as_github_reads_it() -> None:
    text = (
        "swap-outcome<<ghadelimiter_1\nSwapped\nghadelimiter_1\n"
        "production-url<<ghadelimiter_2\nhttps://a/\nghadelimiter_2\nplain=value\n"
    )
    assert read_output_file(text) == {
        "swap-outcome": "Swapped",
        "production-url": "https://a/",
        "plain": "value",
    }
    with pytest.raises(ValueError, match="Matching delimiter not found"):
        read_output_file("name<<EOF\nvalue\n")


CANARY = {
    **FAST_CHECKS,
    "traffic-steps": "10,50",
    "traffic-step-minutes": "0.04",
    "min-requests": "5",
    "bake-minutes": "0.03",
}


def test_a_canary_and_bake_are_drawn_in_the_summary_as_mermaid_charts(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator(
        "--swap-seconds", "0.3", "--metrics-minute-seconds", "0.25", "--seed", "7"
    )
    emulator.deploy(APP, "staging", "v2")
    emulator.control("POST", "traffic", {"app": APP, "rate": 150, "seconds": 30})

    step = run(emulator, tmp_path, **CANARY)

    assert step.succeeded, step.text
    assert step.outputs["swap-outcome"] == "Swapped"
    charts = re.findall(r"```mermaid\n(.*?)```", step.summary, re.DOTALL)
    flow, errors, times = charts
    assert flow.startswith("flowchart LR")
    for label in ("10 % to staging", "50 % to staging", "bake ", "Swapped"):
        assert label in flow, flow
    assert "gate --> step0 --> step1 --> swap --> bake --> outcome" in flow
    assert ":::bad" not in flow
    for chart in (errors, times):
        assert chart.startswith("xychart-beta")
        assert 'x-axis ["10 %", "50 %", "bake"]' in chart
        assert chart.count("  bar [") == 2
    assert "| 10 % to `staging` |" in step.summary  # the agent's table is there too


def test_a_failed_canary_step_is_drawn_red_and_nothing_is_swapped(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator(
        "--swap-seconds", "0.3", "--metrics-minute-seconds", "0.25", "--seed", "7"
    )
    emulator.deploy(APP, "staging", "v2", health="flaky:20")
    emulator.control("POST", "traffic", {"app": APP, "rate": 150, "seconds": 30})

    step = run(emulator, tmp_path, **{**CANARY, "bake-minutes": "0"})

    assert step.exit_code == 1, step.text
    assert step.outputs["swap-outcome"] == "CanaryFailed"
    assert "The canary stopped the swap: the step at 10 % failed" in step.errors[-1]
    flow = re.findall(r"```mermaid\n(.*?)```", step.summary, re.DOTALL)[0]
    assert 'step0["10 % to staging: failed"]:::bad' in flow, flow
    assert 'outcome["CanaryFailed"]:::bad' in flow
    assert "swap" not in flow.split("-->", 1)[1]  # no swap was sent
    assert emulator.operations() == []


def test_a_cloud_named_by_its_resource_manager_alone_learns_its_authority_from_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")

    step = run(emulator, tmp_path, **{"environment": "azurestack", "authority-host": ""})

    assert step.succeeded, step.text
    assert any(c["path"] == "/metadata/endpoints" for c in emulator.requests())
    assert emulator.serving(APP, "production") == "v2"
