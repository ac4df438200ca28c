"""What a release reads before it changes anything, asked for together with the plan's reads of
the slots.

On Azure each read is a round trip from the agent to ARM. Sent with the slots' own reads, the
release's reads (what the swap changes, the configured health path, a leftover routing rule,
and for the pre-flight the source's site config and warm-up settings) add no round trip before
the gate and the swap. They only read: when the plan then fails (an
unknown slot, say), nothing has changed and their answers are not used.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple, Optional

from runner.azure.traffic_routing import routed_percent
from runner.azure.web_apps import AzureCallError, SettingDifference, WebApps
from runner.log import Log
from runner.release.health_gate import HealthRules, resolve_rules
from runner.request import Action, SlotRef, SwapRequest

READS = 5  # at most: the differences, the leftover rule, two site configs, warm-up settings
# The app settings that steer App Service's warm-up of a swap's source (only these are read).
WARM_UP_SETTINGS = (
    "WEBSITE_SWAP_WARMUP_PING_PATH",
    "WEBSITE_SWAP_WARMUP_PING_STATUSES",
    "WEBSITE_WARMUP_PATH",
)


class PreSwapReads(NamedTuple):
    differences: Future[list[SettingDifference]]
    # The share of production's traffic a rule still routes to the source, when the release
    # clears such a rule first (a swap into production).
    leftover: Optional[Future[float]]
    # The site config (config/web) of the target, then of the source, for their configured
    # healthCheckPath; only the source's when HealthCheckPath is given (for the pre-flight).
    configs: tuple[tuple[SlotRef, Future[dict[str, Any]]], ...]
    # The source's settings among WARM_UP_SETTINGS.
    warm_up: Future[dict[str, str]]

    @property
    def source_config(self) -> Future[dict[str, Any]]:
        return self.configs[-1][1]


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
    configured = (source,) if request.checks.health_check_path is not None else (target, source)
    configs = tuple((ref, pool.submit(web_apps.web_config, ref)) for ref in configured)
    warm_up = pool.submit(web_apps.app_settings_named, source, WARM_UP_SETTINGS)
    return PreSwapReads(differences, leftover, configs, warm_up)


def health_rules(request: SwapRequest, reads: PreSwapReads, log: Log) -> HealthRules:
    """The request's checks, with the app's own `healthCheckPath` when HealthCheckPath is empty
    (the target's, else the source's)."""
    configured: Optional[str] = None
    if request.checks.health_check_path is None:
        for ref, read in reads.configs:
            try:
                path = read.result().get("healthCheckPath")
            except AzureCallError as error:
                log.info(f"Could not read the health check path of '{ref}': {error}")
                continue
            configured = configured or (str(path) if path else None)
    return resolve_rules(request.checks, configured)
