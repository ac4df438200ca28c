"""The swap, start to finish: plan, send, wait, report what each slot serves.

Reads no environment and writes no logging commands: it gets typed values and a `Log`.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

from runner.cancellation import Cancellation, StopNow
from runner.log import Log
from runner.probes import Probe, SlotProbes
from runner.request import PRODUCTION, Action, SlotRef, SwapRequest
from runner.swap_sending import CanceledBeforeSend, SwapFailed, send_swap
from runner.web_apps import AzureCallError, PollState, SlotState, WebApps

DEFAULT_POLL_SECONDS = 1.0  # when Azure sends no Retry-After
PROGRESS_EVERY_SECONDS = 10.0


class Outcome(Enum):
    """The `SwapOutcome` output variable."""

    SWAPPED = "Swapped"
    FAILED = "Failed"  # Azure failed the swap and kept both slots as they were
    NOT_STARTED = "NotStarted"  # stopped before the swap was sent: nothing changed
    CANARY_FAILED = "CanaryFailed"  # a canary step failed; its rule removed, no swap was sent
    CANCELED = "Canceled"  # canceled before the swap was sent: nothing changed
    UNFINISHED = "Unfinished"  # the task stopped while Azure was still swapping
    UNVERIFIED = "Unverified"  # swapped; the task stopped before production was verified
    VERIFICATION_FAILED = "VerificationFailed"  # swapped; production failed; no swap back asked
    ROLLED_BACK = "RolledBack"  # swapped, production failed, swapped back: the old version is live
    ROLLBACK_FAILED = "RollbackFailed"  # swapped, production failed, Azure did not swap back
    ROLLBACK_UNFINISHED = "RollbackUnfinished"  # the task stopped while Azure was swapping back
    PREVIEW_STARTED = "PreviewStarted"  # swap with preview, phase 1 done: the source is prepared
    PREVIEW_CANCELED = "PreviewCanceled"  # the source slot's own settings are back


@dataclass(frozen=True)
class SwapPlan:
    request: SwapRequest
    source: SlotState
    target: SlotState
    production_url: str
    found_group: bool
    # How the slots' own sites are reached: through the agent's proxy and certificates.
    probes: SlotProbes = field(compare=False, repr=False)


@dataclass(frozen=True)
class SwapResult:
    outcome: Outcome
    message: str
    production_url: str = ""
    source_url: str = ""
    seconds: Optional[float] = None  # from sending the swap to learning how it ended
    before: tuple[Probe, ...] = ()  # what the target, then the source, served before the swap
    after: tuple[Probe, ...] = ()  # ... and when the swap ended


def plan_swap(request: SwapRequest, web_apps: WebApps, log: Log) -> SwapPlan:
    """Checks everything that can be checked without changing anything in Azure."""
    subscription = web_apps.connection.subscription_id
    web_apps.authenticate()
    group = request.resource_group
    found = group is None
    if group is None:
        group = web_apps.find_resource_group(request.app)
    refs = [
        SlotRef(subscription, group, request.app, slot)
        for slot in (request.source_slot, request.target_slot)
    ]
    production = web_apps.get_slot(SlotRef(subscription, group, request.app, PRODUCTION))
    source, target = (production if ref.is_production else web_apps.get_slot(ref) for ref in refs)
    for slot in (source, target):
        if slot.state and slot.state.lower() != "running":
            log.warning(
                f"Slot '{slot.ref}' is {slot.state}: Azure warms up the source slot "
                "before swapping, and a stopped site may fail that warm-up."
            )
    return SwapPlan(request, source, target, production.url, found, web_apps.probes)


def describe_plan(plan: SwapPlan, log: Log) -> None:
    ref = plan.source.ref
    with log.group("Plan"):
        log.info(f"Subscription:   {ref.subscription_id}")
        note = " (found from the app's name)" if plan.found_group else ""
        log.info(f"Resource group: {ref.resource_group}{note}")
        log.info(f"App Service:    {plan.request.app}")
        log.info(
            f"Swap:           {plan.source.ref.slot} -> {plan.target.ref.slot}"
            f"   (preserveVnet: {str(plan.request.preserve_vnet).lower()})"
        )
        log.info(f"Source URL:     {plan.source.url}")
        log.info(f"Target URL:     {plan.target.url}")
        log.info(f"Timeout:        {plan.request.timeout_seconds / 60:g} min")
        if plan.request.action is not Action.SWAP:
            log.info(f"Action:         {plan.request.action.value}")
        checks = plan.request.checks
        path = checks.health_check_path or "the app's healthCheckPath, if it has one"
        log.info(
            f"Health checks:  {path}; {checks.healthy_after} healthy in a row within "
            f"{checks.health_timeout_seconds / 60:g} min"
        )
        log.info(f"Expected:       version {checks.expected_version or '(any)'}")
        rollback = "on failed verification" if checks.rollback_on_failure else "off"
        log.info(f"Swap back:      {rollback}")


def swap_slots(
    plan: SwapPlan,
    web_apps: WebApps,
    log: Log,
    cancellation: Cancellation,
    swap_back: bool = False,
) -> SwapResult:
    """Sends the swap and waits for Azure to finish it, within the request's timeout.

    `swap_back`: the same two slots again, to put back what was live before (the words change).
    """
    run = _SwapRun(plan, web_apps, log, cancellation, "swap back" if swap_back else "swap")
    try:
        return run.execute()
    except StopNow:
        return run.stopped_now()
    finally:
        run.close()


class _SwapRun:
    def __init__(
        self, plan: SwapPlan, web_apps: WebApps, log: Log, cancellation: Cancellation, noun: str
    ) -> None:
        self.noun = noun
        self.plan = plan
        self.web_apps = web_apps
        self.log = log
        self.cancellation = cancellation
        self.sending = False  # a swap request may have left: Azure may have acted on it
        self.sent = False
        self.started_at = 0.0
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._probes = plan.probes
        self._before: list[Future[Probe]] = []
        self.before: tuple[Probe, ...] = ()
        self.after: tuple[Probe, ...] = ()

    @property
    def source(self) -> SlotState:
        return self.plan.source

    @property
    def target(self) -> SlotState:
        return self.plan.target

    def result(self, outcome: Outcome, message: str) -> SwapResult:
        seconds = time.monotonic() - self.started_at if self.started_at else None
        return SwapResult(
            outcome,
            message,
            self.plan.production_url,
            self.source.url,
            seconds,
            self.before,
            self.after,
        )

    def execute(self) -> SwapResult:
        if self.cancellation.requested.is_set():
            return self.result(
                Outcome.CANCELED, f"Canceled before the {self.noun} was sent: nothing changed."
            )
        source, target = self.source.ref, self.target.ref
        if self.noun == "swap back":
            self.log.info(
                f"Swapping back: '{source.slot}' with '{target.slot}' of '{source.app}'..."
            )
        else:
            self.log.info(f"Swapping '{source.slot}' into '{target.slot}' of '{source.app}'...")
        self.started_at = time.monotonic()
        self.sending = True
        try:
            sent = send_swap(
                self.web_apps,
                source,
                target,
                self.plan.request.preserve_vnet,
                self.target.last_swap,
                self.cancellation,
                self.log,
            )
        except CanceledBeforeSend:
            return self.result(
                Outcome.CANCELED,
                f"Canceled ({self.cancellation.signal_name}) "
                f"before the {self.noun} was sent: nothing changed.",
            )
        except SwapFailed as error:
            return self.failed(str(error))
        self.sent = True
        # Production keeps serving the old version until the switch: look now, off the path.
        self._before = [
            self._pool.submit(self._probes.probe, slot.url) for slot in (self.target, self.source)
        ]
        if sent.already_done:
            return self.swapped()
        if sent.running_unseen:
            return self.watch_unseen()
        assert sent.started is not None
        if sent.started.status_url is None:
            return self.swapped()
        return self.wait(sent.started.status_url, sent.started.retry_after)

    def wait(self, status_url: str, retry_after: Optional[float]) -> SwapResult:
        deadline = self.started_at + self.plan.request.timeout_seconds
        delay = retry_after if retry_after is not None else DEFAULT_POLL_SECONDS
        next_progress = self.started_at + PROGRESS_EVERY_SECONDS
        failures = 0
        while True:
            self.cancellation.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            if self.cancellation.grace_over:
                return self.unfinished(f"Canceled ({self.cancellation.signal_name})")
            if time.monotonic() >= deadline:
                return self.unfinished("Timed out")
            try:
                poll = self.web_apps.poll_swap(status_url)
            except AzureCallError as error:
                failures += 1
                self.log.debug(f"Checking the swap's progress failed ({error}); trying again.")
                delay = min(2.0 * failures, 10.0)
                continue
            failures = 0
            self.log_before()
            if poll.state is PollState.SUCCEEDED:
                return self.swapped()
            if poll.state is PollState.FAILED:
                return self.failed(poll.message)
            delay = poll.retry_after if poll.retry_after is not None else DEFAULT_POLL_SECONDS
            if self.cancellation.requested.is_set():
                delay = min(delay, 1.0)
            now = time.monotonic()
            if now >= next_progress:
                self.log.info(
                    f"{self.noun.capitalize()} still running after {now - self.started_at:.0f} s..."
                )
                percent = int(100 * (now - self.started_at) / self.plan.request.timeout_seconds)
                self.log.progress(min(percent, 99), "Swapping slots")
                next_progress = now + PROGRESS_EVERY_SECONDS

    def watch_unseen(self) -> SwapResult:
        """Our swap runs but its progress URL was lost: watch Azure's record of the last swap."""
        deadline = self.started_at + self.plan.request.timeout_seconds
        while time.monotonic() < deadline and not self.cancellation.grace_over:
            self.cancellation.sleep(2.0)
            try:
                if self.web_apps.get_slot(self.target.ref).last_swap != self.target.last_swap:
                    return self.swapped()
            except AzureCallError as error:
                self.log.debug(f"Reading the app failed ({error}); trying again.")
        reason = "Canceled" if self.cancellation.requested.is_set() else "Timed out"
        return self.unfinished(reason)

    def swapped(self) -> SwapResult:
        seconds = time.monotonic() - self.started_at
        source, target = self.source.ref, self.target.ref
        self.log.info(f"{self.noun.capitalize()} completed in {seconds:.1f} s.")
        after = self.report_versions("After the swap")
        message = (
            f"Swapped '{source.slot}' into '{target.slot}' of '{source.app}' "
            f"in {seconds:.1f} s.{after}"
        )
        return self.result(Outcome.SWAPPED, message)

    def failed(self, azure_text: str) -> SwapResult:
        source, target = self.source.ref, self.target.ref
        after = self.report_versions("Now", quick=False)
        return self.result(
            Outcome.FAILED,
            (
                f"Azure did not swap '{source.slot}' into '{target.slot}' of '{source.app}': "
                f"{azure_text}. Azure keeps both slots as they were.{after}"
            ),
        )

    def unfinished(self, reason: str) -> SwapResult:
        seconds = time.monotonic() - self.started_at
        source, target = self.source.ref, self.target.ref
        now = self.report_versions("Now", quick=True)
        return self.result(
            Outcome.UNFINISHED,
            (
                f"{reason} after {seconds:.0f} s while Azure was still swapping "
                f"'{source.slot}' into '{target.slot}' of '{source.app}'. Azure finishes or "
                f"reverts the swap on its own; '{target.slot}' keeps serving its old version "
                f"until Azure switches.{now} Do not start another swap until it ends: check the "
                "app's slotSwapStatus or the versions served."
            ),
        )

    def stopped_now(self) -> SwapResult:
        """SIGTERM: a couple of seconds remain before the agent kills us."""
        self.cancellation.stop_raising()
        stopped = f"Stopped ({self.cancellation.signal_name})"
        if not self.sending:
            return self.result(
                Outcome.CANCELED,
                f"{stopped} before the {self.noun} was sent: nothing changed in Azure.",
            )
        if not self.sent:
            return self.unfinished(
                f"{stopped} while the {self.noun} request was being sent "
                f"(Azure may have started the {self.noun})"
            )
        return self.unfinished(stopped)

    def report_versions(self, label: str, quick: bool = False) -> str:
        """Says which version each slot serves now; returns the same as one sentence."""
        timeout = 1.0 if quick else 5.0
        try:
            slots = (self.target, self.source)
            probes = list(self._pool.map(lambda s: self._probes.probe(s.url, timeout), slots))
        except RuntimeError:  # pool shut down
            return ""
        self.after = tuple(probes)
        self.log_before()
        parts = []
        for slot, probe in zip(slots, probes):
            self.log.info(f"{label}: '{slot.ref.slot}' ({slot.url}) serves {probe.describe()}")
            parts.append(f"'{slot.ref.slot}' serves {probe.describe()}")
        return " " + "; ".join(parts) + "."

    def log_before(self) -> None:
        """Once the probes sent with the swap have answered, says what was live before it."""
        if self._before and all(f.done() for f in self._before):
            probes = [f.result() for f in self._before]
            self._before = []
            self.before = tuple(probes)
            self.log.info(
                "Before the swap: "
                + "; ".join(
                    f"'{s.ref.slot}' served {p.describe()}"
                    for s, p in zip((self.target, self.source), probes)
                )
            )

    def close(self) -> None:
        self._pool.shutdown(wait=False)
