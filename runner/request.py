"""What the user asked for, parsed and validated once at the edge."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple, Optional

PRODUCTION = "production"


class Action(Enum):
    """The task's `Action` input, with the values Microsoft's AzureAppServiceManage@0 uses."""

    SWAP = "Swap Slots"
    START_PREVIEW = "Start Swap With Preview"
    COMPLETE_PREVIEW = "Complete Swap"
    CANCEL_PREVIEW = "Cancel Swap"


DEFAULT_HEALTH_TIMEOUT_SECONDS = 5 * 60.0
DEFAULT_HEALTHY_AFTER = 3


class SafetyChecks(NamedTuple):
    """The health gate before a swap, the verification after it, and the swap back.

    `health_check_path` None: use the app's own `healthCheckPath` (site config), if any.
    """

    health_check_path: Optional[str] = None
    health_timeout_seconds: float = DEFAULT_HEALTH_TIMEOUT_SECONDS
    healthy_after: int = DEFAULT_HEALTHY_AFTER
    expected_version: Optional[str] = None
    rollback_on_failure: bool = True


class InsufficientTraffic(Enum):
    """What a canary step with fewer than `min_requests` requests does."""

    FAIL = "fail"
    CONTINUE = "continue"


class Tolerance(NamedTuple):
    """How much worse than its baseline watched traffic may be (a canary step, the bake), and
    how much evidence a step needs to pass."""

    max_error_rate_percent: float = 1.0  # points above the baseline's 5xx rate
    max_response_time_ratio: float = 2.0  # times the baseline's response time; 0: not judged
    response_time_margin_ms: float = 50.0  # and slower by more than this
    min_requests: int = 100  # user requests and probes on the watched side


class CanarySteps(NamedTuple):
    """Shares of production's traffic routed to the source slot before the swap, step by step."""

    percentages: tuple[int, ...]
    step_seconds: float
    tolerance: Tolerance = Tolerance()
    insufficient_traffic: InsufficientTraffic = InsufficientTraffic.FAIL


class Bake(NamedTuple):
    """Production watched for `seconds` after a verified swap; swapped back when it is shown
    worse than the old version by more than the tolerance, or (`InsufficientTraffic.FAIL`)
    when too little evidence came to judge it by."""

    seconds: float
    tolerance: Tolerance = Tolerance()
    insufficient_traffic: InsufficientTraffic = InsufficientTraffic.FAIL


class SlotRef(NamedTuple):
    """One slot of one app. `slot` is `production` for the app itself."""

    subscription_id: str
    resource_group: str
    app: str
    slot: str

    @property
    def is_production(self) -> bool:
        return self.slot.lower() == PRODUCTION

    def __str__(self) -> str:
        return f"{self.app}/{self.slot}"


class AppName(NamedTuple):
    """One more app to swap with the main one: its resource group when the user named it (None:
    the runner finds it), and `origin`, where the user wrote it, for messages
    ("AdditionalWebApps line 2 ('rg-eus/web-eus')")."""

    name: str
    resource_group: Optional[str]
    origin: str


class SwapRequest(NamedTuple):
    """A swap of `source_slot` into `target_slot` of one app.

    `resource_group` is None when the user left it empty: the runner finds it.
    """

    action: Action
    app: str
    resource_group: Optional[str]
    source_slot: str
    target_slot: str
    preserve_vnet: bool
    timeout_seconds: float = 30 * 60
    checks: SafetyChecks = SafetyChecks()
    canary: Optional[CanarySteps] = None
    bake: Optional[Bake] = None
    # More apps swapped with this one, all or nothing (same slot names).
    additional_apps: tuple[AppName, ...] = ()

    @property
    def with_production(self) -> bool:
        return self.target_slot.lower() == PRODUCTION
