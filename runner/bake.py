"""The bake after a verified swap into production: production is watched for a while, judged
as a canary step is (traffic_verdict.py: Azure Monitor's published minutes plus the task's own
probes), against the limit and against the 5xx rate the old version had before the swap.

A bad rate ends the bake early. Too little traffic is judged at its end, on all its published
minutes: with `InsufficientTraffic: fail` it counts as not proven, and the caller swaps back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from runner.arm_pipeline import ArmPipeline, AzureCallError
from runner.cancellation import Cancellation
from runner.log import Log
from runner.request import Bake, InsufficientTraffic, SlotRef
from runner.slot_metrics import Counts, read_counts
from runner.swap import SwapPlan
from runner.traffic_verdict import FAILED, TOO_LITTLE, ProbeTally, user_requests, verdict

CHECKS = 4  # looks at the metrics during the bake: a bad version is swapped back early


@dataclass(frozen=True)
class BakeResult:
    degraded: bool
    canceled: bool
    message: str
    production: Counts
    before: Counts
    probes: int
    probe_errors: int
    too_little_traffic: bool = False  # with InsufficientTraffic: fail (continue passes)


def bake_production(
    plan: SwapPlan,
    bake: Bake,
    arm: ArmPipeline,
    log: Log,
    cancellation: Cancellation,
    probe_path: str,
    swapped_at: datetime,
) -> BakeResult:
    """Watches production for `bake.seconds` from now; stops early when it degrades."""
    production = plan.target.ref
    url = plan.production_url.rstrip("/") + "/" + probe_path.lstrip("/")
    start = datetime.now(timezone.utc)
    # The old version, over a span as long as the bake, up to the swap.
    span = timedelta(seconds=max(bake.seconds, 60.0))
    before = _counts(arm, production, swapped_at - span, swapped_at, log)
    log.info(
        f"Baking: watching production for {bake.seconds / 60:g} min, probing {url}; before the "
        f"swap it answered {before.describe()}."
    )
    ends = time.monotonic() + bake.seconds
    interval = min(max(bake.seconds / 40, 0.2), 5.0)
    next_check = time.monotonic() + bake.seconds / CHECKS
    probes = ProbeTally()
    now_counts = Counts(0, 0, 0, 0)

    def result(message: str, degraded: bool = False, too_little: bool = False) -> BakeResult:
        return BakeResult(
            degraded,
            False,
            message,
            now_counts,
            before,
            probes.count,
            probes.errors,
            too_little,
        )

    while not cancellation.requested.is_set():
        probe = plan.probes.probe(url, timeout=5.0)
        if probes.record(probe.status):
            log.info(f"Probe of production: {probe.describe()}")
        finished = time.monotonic() >= ends
        if finished or time.monotonic() >= next_check:
            next_check = time.monotonic() + bake.seconds / CHECKS
            now_counts = _counts(arm, production, start, datetime.now(timezone.utc), log)
            users = user_requests(now_counts, probes)
            judged = verdict(
                now_counts,
                before.error_percent,
                probes,
                bake.max_error_rate_percent,
                bake.min_requests,
            )
            numbers = (
                f"production {now_counts.describe()} ({users} from users) since the swap vs "
                f"{before.error_percent:.1f} % before it; probes: {probes.errors} of "
                f"{probes.count} failed"
            )
            if judged == FAILED:
                log.warning(f"Production degraded during the bake: {numbers}.")
                return result(numbers, degraded=True)
            if finished and judged == TOO_LITTLE:
                too_little = (
                    f"{numbers}: {users} user requests, fewer than MinRequests {bake.min_requests}"
                )
                if bake.insufficient_traffic is InsufficientTraffic.FAIL:
                    log.warning(f"Too little traffic during the bake to judge it: {too_little}.")
                    return result(too_little, too_little=True)
                log.warning(
                    f"Too little traffic during the bake to judge it ({too_little}); passing it "
                    "(InsufficientTraffic: continue), judged on the probes."
                )
            if finished:
                log.info(f"Bake passed: {numbers}.")
                return result(numbers)
        cancellation.sleep(min(interval, max(0.0, ends - time.monotonic())))
    return BakeResult(
        False,
        True,
        f"Canceled ({cancellation.signal_name}) during the bake",
        now_counts,
        before,
        probes.count,
        probes.errors,
    )


def _counts(arm: ArmPipeline, ref: SlotRef, start: datetime, end: datetime, log: Log) -> Counts:
    try:
        return read_counts(arm, ref, start, end)
    except AzureCallError as error:
        log.info(f"Could not read production's metrics ({error}); judging on the probes.")
        return Counts(0, 0, 0, 0)
