"""One app's release, as the request's action asks: gate, swap, verify, swap back when
production is wrong; or the steps of a swap with preview.

Whatever happens, the report says what Azure did and what each slot serves at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Optional

from runner.azure.traffic_routing import clear_leftover_rule
from runner.azure.web_apps import SettingDifference, WebApps
from runner.cancellation import Cancellation, StopNow
from runner.log import Log
from runner.outcome import Outcome
from runner.release.app_report import AppReport, SlotVersion, report_for, sentence, versions_now
from runner.release.health_gate import HealthCheck, HealthRules, wait_until_healthy
from runner.release.pre_swap_reads import health_rules
from runner.release.preview import cancel_preview, show_differences, start_preview
from runner.release.swap import SwapPlan, SwapResult, describe_plan, plan_swap, swap_slots
from runner.request import Action, SwapRequest

if TYPE_CHECKING:
    from runner.release.bake import BakeResult
    from runner.release.canary import CanaryStep


def plan_and_release(
    request: SwapRequest,
    web_apps: WebApps,
    log: Log,
    release_log: Log,
    cancellation: Cancellation,
    planned: Callable[[Sequence[SwapPlan]], None],
) -> tuple[AppReport, tuple[AppReport, ...]]:
    """What every host runs: the plan (of each app), then the release; `planned` hears the plans
    before anything changes (a host's report listens to their probes). Returns the result and,
    with AdditionalWebApps, each app's."""
    if not request.additional_apps:
        plan = plan_swap(request, web_apps, log)
        planned([plan])
        describe_plan(plan, release_log)
        return release(plan, web_apps, release_log, cancellation), ()
    # Loaded only here: a one-app swap starts without the set's modules.
    from runner.release.release_set import release_set
    from runner.release.set_plan import describe_additional_apps, plan_apps

    plans = plan_apps(request, web_apps, log)
    planned(plans)
    describe_plan(plans[0], release_log)
    describe_additional_apps(plans, release_log)
    released = release_set(plans, web_apps, release_log, cancellation)
    return released.combined, released.apps


def release(plan: SwapPlan, web_apps: WebApps, log: Log, cancellation: Cancellation) -> AppReport:
    action = plan.request.action
    if action is Action.CANCEL_PREVIEW:
        return cancel_preview(plan, web_apps, log)
    reads = plan.reads
    assert reads is not None, "plan_swap reads ahead for every action but Cancel Swap"
    rules = health_rules(plan.request, reads, log)
    if action is Action.START_PREVIEW:
        return start_preview(plan, rules, reads.differences, web_apps, log, cancellation)
    if action is Action.COMPLETE_PREVIEW and not plan.source.target_swap_slot:
        log.warning(
            f"No swap with preview is prepared on '{plan.source.ref}': Complete Swap swaps "
            "the slots now, as Swap Slots does."
        )
    run = _Release(plan, rules, web_apps, log, cancellation)
    try:
        return run.execute(reads.differences, reads.leftover)
    except StopNow:
        cancellation.stop_raising()
        return run.stopped()


class _Release:
    def __init__(
        self,
        plan: SwapPlan,
        rules: HealthRules,
        web_apps: WebApps,
        log: Log,
        cancellation: Cancellation,
    ) -> None:
        self.plan = plan
        self.rules = rules
        self.web_apps = web_apps
        self.log = log
        self.cancellation = cancellation
        self.checks: list[HealthCheck] = []
        self.swap: Optional[SwapResult] = None
        self.before: tuple[SlotVersion, ...] = ()
        self.canary: tuple[CanaryStep, ...] = ()
        self.baked: Optional[BakeResult] = None
        self.swapped_at = datetime.now(timezone.utc)

    @property
    def false_alarm_budget(self) -> float:
        """Each verdict's share of the release's: the canary's and the bake's add up to it."""
        from runner.release.traffic_verdict import FALSE_ALARM_RATE

        request = self.plan.request
        verdicts = (request.canary is not None) + (request.bake is not None)
        return FALSE_ALARM_RATE / max(1, verdicts)

    @property
    def target(self) -> str:
        return self.plan.target.ref.slot

    def execute(
        self, differences: Future[list[SettingDifference]], leftover: Optional[Future[float]]
    ) -> AppReport:
        show_differences(self.plan, differences, self.log)
        canary = self.plan.request.canary
        if leftover is not None:
            # A rule an interrupted canary left would send users to the old version after the
            # swap: cleared first, canary or not.
            production = self.plan.target.ref
            clear_leftover_rule(
                self.web_apps.arm, production, self.plan.source, leftover.result(), self.log
            )
        if not self.gate():
            if self.checks[-1].canceled:
                return self.finish(
                    Outcome.CANCELED,
                    f"Canceled ({self.cancellation.signal_name}) during the health gate: "
                    "no swap was sent, nothing changed.",
                )
            return self.finish(
                Outcome.NOT_STARTED,
                f"The health gate stopped the swap: '{self.plan.source.ref.slot}' "
                f"({self.checks[-1].url}) {self.checks[-1].problem()} "
                f"({self.checks[-1].details()}). "
                "No swap was sent.",
            )
        if canary is not None:
            from runner.release.canary import run_canary  # only a canary's run loads its analysis

            result = run_canary(
                self.plan,
                canary,
                self.web_apps.arm,
                self.log,
                self.cancellation,
                self.rules.path or "/",
                self.false_alarm_budget,
            )
            self.canary = result.steps
            if not result.passed:
                outcome = Outcome.CANCELED if result.canceled else Outcome.CANARY_FAILED
                return self.finish(outcome, result.message)
            self.log.info(result.message)
        self.swapped_at = datetime.now(timezone.utc)
        with self.log.group(f"Swap: '{self.plan.source.ref.slot}' into '{self.target}'"):
            swap = swap_slots(self.plan, self.web_apps, self.log, self.cancellation)
        self.swap = swap
        probes = list(swap.before)
        if len(probes) == 2 and self.checks and self.checks[-1].last is not None:
            # The swap restarts the source with the target's settings as it starts: what the
            # source served before is what the gate saw last.
            probes[1] = self.checks[-1].last
        self.before = tuple(
            SlotVersion.of(s.ref.slot, p)
            for s, p in zip((self.plan.target, self.plan.source), probes)
        )
        if swap.outcome is not Outcome.SWAPPED:
            return self.finish(swap.outcome, swap.message, final_probe=False)
        return self.verify()

    def gate(self) -> bool:
        source = self.plan.source
        with self.log.group(f"Health gate: '{source.ref.slot}'"):
            if not self.rules.checks_anything:
                self.log.info(
                    "No health gate ran: HealthCheckPath is empty, the app has no "
                    "healthCheckPath in its site config, and ExpectedVersion is empty."
                )
                return True
            check = wait_until_healthy(
                f"gate: {source.ref.slot}",
                source.url,
                self.rules,
                self.cancellation,
                self.log,
                self.plan.probes,
            )
            self.checks.append(check)
            self.log.info(f"Health gate {check.summary()}.")
        return check.passed

    def verify(self) -> AppReport:
        assert self.swap is not None
        swapped = self.swap.message
        if not self.rules.checks_anything:
            self.log.info(
                "Nothing to verify after the swap: no health check path and no ExpectedVersion."
            )
            return self.bake(swapped)
        with self.log.group(f"Verification: '{self.target}'"):
            check = wait_until_healthy(
                f"verify: {self.target}",
                self.plan.target.url,
                self.rules,
                self.cancellation,
                self.log,
                self.plan.probes,
            )
            self.checks.append(check)
            self.log.info(f"Verification {check.summary()}.")
        if check.passed:
            return self.bake(f"{swapped} '{self.target}' verified.")
        return self.roll_back(f"'{self.target}' failed verification after the swap", check)

    def bake(self, swapped: str) -> AppReport:
        """With BakeMinutes: production watched a while longer, swapped back if it degrades."""
        bake = self.plan.request.bake
        if bake is None:
            return self.finish(Outcome.SWAPPED, swapped, final_probe=False)
        with self.log.group(f"Bake: '{self.target}'"):
            from runner.release.bake import bake_production  # only a bake's run loads its analysis

            result = bake_production(
                self.plan,
                bake,
                self.web_apps.arm,
                self.log,
                self.cancellation,
                self.rules.path or "/",
                self.swapped_at,
                self.false_alarm_budget,
            )
        self.baked = result
        if result.canceled:
            return self.finish(
                Outcome.UNVERIFIED,
                f"{swapped} {result.message}: the bake did not end and no swap back was started.",
            )
        if result.too_little_traffic:
            # InsufficientTraffic: fail: a version the bake could not judge does not stay live.
            return self.roll_back(
                f"Too little traffic reached '{self.target}' during the bake to judge it "
                f"({result.message})",
                None,
            )
        if not result.degraded:
            return self.finish(Outcome.SWAPPED, f"{swapped} Baked: {result.message}.")
        return self.roll_back(f"'{self.target}' degraded during the bake ({result.message})", None)

    def roll_back(self, why: str, check: Optional[HealthCheck]) -> AppReport:
        """Production failed its verification (`check`) or degraded during the bake."""
        failed = f"{why}." if check is None else f"{why}: it {check.problem()} ({check.details()})."
        if check is not None and check.canceled:
            swapped = self.swap.message if self.swap else ""
            return self.finish(
                Outcome.UNVERIFIED,
                f"{swapped} Canceled ({self.cancellation.signal_name}) while verifying "
                f"'{self.target}': it was not verified and no swap back was started.",
            )
        if not self.plan.request.checks.rollback_on_failure:
            return self.finish(
                Outcome.VERIFICATION_FAILED,
                f"{failed} RollbackOnFailure is false, so the slots stay swapped.",
            )
        self.log.warning(f"{failed} Swapping back.")
        with self.log.group("Swap back"):
            from runner.release.rollback import (
                swap_back,  # loaded when needed: most runs never swap back
            )

            rollback = swap_back(self.plan, self.rules, self.web_apps, self.log, self.cancellation)
        if rollback.check is not None:
            self.checks.append(rollback.check)
        what = rollback.meaning(self.target)
        return self.finish(
            rollback.outcome,
            f"{failed} {rollback.message} {what}",
            rollback_seconds=rollback.seconds,
        )

    def stopped(self) -> AppReport:
        """SIGTERM outside a swap (the swap's own run reports itself)."""
        name = self.cancellation.signal_name
        if self.swap is None:
            return self.finish(
                Outcome.CANCELED,
                f"Stopped ({name}) before the swap was sent: nothing changed in Azure.",
                timeout=1.0,
            )
        return self.finish(
            Outcome.UNVERIFIED,
            f"{self.swap.message} Stopped ({name}) before '{self.target}' was verified; "
            "no swap back was started.",
            timeout=1.0,
        )

    def finish(
        self,
        outcome: Outcome,
        message: str,
        final_probe: bool = True,
        rollback_seconds: Optional[float] = None,
        timeout: float = 5.0,
    ) -> AppReport:
        """The report, ending with what each slot serves now (from the swap's own last look, or
        probed again)."""
        swap = self.swap
        if not final_probe and swap is not None and swap.after:
            after = tuple(
                SlotVersion.of(s.ref.slot, p)
                for s, p in zip((self.plan.target, self.plan.source), swap.after)
            )
        else:
            if self.cancellation.requested.is_set():
                timeout = 1.0
            try:
                after = versions_now(self.plan, timeout)
                message = f"{message} Now {sentence(after)}"
            except StopNow:  # SIGTERM: the report must go out before the agent's kill
                self.cancellation.stop_raising()
                after = ()
        return report_for(
            self.plan,
            outcome,
            message,
            before=self.before,
            after=after,
            checks=tuple(self.checks),
            swap_seconds=swap.seconds if swap else None,
            rollback_seconds=rollback_seconds,
            canary=self.canary,
            bake=self.baked,
        )
