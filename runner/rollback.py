"""Swapping back after production failed its verification: the same two slots swapped again,
with the swap's own protection against a second swap, then production verified again."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from runner.cancellation import Cancellation, StopNow
from runner.errors import UserError
from runner.health_gate import HealthCheck, HealthRules, wait_until_healthy
from runner.log import Log
from runner.outcome import Outcome
from runner.swap import SwapPlan, SwapResult, swap_slots
from runner.web_apps import AzureCallError, SlotState, WebApps

READ_ATTEMPTS = 3


@dataclass(frozen=True)
class Rollback:
    """`outcome` is ROLLED_BACK, ROLLBACK_FAILED or ROLLBACK_UNFINISHED; `message` says why."""

    outcome: Outcome
    message: str
    seconds: Optional[float] = None
    check: Optional[HealthCheck] = None
    swap: Optional[SwapResult] = None


def swap_back(
    plan: SwapPlan, rules: HealthRules, web_apps: WebApps, log: Log, cancellation: Cancellation
) -> Rollback:
    target = _read_target(plan, web_apps, log)
    if target is None:
        return Rollback(
            Outcome.ROLLBACK_FAILED,
            "The swap back was not sent: Azure's record of the last swap could not be read, and "
            "without it a lost answer could not be told from a finished swap.",
        )
    # The swap back must know the swap just made, so a lost answer is judged against it.
    back = replace(plan, target=target)
    try:
        result = swap_slots(back, web_apps, log, cancellation, swap_back=True)
    except (UserError, AzureCallError) as error:
        return Rollback(Outcome.ROLLBACK_FAILED, f"Azure did not swap back: {error}")
    if result.outcome is Outcome.CANCELED:
        return Rollback(Outcome.ROLLBACK_FAILED, result.message, swap=result)
    if result.outcome is Outcome.FAILED:
        return Rollback(Outcome.ROLLBACK_FAILED, result.message, result.seconds, swap=result)
    if result.outcome is Outcome.UNFINISHED:
        return Rollback(Outcome.ROLLBACK_UNFINISHED, result.message, result.seconds, swap=result)
    seconds = result.seconds
    log.info(f"Swapped back in {seconds or 0:.1f} s.")
    check = None
    if rules.path is not None and not cancellation.requested.is_set():
        label = f"after swap back: {plan.target.ref.slot}"
        try:
            check = wait_until_healthy(
                label, plan.target.url, rules.without_version(), cancellation, log, plan.probes
            )
            log.info(f"Check after the swap back {check.summary()}.")
        except StopNow:  # SIGTERM: the swap back is done; say so rather than lose it
            cancellation.stop_raising()
    if check is None:
        health = ""
    elif check.passed:
        health = f" '{plan.target.ref.slot}' is healthy again ({check.details()})."
    else:
        health = (
            f" '{plan.target.ref.slot}' is not healthy after the swap back either "
            f"({check.details()}): the previous version has a problem too."
        )
    return Rollback(
        Outcome.ROLLED_BACK,
        f"Swapped back in {seconds or 0:.1f} s.{health}",
        seconds,
        check,
        result,
    )


def _read_target(plan: SwapPlan, web_apps: WebApps, log: Log) -> Optional[SlotState]:
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            return web_apps.get_slot(plan.target.ref)
        except AzureCallError as error:
            log.info(f"Reading '{plan.target.ref}' before swapping back failed ({error}).")
            if attempt == READ_ATTEMPTS:
                return None
    return None
