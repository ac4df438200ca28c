"""Requests and 5xx answers of a slot (or production) from Azure Monitor's platform metrics.

Azure publishes a minute one to three minutes after it ends; a minute not published yet has a
point without a value, which is counted as unknown, not as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from runner.arm_pipeline import ArmPipeline
from runner.monitor_requests import slot_metrics
from runner.request import SlotRef

NAMES = ("Requests", "Http5xx")


@dataclass(frozen=True)
class Counts:
    requests: int
    errors: int  # 5xx answers
    minutes: int  # published minutes the counts come from
    unpublished: int  # minutes in the span Azure has not published yet
    published_until: Optional[datetime] = None  # the end of the last published minute

    @property
    def error_percent(self) -> float:
        return 100.0 * self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        return f"5xx {self.error_percent:.1f} % of {self.requests} requests"


def read_counts(arm: ArmPipeline, ref: SlotRef, start: datetime, end: datetime) -> Counts:
    """Totals of the minutes Azure has published between `start` and `end`.

    Only minutes that begin at `start` or later count: the minute `start` falls in also holds
    what the slot served before (a previous version's last answers, say).
    """
    # Timespans are written to the second: ask up to the next one, keep what begins before `end`.
    asked = slot_metrics(ref, NAMES, start, end + timedelta(seconds=1), "Total")
    answer = arm.send_json(f"reading the metrics of '{ref}'", asked)
    points: dict[str, list[Any]] = {}
    for metric in answer.get("value") or []:
        name = str((metric.get("name") or {}).get("value", ""))
        series = metric.get("timeseries") or [{}]
        points[name.lower()] = list((series[0] or {}).get("data") or [])
    requests = points.get("requests", [])
    errors = {p.get("timeStamp"): p.get("total") for p in points.get("http5xx", [])}
    requests = [p for p in requests if start <= _begins(p) < end]
    published = [p for p in requests if p.get("total") is not None]
    until = None
    if published and len(requests) > 1:
        # Points are one grain apart (a minute on Azure; less on a compressed emulator).
        until = _begins(published[-1]) + (_begins(requests[1]) - _begins(requests[0]))
    return Counts(
        requests=int(sum(float(p["total"]) for p in published)),
        errors=int(sum(float(errors.get(p.get("timeStamp")) or 0) for p in published)),
        minutes=len(published),
        unpublished=len(requests) - len(published),
        published_until=until,
    )


def _begins(point: dict[str, Any]) -> datetime:
    text = str(point.get("timeStamp") or "")
    try:  # Python before 3.11 does not read a trailing Z
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
