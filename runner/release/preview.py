"""Swap with preview: what a swap would change, phase 1 (the source takes the target's slot
settings, then must pass the health gate with them), and its cancellation.

Cancel resets the **source** slot, the one phase 1 changed (Microsoft's task resets production).
Completing is the swap itself (`runner.release.app_release`).
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Callable

from runner.azure.web_apps import AzureCallError, CallFailure, SettingDifference, WebApps
from runner.cancellation import Cancellation, StopNow
from runner.log import Log
from runner.outcome import Outcome
from runner.release.app_report import AppReport, report_for, sentence, versions_now
from runner.release.health_gate import HealthCheck, HealthRules, wait_until_healthy
from runner.release.swap import SwapPlan
from runner.release.swap_failures import explain

ATTEMPTS = 4


def show_differences(plan: SwapPlan, listing: Future[list[SettingDifference]], log: Log) -> None:
    """Lists (names only: values may be secret) the settings that differ between the slots.

    `listing` is `WebApps.slot_differences`, asked for while the health path was read."""
    source, target = plan.source.ref, plan.target.ref
    with log.group(f"Settings that differ between '{source.slot}' and '{target.slot}'"):
        try:
            differences = listing.result()
        except AzureCallError as error:
            log.info(f"Could not list them: {error}")
            return
        if not differences:
            log.info("None: no app setting or connection string differs.")
        for difference in differences:
            log.info(difference.describe())


def start_preview(
    plan: SwapPlan,
    rules: HealthRules,
    differences: Future[list[SettingDifference]],
    web_apps: WebApps,
    log: Log,
    cancellation: Cancellation,
) -> AppReport:
    source, target = plan.source.ref, plan.target.ref
    prepared = plan.source.target_swap_slot
    if prepared:
        return _report(
            plan,
            Outcome.NOT_STARTED,
            f"A swap with preview of '{source.slot}' with '{prepared}' is already prepared on "
            f"'{source.app}': Azure would refuse another. Run Complete Swap or Cancel Swap first.",
            failed=True,
        )
    show_differences(plan, differences, log)
    log.info(f"Applying the slot settings of '{target.slot}' to '{source.slot}' (phase 1)...")
    try:
        _apply(plan, web_apps, log, cancellation)
    except AzureCallError as error:
        return _report(
            plan,
            Outcome.NOT_STARTED,
            f"Azure did not start the swap with preview: {error}. Nothing was changed."
            + _explained(error, plan),
            failed=True,
        )
    log.info(f"'{source.slot}' now runs with the slot settings of '{target.slot}'.")
    try:
        check = _gate(plan, rules, log, cancellation)
    except StopNow:
        cancellation.stop_raising()
        return _report(
            plan,
            Outcome.PREVIEW_STARTED,
            f"Stopped ({cancellation.signal_name}) while checking '{source.slot}': the swap with "
            "preview stays prepared. Run Complete Swap or Cancel Swap.",
            failed=True,
        )
    checks = (check,) if check else ()
    if check is None or check.passed:
        return _report(
            plan,
            Outcome.PREVIEW_STARTED,
            f"Swap with preview started: '{source.slot}' runs with the settings of "
            f"'{target.slot}'. Complete Swap swaps it in; Cancel Swap puts its own settings back.",
            checks=checks,
        )
    failed = f"'{source.slot}' failed the health gate with the settings of '{target.slot}': it "
    failed += f"{check.problem()} ({check.details()})."
    if check.canceled:
        failed = f"Canceled ({cancellation.signal_name}) during the health gate of '{source.slot}'."
    if not plan.request.checks.rollback_on_failure:
        return _report(
            plan,
            Outcome.PREVIEW_STARTED,
            f"{failed} RollbackOnFailure is false: the preview stays prepared.",
            checks=checks,
            failed=True,
        )
    log.warning(f"{failed} Canceling the swap with preview.")
    try:
        _reset(plan, web_apps, log)
    except AzureCallError as error:
        return _report(
            plan,
            Outcome.PREVIEW_STARTED,
            f"{failed} Resetting its settings failed too ({error}): the preview stays prepared. "
            "Run Cancel Swap.",
            checks=checks,
            failed=True,
        )
    return _report(
        plan,
        Outcome.NOT_STARTED,
        f"{failed} The swap with preview was canceled: '{source.slot}' has its own settings "
        "back. Nothing was swapped.",
        checks=checks,
        failed=True,
    )


def cancel_preview(plan: SwapPlan, web_apps: WebApps, log: Log) -> AppReport:
    source = plan.source.ref
    if not plan.source.target_swap_slot:
        log.info(
            f"No swap with preview is prepared on '{source}'; resetting its settings anyway "
            "(Azure does nothing then)."
        )
    try:
        _reset(plan, web_apps, log)
    except AzureCallError as error:
        return _report(
            plan,
            Outcome.FAILED,
            f"Azure did not cancel the swap with preview: {error}.",
            failed=True,
        )
    return _report(
        plan,
        Outcome.PREVIEW_CANCELED,
        f"Canceled the swap with preview: '{source.slot}' has its own settings back. "
        "Nothing was swapped.",
    )


def _gate(
    plan: SwapPlan, rules: HealthRules, log: Log, cancellation: Cancellation
) -> HealthCheck | None:
    source = plan.source
    with log.group(f"Health gate: '{source.ref.slot}' with the target's settings"):
        if not rules.checks_anything:
            log.info(
                "No health gate ran: HealthCheckPath is empty, the app has no healthCheckPath "
                "in its site config, and ExpectedVersion is empty."
            )
            return None
        check = wait_until_healthy(
            f"gate: {source.ref.slot}", source.url, rules, cancellation, log, plan.probes
        )
        log.info(f"Health gate {check.summary()}.")
    return check


def _apply(plan: SwapPlan, web_apps: WebApps, log: Log, cancellation: Cancellation) -> None:
    """Phase 1, sent again only when Azure certainly did not act on it (a second one is a 409)."""
    source, target = plan.source.ref, plan.target.ref
    for attempt in range(1, ATTEMPTS + 1):
        try:
            web_apps.apply_slot_config(source, target.slot, plan.request.preserve_vnet)
            return
        except AzureCallError as error:
            lost = error.failure is CallFailure.NO_RESPONSE or error.status >= 500
            if lost and web_apps.get_slot(source).target_swap_slot:
                log.info(f"Azure's answer was lost ({error}), but the settings were applied.")
                return
            retry = error.failure is CallFailure.NOT_SENT or error.status == 429 or lost
            if not retry or attempt == ATTEMPTS:
                raise
            log.info(f"Applying the settings failed ({error}); sending it again.")
            cancellation.sleep(error.retry_after if error.retry_after is not None else 1.0)


def _reset(plan: SwapPlan, web_apps: WebApps, log: Log) -> None:
    """resetSlotConfig on the source; safe to send again (a second reset changes nothing)."""
    _retrying(lambda: web_apps.reset_slot_config(plan.source.ref), log)
    log.info(f"Reset the slot settings of '{plan.source.ref}'.")


def _retrying(call: Callable[[], None], log: Log) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            call()
            return
        except AzureCallError as error:
            transient = error.status in (0, 429) or error.status >= 500
            if not transient or attempt == ATTEMPTS:
                raise
            log.info(f"{error}; sending it again.")
            time.sleep(error.retry_after if error.retry_after is not None else 1.0)


def _explained(error: AzureCallError, plan: SwapPlan) -> str:
    why = explain(str(error), plan.source.ref, plan.target.ref)
    return f" {why}" if why else ""


def _report(
    plan: SwapPlan,
    outcome: Outcome,
    message: str,
    checks: tuple[HealthCheck, ...] = (),
    failed: bool = False,
) -> AppReport:
    after = versions_now(plan)
    return report_for(
        plan, outcome, f"{message} Now {sentence(after)}", after=after, checks=checks, failed=failed
    )
