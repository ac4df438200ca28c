"""Several apps' swaps at once: the requests sent one after another (each is quick), then every
running swap watched in one loop, in the thread that receives SIGINT and SIGTERM, so that the
log can say where each app stands whenever the task is stopped."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Optional

from runner.azure.web_apps import AzureCallError, WebApps
from runner.cancellation import Cancellation, StopNow
from runner.errors import UserError
from runner.log import Log
from runner.outcome import Outcome
from runner.release.app_log import AppLog
from runner.release.swap import PROGRESS_EVERY_SECONDS, SwapPlan, SwapResult, SwapRun


def swap_together(
    plans: Sequence[SwapPlan],
    web_apps: WebApps,
    log: Log,
    cancellation: Cancellation,
    swap_back: bool = False,
) -> list[SwapResult]:
    """Swaps (or swaps back) every plan's two slots; one result per plan, in order. Each app's
    lines start with its name."""
    runs = [
        SwapRun(plan, web_apps, AppLog(log, plan.source.ref.app), cancellation, swap_back, True)
        for plan in plans
    ]
    results: list[Optional[SwapResult]] = [None] * len(runs)
    try:
        for index, run in enumerate(runs):
            results[index] = _begin(run)
        _watch(runs, results, log, cancellation, "Swaps back" if swap_back else "Swaps")
    except StopNow:  # SIGTERM: each app's state, said before the agent's kill
        cancellation.stop_raising()
        for index, run in enumerate(runs):
            if results[index] is None:
                results[index] = run.stopped_now()
    finally:
        for run in runs:
            run.close()
    return [result for result in results if result is not None]


def _begin(run: SwapRun) -> Optional[SwapResult]:
    """Sends one app's swap. What stops this app (refused, unreadable) must not stop the others'
    watch, so it becomes this app's result instead of an exception."""
    try:
        return run.begin()
    except UserError as error:  # refused before Azure acted: nothing changed on this app
        return run.result(Outcome.NOT_STARTED, f"{error} Nothing was changed on this app.")
    except AzureCallError as error:  # an answer was lost and Azure's record could not be read
        return run.unfinished(f"Could not learn whether Azure started the {run.noun} ({error})")


def _watch(
    runs: list[SwapRun],
    results: list[Optional[SwapResult]],
    log: Log,
    cancellation: Cancellation,
    nouns: str,
) -> None:
    pending = [index for index, result in enumerate(results) if result is None]
    started = time.monotonic()
    next_progress = started + PROGRESS_EVERY_SECONDS
    seen_cancel = cancellation.requested.is_set()
    while pending:
        cancellation.sleep_until(min(runs[index].next_poll_at for index in pending))
        # Once canceled, every swap is looked at at once: the grace is short.
        everyone = cancellation.requested.is_set() and not seen_cancel
        seen_cancel = cancellation.requested.is_set()
        now = time.monotonic()
        for index in list(pending):
            run = runs[index]
            if everyone or now >= run.next_poll_at or cancellation.grace_over:
                results[index] = run.poll()
                if results[index] is not None:
                    pending.remove(index)
        now = time.monotonic()
        if pending and now >= next_progress:
            names = ", ".join(f"'{runs[index].plan.source.ref.app}'" for index in pending)
            log.info(f"{nouns} still running after {now - started:.0f} s: {names}.")
            done = len(runs) - len(pending)
            log.progress(int(100 * done / len(runs)), f"{nouns}: {done} of {len(runs)} done")
            next_progress = now + PROGRESS_EVERY_SECONDS
