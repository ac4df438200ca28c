"""Production's routing rule for one slot (`siteConfig.experiments.rampUpRules`).

The rule sends a share of production's traffic to the slot. Setting it is a PATCH of production's
web config that keeps every other slot's rule as it was; it is idempotent, so a throttled,
failed or dropped call is simply sent again.
"""

from __future__ import annotations

import time
from typing import Any

from runner.azure import app_service_requests as requests_to
from runner.azure.arm_pipeline import ArmPipeline, AzureCallError, CallFailure
from runner.azure.web_apps import SlotState
from runner.log import Log
from runner.request import SlotRef

ATTEMPTS = 6
RETRY_SECONDS = 0.5  # first wait; doubled each time, or Azure's Retry-After


def _rules(arm: ArmPipeline, production: SlotRef) -> list[dict[str, Any]]:
    config = arm.send_json(
        f"reading the routing rules of '{production.app}'", requests_to.get_web_config(production)
    )
    properties = config.get("properties") or {}
    experiments = properties.get("experiments") if isinstance(properties, dict) else None
    rules = experiments.get("rampUpRules") if isinstance(experiments, dict) else None
    return [rule for rule in rules or [] if isinstance(rule, dict)]


def routed_percent(arm: ArmPipeline, production: SlotRef, slot: str) -> float:
    """The share of production's traffic the slot's rule routes to it now (0 without a rule)."""
    for rule in _rules(arm, production):
        if str(rule.get("name", "")).lower() == slot.lower():
            return float(rule.get("reroutePercentage") or 0)
    return 0.0


def set_route(
    arm: ArmPipeline, production: SlotRef, slot: SlotState, percent: float, log: Log
) -> None:
    """Routes `percent` of production's traffic to `slot` (0 removes its rule), retrying
    throttling, server errors and dropped connections."""
    name = slot.ref.slot
    what = (
        f"routing {percent:g} % of production's traffic to '{name}'"
        if percent
        else f"removing the routing rule of '{name}'"
    )
    delay = RETRY_SECONDS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            others = [
                rule
                for rule in _rules(arm, production)
                if str(rule.get("name", "")).lower() != name.lower()
            ]
            ours = (
                [{"name": name, "actionHostName": slot.host_name, "reroutePercentage": percent}]
                if percent
                else []
            )
            arm.send(
                what,
                requests_to.update_web_config(
                    production, {"experiments": {"rampUpRules": others + ours}}
                ),
            )
            return
        except AzureCallError as error:
            retryable = error.failure is not CallFailure.REJECTED or (
                error.status == 429 or error.status >= 500
            )
            if not retryable or attempt == ATTEMPTS:
                raise
            wait = error.retry_after if error.retry_after is not None else delay
            log.info(f"{error}; trying again in {wait:g} s.")
            time.sleep(min(wait, 5.0))
            delay *= 2


def clear_leftover_rule(
    arm: ArmPipeline, production: SlotRef, slot: SlotState, percent: float, log: Log
) -> None:
    """A rule an earlier, interrupted run left behind (`percent` of production's traffic to
    `slot`, as `routed_percent` found it) is removed before anything else."""
    if percent:
        log.warning(
            f"Production of '{slot.ref.app}' still routes {percent:g} % of its traffic to "
            f"'{slot.ref.slot}' (a rule left by an earlier run?): removing it first."
        )
        set_route(arm, production, slot, 0, log)
