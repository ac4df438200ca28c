"""What a release reads before it changes anything, asked for together with the plan's reads of
the slots.

On Azure each read is a round trip from the agent to ARM. Sent with the slots' own reads, the
release's reads (what the swap changes, the configured health path, a leftover routing rule)
add no round trip before the gate and the swap. They only read: when the plan then fails (an
unknown slot, say), nothing has changed and their answers are not used.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple, Optional

from runner.health_gate import HealthRules, resolve_rules
from runner.log import Log
from runner.request import Action, SlotRef, SwapRequest
from runner.traffic_routing import routed_percent
from runner.web_apps import AzureCallError, SettingDifference, WebApps

READS = 4  # at most: the differences, the leftover rule, two health paths


class PreSwapReads(NamedTuple):
    differences: Future[list[SettingDifference]]
    # The share of production's traffic a rule still routes to the source, when the release
    # clears such a rule first (a swap into production).
    leftover: Optional[Future[float]]
    # The target's, then the source's, configured healthCheckPath; none when HealthCheckPath
    # is given.
    health_paths: tuple[tuple[SlotRef, Future[Optional[str]]], ...]


def start_pre_swap_reads(
    request: SwapRequest,
    source: SlotRef,
    target: SlotRef,
    web_apps: WebApps,
    pool: ThreadPoolExecutor,
) -> PreSwapReads:
    differences = pool.submit(web_apps.slot_differences, source, target.slot, request.preserve_vnet)
    clears_rule = target.is_production and request.action is not Action.START_PREVIEW
    leftover = (
        pool.submit(routed_percent, web_apps.arm, target, source.slot) if clears_rule else None
    )
    health_paths = (
        ()
        if request.checks.health_check_path is not None
        else tuple((ref, pool.submit(web_apps.health_check_path, ref)) for ref in (target, source))
    )
    return PreSwapReads(differences, leftover, health_paths)


def health_rules(request: SwapRequest, reads: PreSwapReads, log: Log) -> HealthRules:
    """The request's checks, with the app's own `healthCheckPath` when HealthCheckPath is empty
    (the target's, else the source's)."""
    configured: Optional[str] = None
    for ref, read in reads.health_paths:
        try:
            configured = configured or read.result()
        except AzureCallError as error:
            log.info(f"Could not read the health check path of '{ref}': {error}")
    return resolve_rules(request.checks, configured)
