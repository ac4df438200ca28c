"""Sending the swap request so that a retry can never start a second swap.

A second swap of the same two slots swaps them back, so the request is only resent when
Azure certainly did not act on the first one: it was never sent, it was throttled, or another
operation held the app. When an answer is lost, Azure's record of the last swap decides.
"""

from __future__ import annotations

import time
from typing import NamedTuple, Optional

from runner.azure.web_apps import (
    AzureCallError,
    CallFailure,
    LastSwap,
    StartedSwap,
    WebApps,
)
from runner.cancellation import Cancellation
from runner.errors import UserError
from runner.log import Log
from runner.release.swap_failures import explain
from runner.request import SlotRef

# How long to wait for someone else's operation on the app to finish before giving up.
CONFLICT_PATIENCE_SECONDS = 120.0
MAX_UNSENT_RETRIES = 3
# 409s that no wait ends, unlike another operation in progress.
REFUSED_FOR_GOOD = ("ScopeLocked", "ReadOnlyDisabledSubscription")


class SendResult(NamedTuple):
    """`started`: Azure accepted our swap. `already_done`: it completed while we could not see.
    `running_unseen`: it is running but its progress URL was lost with Azure's answer."""

    started: Optional[StartedSwap]
    already_done: bool = False
    running_unseen: bool = False


class SwapFailed(Exception):
    """Azure refused or failed the swap; Azure's text is the message. Nothing was swapped."""


class CanceledBeforeSend(Exception):
    """Cancellation arrived before Azure accepted the swap: nothing changed."""


def send_swap(
    web_apps: WebApps,
    source: SlotRef,
    target: SlotRef,
    preserve_vnet: bool,
    last_swap: Optional[LastSwap],
    cancellation: Cancellation,
    log: Log,
) -> SendResult:
    conflict_deadline = time.monotonic() + CONFLICT_PATIENCE_SECONDS
    unsent = 0
    resent_after_lost_answer = False
    while True:
        try:
            return SendResult(web_apps.start_swap(source, target.slot, preserve_vnet))
        except AzureCallError as error:
            failure = error
        if failure.failure is CallFailure.NOT_SENT and unsent < MAX_UNSENT_RETRIES:
            unsent += 1
            log.info(f"Could not reach Azure ({failure}); sending the swap again.")
            _pause(cancellation, 2.0)
            continue
        if failure.status == 429:
            log.info(f"Azure is throttling requests; retrying in {_wait(failure, 5)} s.")
            _pause(cancellation, _wait(failure, 5))
            continue
        if failure.status == 409 and failure.code in REFUSED_FOR_GOOD:
            raise SwapFailed(str(failure))  # a lock or a disabled subscription: waiting is no use
        if failure.status == 409 and not resent_after_lost_answer:
            if "prepared for swap" in str(failure).lower():
                raise UserError(
                    f"A swap with preview is pending on '{source.app}': {failure}. "
                    + explain(str(failure), source, target)
                )
            if time.monotonic() > conflict_deadline:
                raise SwapFailed(
                    f"{failure}. Gave up after waiting "
                    f"{CONFLICT_PATIENCE_SECONDS:.0f} s for it to finish."
                )
            log.info(
                f"Another operation is running on '{source.app}'; waiting to swap. ({failure})"
            )
            _pause(cancellation, _wait(failure, 3))
            if _last_swap(web_apps, target) != last_swap:
                raise UserError(
                    f"Another swap of '{source.app}' completed while this task waited: not "
                    "swapping, so as not to undo it. Check which version production serves "
                    "and run the task again if needed."
                )
            continue
        if (
            failure.failure is CallFailure.NO_RESPONSE
            or failure.status >= 500
            or (failure.status == 409 and resent_after_lost_answer)
        ):
            if _last_swap(web_apps, target) != last_swap:
                log.info("Azure's record shows the swap completed although its answer was lost.")
                return SendResult(None, already_done=True)
            if failure.status == 409:
                # Our first request is running in Azure; we cannot see its progress URL.
                return SendResult(None, running_unseen=True)
            if resent_after_lost_answer:
                raise SwapFailed(str(failure))
            resent_after_lost_answer = True
            log.info(
                f"Azure's answer to the swap was lost ({failure}); checked that no "
                "swap has completed, sending it again."
            )
            continue
        if failure.status == 403:
            why = explain(str(failure), source, target)
            raise UserError(f"{failure}." + (f" {why}" if why else ""))
        raise SwapFailed(str(failure))


def _last_swap(web_apps: WebApps, target: SlotRef) -> Optional[LastSwap]:
    return web_apps.get_slot(target).last_swap


def _wait(error: AzureCallError, default: float) -> float:
    return error.retry_after if error.retry_after is not None else default


def _pause(cancellation: Cancellation, seconds: float) -> None:
    cancellation.sleep(seconds)
    if cancellation.requested.is_set():
        raise CanceledBeforeSend()
