"""The canary before a swap into production: a share of production's traffic goes to the source
slot, step by step, and the slot is judged against production while it serves that share.

Each step is watched (traffic_watch.py): the task probes production's address pinned to the
slot and pinned to production, reads both sides' published minutes, and looks at the evidence
every few seconds. A look that shows the slot worse than production by more than the user
tolerates ends the canary at once; evidence accumulates over the steps. Whatever happens — a bad
step, a timeout, SIGINT/SIGTERM, an error — the routing rule is removed before this returns.
"""

from __future__ import annotations

import time
from typing import NamedTuple, Optional

from runner.azure.arm_pipeline import ArmPipeline, AzureCallError
from runner.azure.traffic_routing import set_route
from runner.cancellation import Cancellation, StopNow
from runner.log import Log
from runner.release.swap import SwapPlan
from runner.release.traffic_verdict import CANCELED, FAILED, PASSED, TOO_LITTLE, SequentialJudge
from runner.release.traffic_watch import (
    SpanResult,
    Target,
    TrafficWatch,
    planned_looks,
    probe_interval,
    span_text,
)
from runner.request import CanarySteps, InsufficientTraffic


class CanaryStep(NamedTuple):
    """One step: its share, what was watched, and its verdict."""

    percent: int
    slot_name: str
    span: SpanResult
    verdict: str  # the span's, or PASSED for too little traffic with InsufficientTraffic: continue
    reason: str  # why it failed, or the evidence it passed on

    def numbers(self) -> str:
        judgement = self.span.judgement
        return judgement.evidence() if judgement is not None else "no look was made"


class CanaryResult(NamedTuple):
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
    alpha: float,
) -> CanaryResult:
    """`alpha`: the canary's share of the release's false-alarm budget."""
    run = _Canary(plan, canary, arm, log, cancellation, probe_path, alpha)
    routed = False
    try:
        for number, percent in enumerate(canary.percentages, 1):
            with log.group(f"Canary step {number}/{len(canary.percentages)}: {percent} %"):
                routed = True
                run.current_percent = percent
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
        alpha: float,
    ) -> None:
        self.plan = plan
        self.canary = canary
        self.arm = arm
        self.log = log
        self.cancellation = cancellation
        self.url = plan.production_url.rstrip("/") + "/" + probe_path.lstrip("/")
        self.steps: list[CanaryStep] = []
        self.removed = False
        self.current_percent = canary.percentages[0]  # the step a SIGTERM may cut short
        looks = planned_looks(canary.step_seconds) * len(canary.percentages)
        self.judge = SequentialJudge(alpha, looks, canary.tolerance)
        name = self.slot_name
        self.traffic = TrafficWatch(
            Target(f"'{name}'", plan.source.ref, self.url, name, probes_in_metrics=True),
            Target("production", plan.target.ref, self.url, "self", probes_in_metrics=True),
            self.judge,
            arm,
            plan.probes,
            log,
            cancellation,
        )

    @property
    def slot_name(self) -> str:
        return self.plan.source.ref.slot

    def watch(self, percent: int) -> CanaryStep:
        seconds = self.canary.step_seconds
        self.log.info(
            f"Routing {percent} % of production's traffic to '{self.slot_name}' for "
            f"{span_text(seconds)}; probing {self.url} pinned to it and to production every "
            f"{probe_interval(seconds):g} s, judging {planned_looks(seconds)} times."
        )
        span = self.traffic.span(seconds)
        return self.step(percent, span)

    def step(self, percent: int, span: SpanResult) -> CanaryStep:
        judgement = span.judgement
        tolerance = self.canary.tolerance
        verdict = span.verdict
        if verdict == FAILED and judgement is not None:
            reason = judgement.reason(tolerance)
            self.log.warning(
                f"Step at {percent} %: failed after {span.seconds:.0f} s of "
                f"{span.planned_seconds:.0f}: {reason}."
            )
        elif verdict == CANCELED:
            reason = "canceled"
        else:
            reason = self.step_evidence(span)
            if verdict == TOO_LITTLE:
                reason = (
                    f"{span.span_requests} requests (user requests and probes) on "
                    f"'{self.slot_name}', fewer than MinRequests {tolerance.min_requests}"
                )
                if self.canary.insufficient_traffic is InsufficientTraffic.CONTINUE:
                    self.log.warning(
                        f"Step at {percent} %: only {reason}; going on "
                        "(InsufficientTraffic: continue), judged on what was seen."
                    )
                    verdict = PASSED
            if verdict == PASSED:
                self.log.info(f"Step at {percent} %: passed: {reason}.")
        return CanaryStep(percent, self.slot_name, span, verdict, reason)

    def step_evidence(self, span: SpanResult) -> str:
        judgement = span.judgement
        if judgement is None:
            return "no look was made"
        return (
            f"{judgement.evidence()}; the slot was not shown worse than production "
            f"(false-alarm budget {100 * self.judge.alpha:g} % for the canary)"
        )

    def interrupted(self) -> CanaryStep:
        """The step SIGTERM cut short, with its probes so far; recorded unless it was judged
        already (percentages only go up)."""
        span = self.traffic.cut_short()
        if self.steps and self.steps[-1].percent == self.current_percent:
            return self.steps[-1]._replace(verdict=CANCELED)
        step = CanaryStep(self.current_percent, self.slot_name, span, CANCELED, "canceled")
        self.steps.append(step)
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
            why = f"too little traffic to judge the step at {step.percent} %: {step.reason}"
        else:
            span = step.span
            early = (
                f"stopped after {span.seconds:.0f} s of {span.planned_seconds:.0f}"
                if span.stopped_early
                else f"after its {span.planned_seconds:.0f} s"
            )
            why = f"the step at {step.percent} % failed ({early}): {step.reason}"
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
