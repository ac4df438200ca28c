"""Swapping back after production failed its verification: the same two slots swapped again,
with the swap's own protection against a second swap, then production verified again."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Optional

from runner.azure.web_apps import AzureCallError, SlotState, WebApps
from runner.cancellation import Cancellation, StopNow
from runner.errors import UserError
from runner.log import Log
from runner.outcome import Outcome
from runner.release.health_gate import (
    HealthCheck,
    HealthRules,
    Probing,
    wait_until_all_healthy,
    wait_until_healthy,
)
from runner.release.swap import SwapPlan, SwapResult, swap_slots
from runner.release.swaps_together import swap_together

READ_ATTEMPTS = 3


@dataclass(frozen=True)
class Rollback:
    """`outcome` is ROLLED_BACK, ROLLBACK_FAILED or ROLLBACK_UNFINISHED; `message` says why."""

    outcome: Outcome
    message: str
    seconds: Optional[float] = None
    check: Optional[HealthCheck] = None
    swap: Optional[SwapResult] = None

    def meaning(self, target_slot: str) -> str:
        """What the outcome means for the app's users, in a sentence."""
        return {
            Outcome.ROLLED_BACK: "The previous version is live again.",
            Outcome.ROLLBACK_FAILED: f"The swap back did not happen: '{target_slot}' still runs "
            "the new version. Swap the slots back yourself.",
            Outcome.ROLLBACK_UNFINISHED: "The swap back was still running in Azure when the task "
            "stopped: Azure finishes or reverts it on its own. Do not start another swap until "
            "it ends.",
        }[self.outcome]


def swap_back(
    plan: SwapPlan, rules: HealthRules, web_apps: WebApps, log: Log, cancellation: Cancellation
) -> Rollback:
    target = _read_target(plan, web_apps, log)
    if target is None:
        return _unread()
    # The swap back must know the swap just made, so a lost answer is judged against it.
    back = replace(plan, target=target)
    try:
        result = swap_slots(back, web_apps, log, cancellation, swap_back=True)
    except (UserError, AzureCallError) as error:
        return Rollback(Outcome.ROLLBACK_FAILED, f"Azure did not swap back: {error}")
    if result.outcome is not Outcome.SWAPPED:
        return _not_back(result)
    log.info(f"Swapped back in {result.seconds or 0:.1f} s.")
    check = None
    if rules.path is not None and not cancellation.requested.is_set():
        try:
            check = wait_until_healthy(*_recheck(plan, rules, log), cancellation, log, plan.probes)
            log.info(f"Check after the swap back {check.summary()}.")
        except StopNow:  # SIGTERM: the swap back is done; say so rather than lose it
            cancellation.stop_raising()
    return _rolled_back(plan, result, check)


@dataclass(frozen=True)
class SwapBack:
    """One app of several to swap back: its plan, its health rules, its own log."""

    plan: SwapPlan
    rules: HealthRules
    log: Log


def swap_back_together(
    apps: Sequence[SwapBack], web_apps: WebApps, log: Log, cancellation: Cancellation
) -> list[Rollback]:
    """Swaps several apps back at once (`runner.release.swaps_together`), then checks each again."""
    with ThreadPoolExecutor(max_workers=max(1, len(apps))) as pool:
        targets = list(pool.map(lambda app: _read_target(app.plan, web_apps, app.log), apps))
    rollbacks: list[Optional[Rollback]] = [None if t else _unread() for t in targets]
    sendable = [(index, target) for index, target in enumerate(targets) if target is not None]
    # Each swap back must know the swap just made, so a lost answer is judged against it.
    backs = [replace(apps[index].plan, target=target) for index, target in sendable]
    results = swap_together(backs, web_apps, log, cancellation, swap_back=True)
    swapped: list[tuple[int, SwapResult]] = []
    for (index, _), result in zip(sendable, results):
        if result.outcome is Outcome.SWAPPED:
            apps[index].log.info(f"Swapped back in {result.seconds or 0:.1f} s.")
            swapped.append((index, result))
        else:
            rollbacks[index] = _not_back(result)
    rechecked = [(i, r) for i, r in swapped if apps[i].rules.path is not None]
    checks: dict[int, HealthCheck] = {}
    if rechecked and not cancellation.requested.is_set():
        probings = [
            Probing(
                *_recheck(apps[i].plan, apps[i].rules, apps[i].log),
                apps[i].log,
                apps[i].plan.probes,
            )
            for i, _ in rechecked
        ]
        try:
            found = wait_until_all_healthy(probings, cancellation)
        except StopNow:  # SIGTERM: the swaps back are done; say so rather than lose them
            cancellation.stop_raising()
            found = []
        checks = {i: check for (i, _), check in zip(rechecked, found)}
        for check, (i, _) in zip(found, rechecked):
            apps[i].log.info(f"Check after the swap back {check.summary()}.")
    for index, result in swapped:
        rollbacks[index] = _rolled_back(apps[index].plan, result, checks.get(index))
    return [rollback for rollback in rollbacks if rollback is not None]


def _recheck(plan: SwapPlan, rules: HealthRules, log: Log) -> tuple[str, str, HealthRules]:
    """Production after a swap back: healthy, whatever version it runs."""
    return f"after swap back: {plan.target.ref.slot}", plan.target.url, rules.without_version()


def _unread() -> Rollback:
    return Rollback(
        Outcome.ROLLBACK_FAILED,
        "The swap back was not sent: Azure's record of the last swap could not be read, and "
        "without it a lost answer could not be told from a finished swap.",
    )


def _not_back(result: SwapResult) -> Rollback:
    """The swap back did not happen (refused, failed, canceled before sending) or did not end."""
    if result.outcome is Outcome.UNFINISHED:
        return Rollback(Outcome.ROLLBACK_UNFINISHED, result.message, result.seconds, swap=result)
    return Rollback(Outcome.ROLLBACK_FAILED, result.message, result.seconds, swap=result)


def _rolled_back(plan: SwapPlan, result: SwapResult, check: Optional[HealthCheck]) -> Rollback:
    seconds = result.seconds
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
        except (AzureCallError, UserError) as error:
            log.info(f"Reading '{plan.target.ref}' before swapping back failed ({error}).")
            if attempt == READ_ATTEMPTS:
                return None
    return None
