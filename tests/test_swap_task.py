"""Scenarios: the task run as the agent runs it, against the emulator over HTTPS."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.emulator.process import Emulator
from tests.agent import SCHEMES, AgentLog, agent_environment, run_task
from tests.conftest import StartEmulator, mutating_calls, reads_before_the_swaps

APP, GROUP = "contoso-web", "rg-swap-demo"


def swap_inputs(**overrides: str) -> dict[str, str]:
    inputs = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}
    inputs.update(overrides)
    return inputs


def run(emulator: Emulator, tmp_path: Path, scheme: str = "secret", **inputs: str) -> AgentLog:
    env = agent_environment(emulator.info, swap_inputs(**inputs), tmp_path, scheme)
    return run_task(env, tmp_path)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_swap_with_production_succeeds_with_each_auth_scheme(
    emulator: Emulator, tmp_path: Path, scheme: str
) -> None:
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, scheme)

    assert log.result == "Succeeded", log.text
    assert log.exit_code == 0
    assert emulator.serving(APP, "production") == "v2"
    assert emulator.serving(APP, "staging") == "v1"
    assert log.outputs["SwapOutcome"] == "Swapped"
    assert log.outputs["ProductionUrl"] == emulator.slot_url(APP, "production")
    assert log.outputs["SourceSlotUrl"] == emulator.slot_url(APP, "staging")
    assert "staging -> production" in log.stdout
    assert "After the swap: 'production'" in log.stdout and "serves version v2" in log.stdout
    assert not log.errors and not log.warnings
    assert not [r for r in emulator.requests() if "discovery/instance" in r["path"]]


def test_slot_to_slot_swap_leaves_production_alone(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--app", f"{APP}@{GROUP}:staging,qa")
    emulator.deploy(APP, "staging", "v2")
    emulator.deploy(APP, "qa", "v3")

    log = run(emulator, tmp_path, SwapWithProduction="false", TargetSlot="qa")

    assert log.result == "Succeeded", log.text
    assert emulator.serving(APP, "qa") == "v2"
    assert emulator.serving(APP, "staging") == "v3"
    assert emulator.serving(APP, "production") == "v1"


def test_target_slot_with_swap_with_production_warns_and_swaps_production(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--app", f"{APP}@{GROUP}:staging,qa")
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, TargetSlot="qa")

    assert log.result == "SucceededWithIssues", log.text
    assert len(log.warnings) == 1
    assert "TargetSlot is 'qa'" in log.warnings[0] and "PRODUCTION" in log.warnings[0]
    assert emulator.serving(APP, "production") == "v2"
    assert emulator.serving(APP, "qa") == "v1"


def test_empty_resource_group_is_found_from_the_app_name(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, ResourceGroupName="")

    assert log.result == "Succeeded", log.text
    assert f"Resource group: {GROUP} (found from the app's name)" in log.stdout
    assert emulator.serving(APP, "production") == "v2"


BAD_INPUTS = [
    ({"WebAppName": ""}, "WebAppName"),
    ({"SourceSlot": ""}, "SourceSlot"),
    ({"SourceSlot": "production"}, "cannot be swapped with itself"),
    ({"SwapWithProduction": "false", "TargetSlot": ""}, "TargetSlot is empty"),
    ({"SwapWithProduction": "false", "TargetSlot": "Staging"}, "cannot be swapped with itself"),
    ({"WebAppName": "$(appName)"}, "$(appName)"),
    ({"WebAppName": "bad_name!"}, "'bad_name!' is not a valid app name"),
    ({"Action": "Delete Slot"}, "Action 'Delete Slot'"),
    ({"SwapTimeoutInMinutes": "soon"}, "SwapTimeoutInMinutes is 'soon'"),
    ({"WebAppName": "no-such-app"}, "App Service 'no-such-app' was not found"),
    ({"ResourceGroupName": "rg-nope"}, "Resource group 'rg-nope' was not found"),
    ({"ResourceGroupName": "", "WebAppName": "no-such-app"}, "No App Service named 'no-such-app'"),
    ({"SourceSlot": "stagin"}, "Slot 'stagin' was not found"),
]


@pytest.mark.parametrize(("inputs", "expected"), BAD_INPUTS, ids=[e for _, e in BAD_INPUTS])
def test_bad_input_fails_clearly_before_any_change(
    emulator: Emulator, tmp_path: Path, inputs: dict[str, str], expected: str
) -> None:
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, **inputs)

    assert log.result == "Failed"
    assert log.exit_code != 0
    assert len(log.errors) == 1 and expected in log.errors[0], log.text
    assert "Nothing was changed in Azure" in log.errors[0]
    assert log.outputs["SwapOutcome"] == "NotStarted"
    assert mutating_calls(emulator) == []
    assert emulator.serving(APP, "production") == "v1"
    assert "Traceback" not in log.text


def test_ambiguous_app_name_asks_for_the_resource_group(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--app", f"{APP}@rg-east", "--app", f"{APP}@rg-west")

    log = run(emulator, tmp_path, ResourceGroupName="")

    assert log.result == "Failed"
    assert "several resource groups" in log.errors[0]
    assert "rg-east, rg-west" in log.errors[0]
    assert mutating_calls(emulator) == []


def test_wrong_client_secret_fails_with_entra_message_and_no_change(
    emulator: Emulator, tmp_path: Path
) -> None:
    info = dict(emulator.info, client_secret="not-the-secret")
    env = agent_environment(info, swap_inputs(), tmp_path)

    log = run_task(env, tmp_path)

    assert log.result == "Failed"
    assert "rejected the credentials" in log.errors[0]
    assert "AADSTS7000215" in log.errors[0]
    assert mutating_calls(emulator) == []


def test_expired_client_secret_says_so_and_changes_nothing(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--client-secret-expired")

    log = run(emulator, tmp_path)

    assert log.result == "Failed"
    assert "AADSTS7000222" in log.errors[0] and "expired" in log.errors[0]
    assert "create a new" in log.errors[0]
    assert mutating_calls(emulator) == []


def test_malformed_connection_fails_clearly(emulator: Emulator, tmp_path: Path) -> None:
    env = agent_environment(emulator.info, swap_inputs(), tmp_path)
    cid = emulator.info["service_connection_id"]
    env[f"ENDPOINT_AUTH_{cid}"] = "{not json"

    log = run_task(env, tmp_path)

    assert log.result == "Failed"
    assert f"Service connection '{cid}' is malformed" in log.errors[0]
    assert mutating_calls(emulator) == []


def test_unknown_connection_fails_clearly(emulator: Emulator, tmp_path: Path) -> None:
    env = agent_environment(emulator.info, swap_inputs(), tmp_path)
    env["INPUT_CONNECTEDSERVICENAME"] = "11111111-2222-3333-4444-555555555555"

    log = run_task(env, tmp_path)

    assert log.result == "Failed"
    assert "'11111111-2222-3333-4444-555555555555' is not available" in log.errors[0]


@pytest.mark.parametrize("scheme", ["secret", "certificate", "oidc"])
def test_no_secret_is_printed_even_with_debug(
    emulator: Emulator, tmp_path: Path, scheme: str
) -> None:
    emulator.deploy(APP, "staging", "v2")
    env = agent_environment(emulator.info, swap_inputs(), tmp_path, scheme, debug=True)

    log = run_task(env, tmp_path)

    assert log.result == "Succeeded", log.text
    assert "##[debug]" in log.stdout
    secrets = [emulator.info["client_secret"], emulator.info["system_access_token"]]
    if scheme == "certificate":
        pem = Path(emulator.info["client_certificate"]).read_text()
        secrets += [line for line in pem.splitlines() if line and not line.startswith("-----")]
    visible = "\n".join(
        line for line in log.text.splitlines() if "##vso[task.setsecret" not in line
    )
    for secret in secrets:
        assert secret not in visible
    assert "eyJ" not in visible, "a JWT (token) reached the log"
    first = log.stdout.splitlines()[0]
    assert first.startswith("##vso[task.setsecret]"), "secrets must be registered first"
    assert emulator.info["client_secret"] in log.secrets or scheme != "secret"


def test_every_read_before_the_swap_goes_to_azure_in_one_round_trip(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    # Each ARM answer takes 1 s, as a slow round trip from an agent would: the slots, what the
    # swap changes, both health paths, production's routing rules and the pre-flight's
    # warm-up settings are all asked for before the first answer is back.
    emulator = start_emulator("--swap-seconds", "0.3", "--arm-latency", "1")
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path)

    assert log.outputs["SwapOutcome"] == "Swapped", log.text
    before = reads_before_the_swaps(emulator)
    paths = [str(r["path"]).split(f"/sites/{APP}", 1)[1] for r in before]
    reads = ["", "/slots/staging", "/slotsdiffs", "/slots/staging/config/web"]
    reads += ["/slots/staging/config/appsettings/list"]
    assert sorted(paths) == sorted([*reads, "/config/web", "/config/web"]), paths
    assert before[-1]["time"] - before[0]["time"] < 0.9, before


@pytest.mark.parametrize("preserve", ["true", "false"])
def test_preserve_vnet_reaches_azure_as_given(
    emulator: Emulator, tmp_path: Path, preserve: str
) -> None:
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, PreserveVnet=preserve)

    assert log.result == "Succeeded", log.text
    assert [op["preserve_vnet"] for op in emulator.operations()] == [preserve == "true"]
