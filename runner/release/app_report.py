"""What happened to one app in a run: the record the outputs, the log's last line and the run
summary are written from. A run over several apps keeps one per app."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple, Optional

from runner.outcome import Outcome
from runner.probes import Probe
from runner.release.health_gate import HealthCheck
from runner.release.swap import SwapPlan

if (
    TYPE_CHECKING
):  # a canary's (a bake's) run alone loads runner.release.canary (runner.release.bake)
    from runner.release.bake import BakeResult
    from runner.release.canary import CanaryStep


class SlotVersion(NamedTuple):
    slot: str
    served: str  # "version v2 (HTTP 200)", "no answer (ConnectTimeout)", ...
    version: Optional[str] = None  # as the slot reported it
    status: int = 0  # its HTTP status; 0: no answer

    @staticmethod
    def of(slot: str, probe: Probe) -> SlotVersion:
        return SlotVersion(slot, probe.describe(), probe.version, probe.status)


class AppReport(NamedTuple):
    outcome: Outcome
    message: str
    app: str = ""
    resource_group: str = ""
    source_slot: str = ""
    target_slot: str = ""
    production_url: str = ""
    source_url: str = ""
    before: tuple[SlotVersion, ...] = ()
    after: tuple[SlotVersion, ...] = ()
    checks: tuple[HealthCheck, ...] = ()
    swap_seconds: Optional[float] = None
    rollback_seconds: Optional[float] = None
    failed: bool = False  # the step fails even though the outcome alone would not say so
    canary: tuple[CanaryStep, ...] = ()
    bake: Optional[BakeResult] = None
    target_url: str = ""  # the target slot's own address (production's, into production)


def report_for(
    plan: SwapPlan,
    outcome: Outcome,
    message: str,
    before: tuple[SlotVersion, ...] = (),
    after: tuple[SlotVersion, ...] = (),
    checks: tuple[HealthCheck, ...] = (),
    swap_seconds: Optional[float] = None,
    rollback_seconds: Optional[float] = None,
    failed: bool = False,
    canary: tuple[CanaryStep, ...] = (),
    bake: Optional[BakeResult] = None,
) -> AppReport:
    source, target = plan.source.ref, plan.target.ref
    return AppReport(
        outcome,
        message,
        source.app,
        source.resource_group,
        source.slot,
        target.slot,
        plan.production_url,
        plan.source.url,
        before,
        after,
        checks,
        swap_seconds,
        rollback_seconds,
        failed,
        canary,
        bake,
        plan.target.url,
    )


def versions_now(plan: SwapPlan, timeout: float = 5.0) -> tuple[SlotVersion, ...]:
    """What the target, then the source, serve now (probed together)."""
    slots = (plan.target, plan.source)
    with ThreadPoolExecutor(max_workers=2) as pool:
        probes = list(pool.map(lambda slot: plan.probes.probe(slot.url, timeout), slots))
    return tuple(SlotVersion.of(slot.ref.slot, probe) for slot, probe in zip(slots, probes))


def sentence(versions: tuple[SlotVersion, ...]) -> str:
    """'production' serves version v1 (HTTP 200); 'staging' serves ..."""
    return "; ".join(f"'{v.slot}' serves {v.served}" for v in versions) + "."
