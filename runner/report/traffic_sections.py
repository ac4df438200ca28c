"""One section of the report per canary step and for the bake: what was watched against its
baseline, minute by minute, with the limits and the verdict (docs/report.md, "Traffic sections").

The records this reads (CanaryStep, BakeResult) keep totals, not minutes: each side's published
minutes are written as one entry covering the span (`perMinute: false`), or none when Azure had
published no minute of it. Its times come from the run's phases (the log's groups).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from runner.report.record import Phase, iso
from runner.request import SwapRequest

if TYPE_CHECKING:  # only a canary's or a bake's run loads these
    from runner.bake import BakeResult
    from runner.canary import CanaryStep
    from runner.slot_metrics import Counts

Section = dict[str, Any]


def traffic_sections(
    canary: Sequence[CanaryStep],
    bake: Optional[BakeResult],
    request: SwapRequest,
    phases: Sequence[Phase],
) -> list[Section]:
    steps = [p for p in phases if p.kind == "canary-step"]
    sections = [
        _step_section(step, request, steps[i] if i < len(steps) else None)
        for i, step in enumerate(canary)
    ]
    if bake is not None and request.bake is not None:
        baked = [p for p in phases if p.kind == "bake"]
        sections.append(_bake_section(bake, request, baked[-1] if baked else None))
    return sections


def _step_section(step: CanaryStep, request: SwapRequest, phase: Optional[Phase]) -> Section:
    settings = request.canary
    limit = settings.max_error_rate_percent if settings else 1.0
    started, ended = _span(phase)
    return {
        "kind": "canary-step",
        "percent": step.percent,
        "verdict": step.verdict,
        "reason": f"{step.numbers()}; rests on {step.rests_on}",
        "watched": _side(step.slot_name, step.slot, started, step.probes, step.probe_errors),
        "baseline": _side("production", step.production, started, 0, 0),
        "limits": {"maxErrorRatePercent": limit, "maxResponseTimeRatio": None},
        "startedAt": started,
        "endedAt": ended,
        "plannedSeconds": settings.step_seconds if settings else 0.0,
        "stoppedEarly": step.verdict == "canceled",
        "perMinute": False,
    }


def _bake_section(result: BakeResult, request: SwapRequest, phase: Optional[Phase]) -> Section:
    bake = request.bake
    assert bake is not None
    if result.canceled:
        verdict = "canceled"
    elif result.degraded:
        verdict = "failed"
    elif result.too_little_traffic:
        verdict = "too little traffic"
    else:
        verdict = "passed"
    started, ended = _span(phase)
    return {
        "kind": "bake",
        "percent": None,
        "verdict": verdict,
        "reason": result.message,
        "watched": _side(
            "production (new version)",
            result.production,
            started,
            result.probes,
            result.probe_errors,
        ),
        "baseline": _side("production before the swap", result.before, None, 0, 0),
        "limits": {
            "maxErrorRatePercent": bake.max_error_rate_percent,
            "maxResponseTimeRatio": None,
        },
        "startedAt": started,
        "endedAt": ended,
        "plannedSeconds": bake.seconds,
        "stoppedEarly": result.canceled or result.degraded,
        "perMinute": False,
    }


def _side(
    label: str, counts: Counts, start: Optional[str], probes: int, probe_errors: int
) -> Section:
    minutes = (
        [{"start": start, "requests": counts.requests, "errors": counts.errors, "responseMs": None}]
        if counts.minutes
        else []
    )
    return {
        "label": label,
        "minutes": minutes,
        "probes": {"count": probes, "errors": probe_errors, "medianMs": None},
    }


def _span(phase: Optional[Phase]) -> tuple[Optional[str], Optional[str]]:
    if phase is None:
        return None, None
    return iso(phase.started), iso(phase.ended)
