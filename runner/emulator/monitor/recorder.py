"""What each slot's site served, counted per metrics minute and published after a delay.

Azure's platform metrics have one-minute granularity and reach the metrics API one to three
minutes after the minute ends. `MetricsTime` models both: a minute lasts `minute_seconds` of wall
time (60, or less to compress a test), and a minute becomes visible `delay_minutes` after it
ends. Minutes are aligned on the Unix epoch, so with 60 s they are the UTC minutes.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

# (resource group, app, slot), in lower case: metrics belong to the slot, not to the version.
SlotKey = tuple[str, str, str]
# Minutes kept per slot; older ones are dropped (a week of one-minute data, or more when short).
MAX_MINUTES = 10_080


@dataclass(frozen=True)
class MetricsTime:
    minute_seconds: float = 60.0
    delay_minutes: float = 1.0

    def minute_of(self, moment: float) -> int:
        return math.floor(moment / self.minute_seconds + 1e-9)

    def start_of(self, minute: int) -> float:
        return minute * self.minute_seconds

    def last_published(self, now: float) -> int:
        """The newest minute whose data the metrics API shows at `now`."""
        return math.floor(now / self.minute_seconds - self.delay_minutes + 1e-9) - 1


@dataclass
class MinuteCounts:
    requests: int = 0
    http2xx: int = 0
    http3xx: int = 0
    http4xx: int = 0
    http5xx: int = 0
    response_seconds: float = 0.0
    fastest: float | None = None
    slowest: float | None = None

    def add(self, status: int, seconds: float) -> None:
        self.requests += 1
        family = f"http{status // 100}xx"
        if family in ("http2xx", "http3xx", "http4xx", "http5xx"):
            setattr(self, family, getattr(self, family) + 1)
        self.response_seconds += seconds
        self.fastest = seconds if self.fastest is None else min(self.fastest, seconds)
        self.slowest = seconds if self.slowest is None else max(self.slowest, seconds)


@dataclass
class SlotTotals(MinuteCounts):
    routed: int = 0  # requests that reached this slot through production's routing rules


class SiteMetrics:
    def __init__(self, timing: MetricsTime, clock: Callable[[], float]) -> None:
        self.timing = timing
        self._clock = clock
        self._lock = threading.Lock()
        self._minutes: dict[SlotKey, OrderedDict[int, MinuteCounts]] = {}
        self._totals: dict[SlotKey, SlotTotals] = {}

    def record(self, key: SlotKey, status: int, seconds: float, routed: bool = False) -> None:
        minute = self.timing.minute_of(self._clock())
        with self._lock:
            minutes = self._minutes.setdefault(key, OrderedDict())
            counts = minutes.get(minute)
            if counts is None:
                counts = minutes[minute] = MinuteCounts()
                while len(minutes) > MAX_MINUTES:
                    minutes.popitem(last=False)
            counts.add(status, seconds)
            totals = self._totals.setdefault(key, SlotTotals())
            totals.add(status, seconds)
            totals.routed += int(routed)

    def published_minutes(self, key: SlotKey, first: int, last: int) -> dict[int, MinuteCounts]:
        """Copies of the slot's minutes from `first` to `last` that are published by now."""
        last = min(last, self.timing.last_published(self._clock()))
        with self._lock:
            minutes = self._minutes.get(key, OrderedDict())
            return {m: replace(c) for m, c in minutes.items() if first <= m <= last}

    def last_published(self) -> int:
        return self.timing.last_published(self._clock())

    def totals(self, key: SlotKey) -> dict[str, Any]:
        """Everything the slot served since the start, without the publishing delay."""
        with self._lock:
            totals = replace(self._totals.get(key, SlotTotals()))
        body = asdict(totals)
        requests = totals.requests
        body["average_response_time"] = totals.response_seconds / requests if requests else None
        return body
