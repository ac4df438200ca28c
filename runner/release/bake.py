"""The bake after a verified swap into production: production is watched for a while and judged
as a canary step is (traffic_watch.py), against the old version: its own minutes on production
before the swap, and the old version itself, which now runs in the source slot, probed at the
same moments as production.

As soon as the evidence shows production worse than the old version by more than the user
tolerates, the bake ends and the caller swaps back. Too little evidence is judged at its end:
with `InsufficientTraffic: fail` it counts as not proven, and the caller swaps back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from runner.azure.arm_pipeline import ArmPipeline
from runner.cancellation import Cancellation
from runner.log import Log
from runner.release.swap import SwapPlan
from runner.release.traffic_verdict import CANCELED, FAILED, TOO_LITTLE, SequentialJudge
from runner.release.traffic_watch import (
    SpanResult,
    Target,
    TrafficWatch,
    planned_looks,
    probe_interval,
    span_text,
)
from runner.request import Bake, InsufficientTraffic

SHORTEST_BASELINE = timedelta(minutes=10)  # of the old version's minutes before the swap


class BakeResult(NamedTuple):
    degraded: bool
    canceled: bool
    message: str
    span: SpanResult
    too_little_traffic: bool = False  # with InsufficientTraffic: fail (continue passes)


def bake_production(
    plan: SwapPlan,
    bake: Bake,
    arm: ArmPipeline,
    log: Log,
    cancellation: Cancellation,
    probe_path: str,
    swapped_at: datetime,
    alpha: float,
) -> BakeResult:
    """Watches production for `bake.seconds` from now; stops early when it degrades."""
    path = "/" + probe_path.lstrip("/")
    production_url = plan.production_url.rstrip("/") + path
    old_url = plan.source.url.rstrip("/") + path
    before = max(timedelta(seconds=bake.seconds), SHORTEST_BASELINE)
    watch = TrafficWatch(
        Target("production", plan.target.ref, production_url, None, probes_in_metrics=True),
        Target(
            "the old version",
            plan.target.ref,
            old_url,
            None,
            probes_in_metrics=False,  # probed in the source slot, counted there
            window=(swapped_at - before, swapped_at),
        ),
        SequentialJudge(alpha, planned_looks(bake.seconds), bake.tolerance),
        arm,
        plan.probes,
        log,
        cancellation,
    )
    log.info(
        f"Baking: watching production for {span_text(bake.seconds)}, probing {production_url} "
        f"and the old version at {old_url} every {probe_interval(bake.seconds):g} s; the old "
        f"version's baseline minutes: the {span_text(before.total_seconds())} before the swap."
    )
    span = watch.span(bake.seconds)
    judgement = span.judgement
    if span.verdict == CANCELED:
        return BakeResult(
            False, True, f"Canceled ({cancellation.signal_name}) during the bake", span
        )
    assert judgement is not None
    if span.verdict == FAILED:
        early = (
            f"after {span.seconds:.0f} s of {span.planned_seconds:.0f}"
            if span.stopped_early
            else f"after its {span.planned_seconds:.0f} s"
        )
        reason = f"{judgement.reason(bake.tolerance)}; stopped {early}"
        log.warning(f"Production degraded during the bake: {reason}.")
        return BakeResult(True, False, reason, span)
    numbers = judgement.evidence()
    if span.verdict == TOO_LITTLE:
        too_little = (
            f"{numbers}: {span.span_requests} requests (user requests and probes), fewer than "
            f"MinRequests {bake.tolerance.min_requests}"
        )
        if bake.insufficient_traffic is InsufficientTraffic.FAIL:
            log.warning(f"Too little traffic during the bake to judge it: {too_little}.")
            return BakeResult(False, False, too_little, span, too_little_traffic=True)
        log.warning(
            f"Too little traffic during the bake to judge it ({too_little}); passing it "
            "(InsufficientTraffic: continue)."
        )
    log.info(f"Bake passed: {numbers}.")
    return BakeResult(False, False, numbers, span)
