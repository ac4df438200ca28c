"""Requests, 5xx answers and response times of a slot (or production), minute by minute, from
Azure Monitor's platform metrics.

Azure publishes a minute one to three minutes after it ends; a minute not published yet has a
point without a value, which is counted as unknown, not as zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple, Optional

from runner.azure.arm_pipeline import ArmPipeline
from runner.azure.monitor_requests import slot_metrics
from runner.request import SlotRef

NAMES = ("Requests", "Http5xx", "HttpResponseTime")


class MinutePoint(NamedTuple):
    start: datetime
    requests: int
    errors: int  # 5xx answers
    response_seconds: Optional[float]  # the minute's average; None without requests


class Counts(NamedTuple):
    """The published minutes of a span."""

    points: tuple[MinutePoint, ...] = ()
    unpublished: int = 0  # minutes in the span Azure has not published yet
    published_until: Optional[datetime] = None  # the end of the last published minute

    @property
    def requests(self) -> int:
        return sum(point.requests for point in self.points)

    @property
    def errors(self) -> int:
        return sum(point.errors for point in self.points)

    @property
    def minutes(self) -> int:
        return len(self.points)

    @property
    def error_percent(self) -> float:
        requests = self.requests
        return 100.0 * self.errors / requests if requests else 0.0

    @property
    def response_seconds(self) -> Optional[float]:
        """The average response time over the published minutes, weighted by requests."""
        timed = [p for p in self.points if p.response_seconds is not None and p.requests]
        total = sum(p.requests for p in timed)
        if not total:
            return None
        return sum(p.requests * (p.response_seconds or 0.0) for p in timed) / total

    def describe(self) -> str:
        return f"5xx {self.error_percent:.1f} % of {self.requests} requests"


NO_COUNTS = Counts()


def read_counts(arm: ArmPipeline, ref: SlotRef, start: datetime, end: datetime) -> Counts:
    """The minutes Azure has published between `start` and `end`.

    Only minutes that begin at `start` or later count: the minute `start` falls in also holds
    what the slot served before (a previous version's last answers, say).
    """
    # Timespans are written to the second: ask up to the next one, keep what begins before `end`.
    asked = slot_metrics(ref, NAMES, start, end + timedelta(seconds=1), "Total,Average")
    answer = arm.send_json(f"reading the metrics of '{ref}'", asked)
    points: dict[str, list[Any]] = {}
    for metric in answer.get("value") or []:
        name = str((metric.get("name") or {}).get("value", ""))
        series = metric.get("timeseries") or [{}]
        points[name.lower()] = list((series[0] or {}).get("data") or [])
    requests = [p for p in points.get("requests", []) if start <= _begins(p) < end]
    errors = {p.get("timeStamp"): p.get("total") for p in points.get("http5xx", [])}
    times = {p.get("timeStamp"): p.get("average") for p in points.get("httpresponsetime", [])}
    published = [p for p in requests if p.get("total") is not None]
    until = None
    if published and len(requests) > 1:
        # Points are one grain apart (a minute on Azure; less on a compressed emulator).
        until = _begins(published[-1]) + (_begins(requests[1]) - _begins(requests[0]))
    minutes = []
    for point in published:
        stamp, count = point.get("timeStamp"), int(float(point["total"]))
        average = times.get(stamp)
        minutes.append(
            MinutePoint(
                _begins(point),
                count,
                int(float(errors.get(stamp) or 0)),
                float(average) if average is not None and count else None,
            )
        )
    return Counts(tuple(minutes), len(requests) - len(published), until)


def _begins(point: dict[str, Any]) -> datetime:
    text = str(point.get("timeStamp") or "")
    try:  # Python before 3.11 does not read a trailing Z
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
