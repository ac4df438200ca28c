"""Scenarios: every swap failure Azure can answer ends with Azure's own words, then the likely
cause and the fix; and the table in docs/extension.md lists each of them with Azure's code."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.web.models import StringDictionary

from runner.emulator.process import Emulator
from runner.release.swap_failures import FAILURES, explain, failure_of
from runner.request import SlotRef
from tests.agent import AgentLog, agent_environment, run_task
from tests.conftest import StartEmulator
from tests.emulator_process import web_client

APP, GROUP = "contoso-web", "rg-swap-demo"
INPUTS = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}
ROOT = Path(__file__).resolve().parent.parent


def run(emulator: Emulator, tmp_path: Path, **inputs: str) -> AgentLog:
    return run_task(agent_environment(emulator.info, {**INPUTS, **inputs}, tmp_path), tmp_path)


def swap_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if str(r["path"]).endswith("/slotsswap")]


def assert_explained(error: str, azure_words: str, fix_words: str) -> None:
    """Azure's words first, then the cause, then the fix."""
    assert azure_words in error, error
    assert fix_words in error, error
    assert error.index(azure_words) < error.index("Likely cause:") < error.index("Fix:"), error
    assert error.index("Fix:") < error.index(fix_words)


def test_a_warm_up_with_no_answer_ends_in_417_and_names_the_ping_settings(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2", health="broken")

    log = run(emulator, tmp_path)

    assert log.outputs["SwapOutcome"] == "Failed", log.text
    assert_explained(
        log.errors[0],
        "ExpectationFailed: Cannot swap site slots for site 'contoso-web' because the 'staging' "
        "slot did not respond to http ping. (ColdStartFailed) (HTTP 417)",
        "WEBSITE_SWAP_WARMUP_PING_PATH on 'staging'",
    )
    assert "health check path" in log.errors[0]
    assert emulator.serving(APP, "production") == "v1"


def test_a_warm_up_answer_the_statuses_do_not_list_is_explained(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.deploy(APP, "staging", "v2", health="unhealthy")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_cert)
    web_client(emulator).web_apps.update_application_settings_slot(
        GROUP,
        APP,
        "staging",
        StringDictionary(properties={"WEBSITE_SWAP_WARMUP_PING_STATUSES": "200,202"}),
    )

    log = run(emulator, tmp_path)

    assert log.outputs["SwapOutcome"] == "Failed", log.text
    assert "Azure warm-up:  pings /, accepts 200,202" in log.stdout
    assert_explained(
        log.errors[-1],
        "because the application initialization in 'staging' slot either took too long or failed",
        "list its answer in WEBSITE_SWAP_WARMUP_PING_STATUSES",
    )


def test_a_start_slower_than_the_warm_up_waits_is_explained(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--warmup-timeout", "1")
    emulator.deploy(APP, "staging", "v2", warmup_seconds=120)

    log = run(emulator, tmp_path)

    assert log.outputs["SwapOutcome"] == "Failed", log.text
    assert_explained(
        log.errors[0],
        "the warmup requests to application in 'staging' slot have timed out",
        "HealthCheckPath with a HealthCheckTimeoutInMinutes long enough",
    )


REFUSALS = [
    (
        "scope-locked",
        "ScopeLocked: The scope '/subscriptions/",
        "Remove the lock for the release",
    ),
    (
        "subscription-disabled",
        "ReadOnlyDisabledSubscription: The subscription '",
        "Re-enable the subscription",
    ),
    (
        "authorization-failed",
        "AuthorizationFailed: The client '",
        'az role assignment create --role "Website Contributor"',
    ),
]


@pytest.mark.parametrize(("kind", "azure_words", "fix"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_swap_resource_manager_refuses_is_explained_at_once(
    emulator: Emulator, tmp_path: Path, kind: str, azure_words: str, fix: str
) -> None:
    emulator.add_fault(kind, count=0, path="/slotsswap$")
    started = time.monotonic()

    log = run(emulator, tmp_path)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] in ("Failed", "NotStarted")
    assert_explained(log.errors[0], azure_words, fix)
    assert len(swap_requests(emulator)) == 1, "refused for good: not sent again"
    assert time.monotonic() - started < 30, "no waiting as for another operation"
    assert emulator.operations() == []


def test_a_missing_role_names_the_action_azure_named_and_the_slot_action(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.add_fault("authorization-failed", count=0, path="/slotsswap$")

    log = run(emulator, tmp_path)

    error = log.errors[0]
    assert "perform action 'Microsoft.Web/sites/slotsswap/action' over scope" in error
    assert "Microsoft.Web/sites/slots/slotsswap/action" in error.split("Likely cause:")[1]


def test_a_preview_the_pre_flight_cannot_see_is_explained_with_the_way_out(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    # qa's swap with preview into production shows on qa only, which the swap of staging does
    # not read: Azure's refusal (nothing changes) is explained instead.
    emulator = start_emulator("--swap-seconds", "0.3", "--app", f"{APP}@{GROUP}:staging,qa")
    assert (
        run(emulator, tmp_path, Action="Start Swap With Preview", SourceSlot="qa").outputs[
            "SwapOutcome"
        ]
        == "PreviewStarted"
    )

    log = run(emulator, tmp_path)

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    assert_explained(
        log.errors[0],
        "Conflict: Cannot swap slots for site 'contoso-web' because the configuration settings "
        "have been prepared for swap",
        "Cancel it: run the task with Action: Cancel Swap",
    )
    assert emulator.operations() == []


AZURE_TEXTS = {
    "ExpectationFailed": "ExpectationFailed: Cannot swap site slots for site 'a' because the "
    "'staging' slot did not respond to http ping. (HTTP 417)",
    "BadRequest": "BadRequest: Cannot swap slots for site 'a' because the warmup requests to "
    "application in 'staging' slot have timed out. (HTTP 400)",
    "Conflict": "Conflict: Cannot modify this site because another operation is in progress. "
    "Details: Id: 1, OperationName: SwapSiteSlots (HTTP 409). Gave up after waiting 120 s for "
    "it to finish.",
    "ScopeLocked": "ScopeLocked: The scope 'x' cannot perform write operation because following "
    "scope(s) are locked: 'y'. Please remove the lock and try again. (HTTP 409)",
    "AuthorizationFailed": "AuthorizationFailed: The client 'c' with object id 'o' does not have "
    "authorization to perform action 'Microsoft.Web/sites/slotsswap/action' (HTTP 403)",
    "ReadOnlyDisabledSubscription": "ReadOnlyDisabledSubscription: The subscription 's' is "
    "disabled and therefore marked as read only. (HTTP 409)",
    "SubscriptionNotFound": "SubscriptionNotFound: The subscription 's' could not be found. "
    "(HTTP 404)",
}


@pytest.mark.parametrize("code", AZURE_TEXTS)
def test_each_code_has_a_cause_and_a_fix(code: str) -> None:
    ref = SlotRef("s", GROUP, APP, "staging")
    failure = failure_of(AZURE_TEXTS[code])
    explained = explain(AZURE_TEXTS[code], ref, SlotRef("s", GROUP, APP, "production"))

    assert failure is not None and failure.code == code
    assert explained.startswith("Likely cause: ") and " Fix: " in explained
    assert not re.search(r"\{(app|slot|target|group)\}", explained), explained


def test_an_unknown_failure_gets_no_guess() -> None:
    ref = SlotRef("s", GROUP, APP, "staging")
    assert explain("InternalServerError: Encountered internal server error.", ref, ref) == ""


def test_the_extension_docs_list_every_failure_with_azures_code() -> None:
    docs = (ROOT / "docs" / "extension.md").read_text(encoding="utf-8")
    table = docs[docs.index("### When a swap fails") :]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    listed = {
        (int(match.group(1)), match.group(2))
        for row in rows
        if (match := re.match(r"\| `(\d{3})` `(\w+)`", row))
    }
    assert {(f.status, f.code) for f in FAILURES} <= listed, listed


def test_a_swap_with_preview_azure_refuses_is_explained(emulator: Emulator, tmp_path: Path) -> None:
    emulator.add_fault("scope-locked", count=0, path="/applySlotConfig$")

    log = run(emulator, tmp_path, Action="Start Swap With Preview")

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    assert_explained(
        log.errors[0],
        "Azure did not start the swap with preview: applying the settings of 'production'",
        "Remove the lock for the release",
    )
