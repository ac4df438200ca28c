"""One section of the report per canary step and for the bake: what was watched against its
baseline, minute by minute, with the limits and the verdict (docs/report.md, "Traffic sections").

A step's minutes are the published minutes that begin within the step (the verdict itself
rests on everything since the canary's first step); the bake's baseline minutes are the old
version's last ten before the swap (its verdict may rest on more). Probes are the span's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from runner.report.record import Phase, iso
from runner.request import SwapRequest, Tolerance

if TYPE_CHECKING:  # only a canary's or a bake's run loads these
    from runner.release.bake import BakeResult
    from runner.release.canary import CanaryStep
    from runner.release.traffic_verdict import Side
    from runner.release.traffic_watch import ProbeCount, SpanResult

Section = dict[str, Any]
BASELINE_MINUTES = 10  # of the old version's, drawn beside the bake's


def traffic_sections(
    canary: Sequence[CanaryStep],
    bake: Optional[BakeResult],
    request: SwapRequest,
    phases: Sequence[Phase],
) -> list[Section]:
    del phases  # the spans carry their own times
    sections = []
    if request.canary is not None:
        settings = request.canary
        for step in canary:
            section = _section("canary-step", step.span, settings.tolerance, step.reason)
            sections.append({**section, "percent": step.percent, "verdict": step.verdict})
    if bake is not None and request.bake is not None:
        span = bake.span
        section = _section("bake", span, request.bake.tolerance, bake.message)
        sections.append({**section, "percent": None})
    return sections


def _section(kind: str, span: SpanResult, tolerance: Tolerance, reason: str) -> Section:
    own_minutes = (span.started_at, span.ended_at) if kind == "canary-step" else None
    ratio = tolerance.max_response_time_ratio
    return {
        "kind": kind,
        "verdict": span.verdict,
        "reason": reason,
        "watched": _side(span.watched, span.probes[0], (span.started_at, span.ended_at)),
        "baseline": _side(span.baseline, span.probes[1], own_minutes, BASELINE_MINUTES),
        "limits": {
            "maxErrorRatePercent": tolerance.max_error_rate_percent,
            "maxResponseTimeRatio": ratio or None,
            "responseTimeMarginMs": tolerance.response_time_margin_ms if ratio else None,
        },
        "startedAt": iso(span.started_at),
        "endedAt": iso(span.ended_at),
        "plannedSeconds": span.planned_seconds,
        "stoppedEarly": span.stopped_early or span.verdict == "canceled",
        "perMinute": True,
    }


def _side(
    side: Side,
    probes: ProbeCount,
    window: Optional[tuple[datetime, datetime]],
    most: int = 0,
) -> Section:
    points = [p for p in side.metrics.points if window is None or window[0] <= p.start < window[1]]
    points = points[-most:] if most else points
    return {
        "label": side.label.strip("'"),
        "minutes": [
            {
                "start": iso(p.start),
                "requests": p.requests,
                "errors": p.errors,
                "responseMs": None if p.response_seconds is None else 1000.0 * p.response_seconds,
            }
            for p in points
        ],
        "probes": {"count": probes.sent, "errors": probes.errors, "medianMs": probes.median_ms},
    }
