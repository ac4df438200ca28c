"""The bake after a verified swap into production: production is watched for a while, judged
as a canary step is (Azure Monitor's published minutes plus the task's own probes), against the
limit and against the 5xx rate the old version had before the swap."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from runner.arm_pipeline import ArmPipeline, AzureCallError
from runner.cancellation import Cancellation
from runner.log import Log
from runner.request import Bake, SlotRef
from runner.slot_metrics import Counts, read_counts
from runner.swap import SwapPlan

CHECKS = 4  # looks at the metrics during the bake: a bad version is swapped back early
PROBE_FAILURES_TO_FAIL = 2


@dataclass(frozen=True)
class BakeResult:
    degraded: bool
    canceled: bool
    message: str
    production: Counts
    before: Counts
    probes: int
    probe_errors: int


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
    limit = bake.max_error_rate_percent
    ends = time.monotonic() + bake.seconds
    interval = min(max(bake.seconds / 40, 0.2), 5.0)
    next_check = time.monotonic() + bake.seconds / CHECKS
    probes = errors = 0
    now_counts = Counts(0, 0, 0, 0)
    while not cancellation.requested.is_set():
        probe = plan.probes.probe(url, timeout=5.0)
        probes += 1
        if probe.status == 0 or probe.status >= 500:
            errors += 1
            log.info(f"Probe of production: {probe.describe()}")
        finished = time.monotonic() >= ends
        if finished or time.monotonic() >= next_check:
            next_check = time.monotonic() + bake.seconds / CHECKS
            now_counts = _counts(arm, production, start, datetime.now(timezone.utc), log)
            probe_rate = 100.0 * errors / probes
            bad_metrics = (
                now_counts.error_percent > limit and now_counts.error_percent > before.error_percent
            )
            bad_probes = errors >= PROBE_FAILURES_TO_FAIL and probe_rate > limit
            numbers = (
                f"production {now_counts.describe()} since the swap vs "
                f"{before.error_percent:.1f} % before it; probes: {errors} of {probes} failed"
            )
            if bad_metrics or bad_probes:
                log.warning(f"Production degraded during the bake: {numbers}.")
                return BakeResult(True, False, numbers, now_counts, before, probes, errors)
            if finished:
                log.info(f"Bake passed: {numbers}.")
                return BakeResult(False, False, numbers, now_counts, before, probes, errors)
        cancellation.sleep(min(interval, max(0.0, ends - time.monotonic())))
    return BakeResult(
        False,
        True,
        f"Canceled ({cancellation.signal_name}) during the bake",
        now_counts,
        before,
        probes,
        errors,
    )


def _counts(arm: ArmPipeline, ref: SlotRef, start: datetime, end: datetime, log: Log) -> Counts:
    try:
        return read_counts(arm, ref, start, end)
    except AzureCallError as error:
        log.info(f"Could not read production's metrics ({error}); judging on the probes.")
        return Counts(0, 0, 0, 0)
