"""The canary before a swap into production: a share of production's traffic goes to the source
slot, step by step, and each step is judged before the next.

Each verdict rests on Azure Monitor's published minutes (`Requests`, `Http5xx`) of the slot and
of production, and on the task's own probes of production's address pinned to the slot with the
routing cookie (the newest minutes are not published yet). Whatever happens — a bad step, a
timeout, SIGINT/SIGTERM, an error — the routing rule is removed before this returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Optional

from runner.arm_pipeline import ArmPipeline, AzureCallError
from runner.cancellation import Cancellation, StopNow
from runner.log import Log
from runner.request import CanarySteps, InsufficientTraffic
from runner.slot_metrics import Counts, read_counts
from runner.swap import SwapPlan
from runner.traffic_routing import set_route
from runner.traffic_verdict import (
    CANCELED,
    PASSED,
    TOO_LITTLE,
    ProbeTally,
    user_requests,
    verdict,
)


@dataclass(frozen=True)
class CanaryStep:
    """One step's numbers and its verdict."""

    percent: int
    slot_name: str
    slot: Counts
    production: Counts
    probes: int
    probe_errors: int
    verdict: str
    rests_on: str
    user_requests: int  # the slot's requests in the published minutes, less the task's probes

    @property
    def probe_error_percent(self) -> float:
        return 100.0 * self.probe_errors / self.probes if self.probes else 0.0

    def numbers(self) -> str:
        return (
            f"{self.slot.describe()} on {self.slot_name} vs "
            f"{self.production.error_percent:.1f} % on production at {self.percent} %; "
            f"probes: {self.probe_errors} of {self.probes} failed"
        )


@dataclass(frozen=True)
class CanaryResult:
    passed: bool
    message: str
    steps: tuple[CanaryStep, ...]
    canceled: bool = False


def run_canary(
    plan: SwapPlan,
    canary: CanarySteps,
    arm: ArmPipeline,
    log: Log,
    cancellation: Cancellation,
    probe_path: str,
) -> CanaryResult:
    run = _Canary(plan, canary, arm, log, cancellation, probe_path)
    routed = False
    try:
        for number, percent in enumerate(canary.percentages, 1):
            with log.group(f"Canary step {number}/{len(canary.percentages)}: {percent} %"):
                routed = True
                run.begin(percent)
                set_route(arm, plan.target.ref, plan.source, percent, log)
                step = run.watch(percent)
            run.steps.append(step)
            if step.verdict != PASSED:
                return run.stopped(step, routed)
        return run.end(routed)
    except StopNow:
        # SIGTERM: the rule is removed (stopped() does that first); the steps so far still
        # reach the summary.
        cancellation.stop_raising()
        return run.stopped(run.interrupted(), routed)
    except BaseException:
        run.remove_rule(routed)
        raise


class _Canary:
    def __init__(
        self,
        plan: SwapPlan,
        canary: CanarySteps,
        arm: ArmPipeline,
        log: Log,
        cancellation: Cancellation,
        probe_path: str,
    ) -> None:
        self.plan = plan
        self.canary = canary
        self.arm = arm
        self.log = log
        self.cancellation = cancellation
        self.url = plan.production_url.rstrip("/") + "/" + probe_path.lstrip("/")
        self.steps: list[CanaryStep] = []
        self.removed = False
        # The step being watched, for a SIGTERM that cuts it short.
        self.current_percent = canary.percentages[0]
        self.probes = ProbeTally()

    @property
    def slot_name(self) -> str:
        return self.plan.source.ref.slot

    def begin(self, percent: int) -> None:
        self.current_percent = percent
        self.probes = ProbeTally()

    def watch(self, percent: int) -> CanaryStep:
        seconds = self.canary.step_seconds
        self.log.info(
            f"Routing {percent} % of production's traffic to '{self.slot_name}' for "
            f"{seconds / 60:g} min; probing {self.url} pinned to it."
        )
        start = datetime.now(timezone.utc)
        ends = time.monotonic() + seconds
        interval = min(max(seconds / 20, 0.2), 5.0)
        probes = self.probes
        while time.monotonic() < ends and not self.cancellation.requested.is_set():
            probe = self.plan.probes.probe(self.url, timeout=5.0, routed_to=self.slot_name)
            if probes.record(probe.status):
                self.log.info(f"Probe pinned to '{self.slot_name}': {probe.describe()}")
            self.cancellation.sleep(min(interval, max(0.0, ends - time.monotonic())))
        if self.cancellation.requested.is_set():
            # SIGINT leaves time: the rule goes first, then what Azure has published so far.
            self.remove_rule(True)
        end = datetime.now(timezone.utc)
        try:
            slot = read_counts(self.arm, self.plan.source.ref, start, end)
            production = read_counts(self.arm, self.plan.target.ref, start, end)
        except AzureCallError as error:
            self.log.warning(f"Could not read the step's metrics ({error}): judging on the probes.")
            slot = production = _NONE
        if self.cancellation.requested.is_set():
            users = user_requests(slot, probes)
            return self.step(percent, slot, production, CANCELED, "canceled", users)
        return self.judge(percent, slot, production)

    def step(
        self,
        percent: int,
        slot: Counts,
        production: Counts,
        verdict: str,
        rests_on: str,
        users: int,
    ) -> CanaryStep:
        probes = self.probes
        return CanaryStep(
            percent,
            self.slot_name,
            slot,
            production,
            probes.count,
            probes.errors,
            verdict,
            rests_on,
            users,
        )

    def interrupted(self) -> CanaryStep:
        """The step SIGTERM cut short, with its probes so far (no time is left to read its
        metrics); recorded unless it was judged already (percentages only go up)."""
        step = self.step(self.current_percent, _NONE, _NONE, CANCELED, "canceled", 0)
        if self.steps and self.steps[-1].percent == step.percent:
            return replace(self.steps[-1], verdict=CANCELED)
        self.steps.append(step)
        return step

    def judge(self, percent: int, slot: Counts, production: Counts) -> CanaryStep:
        probes = self.probes
        rests_on = (
            f"Azure Monitor: {slot.minutes} published minutes "
            f"({slot.unpublished} not published yet; {probes.within(slot)} of the "
            f"{probes.count} probes fall in them), and the probes"
        )
        limit, least = self.canary.max_error_rate_percent, self.canary.min_requests
        users = user_requests(slot, probes)
        judged = verdict(slot, production.error_percent, probes, limit, least)
        if (
            judged == TOO_LITTLE
            and self.canary.insufficient_traffic is InsufficientTraffic.CONTINUE
        ):
            self.log.warning(
                f"Step at {percent} %: only {users} user requests reached "
                f"'{self.slot_name}' (MinRequests {least}); going on "
                "(InsufficientTraffic: continue), judged on the probes."
            )
            judged = PASSED
        step = self.step(percent, slot, production, judged, rests_on, users)
        self.log.info(f"Step at {percent} %: {step.numbers()}: {judged} (rests on {rests_on}).")
        return step

    def remove_rule(self, routed: bool) -> Optional[str]:
        """Production takes all its traffic again. Returns the error, if Azure refused."""
        if not routed or self.removed:
            return None
        started = time.monotonic()
        try:
            set_route(self.arm, self.plan.target.ref, self.plan.source, 0, self.log)
        except AzureCallError as error:
            self.log.error(
                f"Could not remove the routing rule of '{self.slot_name}': {error}. Remove it "
                f"yourself: swap-slots route --app {self.plan.source.ref.app} --slot "
                f"{self.slot_name} --percent 0"
            )
            return str(error)
        self.removed = True
        self.log.info(
            f"Routing rule removed in {time.monotonic() - started:.1f} s: production serves "
            "all its traffic again."
        )
        return None

    def stopped(self, step: CanaryStep, routed: bool) -> CanaryResult:
        failed = self.remove_rule(routed)
        removed = (
            f"The routing rule could not be removed ({failed})."
            if failed
            else "The routing rule is removed: production takes all traffic again."
        )
        if step.verdict == CANCELED:
            return CanaryResult(
                False,
                f"Canceled ({self.cancellation.signal_name}) during the canary step at "
                f"{step.percent} %. {removed} No swap was sent.",
                tuple(self.steps),
                canceled=True,
            )
        if step.verdict == TOO_LITTLE:
            why = (
                f"too little traffic to judge the step at {step.percent} %: "
                f"{step.user_requests} user requests on "
                f"'{self.slot_name}', fewer than MinRequests {self.canary.min_requests}"
            )
        else:
            why = f"the step failed: {step.numbers()}"
        return CanaryResult(
            False,
            f"The canary stopped the swap: {why}. {removed} No swap was sent.",
            tuple(self.steps),
        )

    def end(self, routed: bool) -> CanaryResult:
        failed = self.remove_rule(routed)
        if failed:
            return CanaryResult(
                False,
                f"Every canary step passed, but the routing rule could not be removed "
                f"({failed}), so no swap was sent.",
                tuple(self.steps),
            )
        shares = ", ".join(f"{s.percent} %" for s in self.steps)
        return CanaryResult(True, f"Canary passed at {shares}.", tuple(self.steps))


_NONE = Counts(0, 0, 0, 0)
