"""The swap, start to finish: plan, send, wait, report what each slot serves.

Reads no environment and writes no logging commands: it gets typed values and a `Log`.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from runner.azure.web_apps import AzureCallError, PollState, SlotState, WebApps
from runner.cancellation import Cancellation, StopNow
from runner.log import Log
from runner.outcome import Outcome
from runner.probes import Probe, SlotProbes
from runner.release.pre_swap_reads import READS, PreSwapReads, start_pre_swap_reads
from runner.release.swap_failures import explain
from runner.release.swap_preflight import WarmUp, check_preflight, refuse_unswappable
from runner.release.swap_sending import CanceledBeforeSend, SwapFailed, send_swap
from runner.request import PRODUCTION, Action, SlotRef, SwapRequest

DEFAULT_POLL_SECONDS = 1.0  # when Azure sends no Retry-After
UNSEEN_POLL_SECONDS = 2.0  # Azure's record of the last swap, when the progress URL was lost
PROGRESS_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class SwapPlan:
    request: SwapRequest
    source: SlotState
    target: SlotState
    production_url: str
    found_group: bool
    # How the slots' own sites are reached: through the agent's proxy and certificates.
    probes: SlotProbes = field(compare=False, repr=False)
    # The release's reads, sent with the slots' (none for Cancel Swap).
    reads: Optional[PreSwapReads] = field(default=None, compare=False, repr=False)
    # The source's warm-up settings, when they could be read (not for Cancel Swap).
    warm_up: Optional[WarmUp] = None


class SwapResult(NamedTuple):
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
    # The slots are read together, and with them what the release reads before it changes
    # anything: on Azure each read is a round trip of its own.
    production_ref = SlotRef(subscription, group, request.app, PRODUCTION)
    pool = ThreadPoolExecutor(max_workers=3 + READS)
    try:
        reads = {
            ref: pool.submit(web_apps.get_slot, ref)
            for ref in (production_ref, *refs)
            if not ref.is_production or ref is production_ref
        }
        ahead = None
        if request.action is not Action.CANCEL_PREVIEW:
            ahead = start_pre_swap_reads(request, refs[0], refs[1], web_apps, pool)
        production = reads[production_ref].result()  # an unknown app is the first thing to say
        source, target = (production if ref.is_production else reads[ref].result() for ref in refs)
        refuse_unswappable(request, source, target, production)
        preflight = check_preflight(source, ahead, log) if ahead is not None else None
    finally:
        pool.shutdown(wait=False)  # the release's reads go on; a failed plan leaves them unread
    for warning in preflight.warnings if preflight is not None else ():
        log.warning(warning)
    warm_up = preflight.warm_up if preflight is not None else None
    # The slots' own sites, through the same network settings as ARM.
    probes = SlotProbes(web_apps.network.session())
    return SwapPlan(request, source, target, production.url, found, probes, ahead, warm_up)


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
        if plan.warm_up is not None:
            log.info(f"Azure warm-up:  {plan.warm_up.describe()}")


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
    run = SwapRun(plan, web_apps, log, cancellation, swap_back)
    try:
        result = run.begin()
        while result is None:
            cancellation.sleep_until(run.next_poll_at)
            result = run.poll()
        return result
    except StopNow:
        return run.stopped_now()
    finally:
        run.close()


class SwapRun:
    """One app's swap: `begin()` sends it, then `poll()` at `next_poll_at` until it returns how
    it ended. Several runs can be watched in one loop (`runner.release.swaps_together`), which
    reports their progress itself (`several`)."""

    def __init__(
        self,
        plan: SwapPlan,
        web_apps: WebApps,
        log: Log,
        cancellation: Cancellation,
        swap_back: bool = False,
        several: bool = False,
    ) -> None:
        self.noun = "swap back" if swap_back else "swap"
        self.plan = plan
        self.web_apps = web_apps
        self.log = log
        self.cancellation = cancellation
        self.several = several
        self.sending = False  # a swap request may have left: Azure may have acted on it
        self.sent = False
        self.started_at = 0.0
        self.deadline = 0.0
        self.next_poll_at = 0.0
        self._status_url: Optional[str] = None  # None while running: Azure's record is watched
        self._failures = 0
        self._next_progress = 0.0
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

    def begin(self) -> Optional[SwapResult]:
        """Sends the swap. Returns how it ended when that is known already (canceled, refused,
        done at once); None while Azure is swapping."""
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
        self.deadline = self.started_at + self.plan.request.timeout_seconds
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
        now = time.monotonic()
        self._next_progress = self.started_at + PROGRESS_EVERY_SECONDS
        if sent.running_unseen:
            # Our swap runs but its progress URL was lost: watch Azure's record of the last swap.
            self.next_poll_at = now + UNSEEN_POLL_SECONDS
            return None
        assert sent.started is not None
        if sent.started.status_url is None:
            return self.swapped()
        self._status_url = sent.started.status_url
        delay = sent.started.retry_after
        self.next_poll_at = min(
            now + (delay if delay is not None else DEFAULT_POLL_SECONDS), self.deadline
        )
        return None

    def poll(self) -> Optional[SwapResult]:
        """One look at the running swap; None while it still runs (look again at next_poll_at)."""
        if self.cancellation.grace_over:
            return self.unfinished(f"Canceled ({self.cancellation.signal_name})")
        if time.monotonic() >= self.deadline:
            return self.unfinished("Timed out")
        if self._status_url is None:
            return self._look_at_last_swap()
        try:
            poll = self.web_apps.poll_swap(self._status_url)
        except AzureCallError as error:
            self._failures += 1
            self.log.debug(f"Checking the swap's progress failed ({error}); trying again.")
            self._again(min(2.0 * self._failures, 10.0))
            return None
        self._failures = 0
        self.log_before()
        if poll.state is PollState.SUCCEEDED:
            return self.swapped()
        if poll.state is PollState.FAILED:
            return self.failed(poll.message)
        self._again(poll.retry_after if poll.retry_after is not None else DEFAULT_POLL_SECONDS)
        now = time.monotonic()
        if not self.several and now >= self._next_progress:
            self.log.info(
                f"{self.noun.capitalize()} still running after {now - self.started_at:.0f} s..."
            )
            percent = int(100 * (now - self.started_at) / self.plan.request.timeout_seconds)
            self.log.progress(min(percent, 99), "Swapping slots")
            self._next_progress = now + PROGRESS_EVERY_SECONDS
        return None

    def _look_at_last_swap(self) -> Optional[SwapResult]:
        try:
            if self.web_apps.get_slot(self.target.ref).last_swap != self.target.last_swap:
                return self.swapped()
        except AzureCallError as error:
            self.log.debug(f"Reading the app failed ({error}); trying again.")
        self._again(UNSEEN_POLL_SECONDS)
        return None

    def _again(self, delay: float) -> None:
        if self.cancellation.requested.is_set():
            delay = min(delay, 1.0)  # within the grace: learn the end quickly
        self.next_poll_at = min(time.monotonic() + delay, self.deadline)

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
        why = explain(azure_text, source, target)
        return self.result(
            Outcome.FAILED,
            (
                f"Azure did not swap '{source.slot}' into '{target.slot}' of '{source.app}': "
                f"{azure_text}. Azure keeps both slots as they were.{after}"
                + (f" {why}" if why else "")
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
