"""The verdict on watched traffic against its baseline, the same for a canary and for the bake.

The watched traffic (the slot during a canary; production after the swap during the bake) is
bad when the evidence shows it worse than its baseline (production in the same minutes; the old
version) by more than the user tolerates:

- **errors**: its 5xx rate above the baseline's by more than MaxErrorRatePercent points;
- **slowness**: its response time more than MaxResponseTimeRatio times the baseline's and
  more than ResponseTimeMarginMs above it.

Evidence comes from two independent sources, each compared with the same source on the
baseline: Azure Monitor's published minutes (user requests: the task's own probes taken out)
and the task's probes. A judge looks again and again as evidence arrives and spends a fixed
false-alarm budget over its planned looks (verdict_statistics.py), so a clearly bad version is
stopped at once and a version no worse than its baseline is stopped by chance at most at that
rate, however often it is looked at.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Optional

from runner.azure.slot_metrics import NO_COUNTS, Counts
from runner.probes import Probe
from runner.release.verdict_statistics import (
    combined_z,
    excess_error_z,
    look_alphas,
    minutes_slower_z,
    p_of,
    slower_z,
    z_for,
)
from runner.request import Tolerance

PASSED, FAILED, TOO_LITTLE, CANCELED = "passed", "failed", "too little traffic", "canceled"
# A release's verdicts together (its canary and its bake) stop a version that is no worse than
# its baseline at most this often.
FALSE_ALARM_RATE = 0.01
ERRORS, SLOWNESS = "errors", "slowness"


class ProbeRecord(NamedTuple):
    sent: datetime
    failed: bool  # no answer, or 5xx
    seconds: float


class ProbeTally:
    """The task's own probes of one side: when each was sent, whether it failed, its time."""

    def __init__(self) -> None:
        self.records: list[ProbeRecord] = []

    def record(self, probe: Probe, sent: datetime) -> bool:
        """Counts a probe; True when it failed (no answer, or 5xx)."""
        failed = probe.status == 0 or probe.status >= 500
        self.records.append(ProbeRecord(sent, failed, probe.seconds))
        return failed

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def errors(self) -> int:
        return sum(record.failed for record in self.records)

    def since(self, moment: datetime) -> list[ProbeRecord]:
        return [record for record in self.records if record.sent >= moment]

    def within(self, counts: Counts) -> tuple[int, int]:
        """The probes (and failed ones) in the published minutes: Azure counts them too."""
        if not counts.points:
            return 0, 0
        first, until = counts.points[0].start, counts.published_until
        inside = [r for r in self.records if first <= r.sent and (until is None or r.sent < until)]
        return len(inside), sum(r.failed for r in inside)


class Side(NamedTuple):
    """One side's evidence so far."""

    label: str  # "staging", "production", "production before the swap"
    metrics: Counts
    user_requests: int  # the published minutes' requests, the task's probes taken out
    user_errors: int
    probes: int
    probe_errors: int
    probe_seconds: tuple[float, ...]

    @property
    def minute_seconds(self) -> list[float]:
        return [p.response_seconds for p in self.metrics.points if p.response_seconds is not None]

    @property
    def user_error_percent(self) -> float:
        return 100.0 * self.user_errors / self.user_requests if self.user_requests else 0.0

    @property
    def probe_median_ms(self) -> Optional[float]:
        return median_ms(self.probe_seconds)

    @property
    def response_ms(self) -> Optional[float]:
        """Azure Monitor's average when it has one, else the probes' median."""
        average = self.metrics.response_seconds
        return 1000.0 * average if average is not None else self.probe_median_ms

    def errors_text(self) -> str:
        metrics = (
            f"5xx {self.user_error_percent:.1f} % of {self.user_requests} user requests"
            if self.metrics.minutes
            else "no published minute"
        )
        return f"{metrics}, {self.probe_errors} of {self.probes} probes failed"

    def times_text(self) -> str:
        average, median = self.metrics.response_seconds, self.probe_median_ms
        parts = []
        if average is not None:
            parts.append(f"{_ms(1000.0 * average)} average")
        if median is not None:
            parts.append(f"probes' median {_ms(median)}")
        return ", ".join(parts) or "no response time"

    def describe(self) -> str:
        return f"{self.label}: {self.errors_text()}; response time {self.times_text()}"


def median_ms(seconds: Sequence[float]) -> Optional[float]:
    """The median of times in seconds, in milliseconds; None without any."""
    times = sorted(seconds)
    if not times:
        return None
    middle = len(times) // 2
    median = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
    return 1000.0 * median


def side_of(label: str, metrics: Counts, probes: ProbeTally, counted: bool) -> Side:
    """A side's evidence; `counted`: its probes reach the metrics read (they are taken out)."""
    in_metrics, failed_in_metrics = probes.within(metrics) if counted else (0, 0)
    return Side(
        label,
        metrics,
        max(0, metrics.requests - in_metrics),
        max(0, metrics.errors - failed_in_metrics),
        probes.count,
        probes.errors,
        tuple(record.seconds for record in probes.records),
    )


NO_SIDE = Side("", NO_COUNTS, 0, 0, 0, 0, ())


class Judgement(NamedTuple):
    """One look: the z score of each question, the bar it had to clear, what failed."""

    failed_on: str  # "" | ERRORS | SLOWNESS
    errors_z: float
    slowness_z: Optional[float]  # None: not judged (turned off, or too few times)
    bar: float  # the z each question had to exceed at this look
    watched: Side
    baseline: Side

    @property
    def p_value(self) -> float:
        """The smallest p-value of the look's questions."""
        scores = [self.errors_z] + ([self.slowness_z] if self.slowness_z is not None else [])
        return p_of(max(scores))

    @property
    def confidence(self) -> str:
        """How sure a failure is: 1 - its p-value, with as many nines as it has."""
        return _percent(1.0 - self.p_value)

    def reason(self, tolerance: Tolerance) -> str:
        """Why the look failed, in the user's words."""
        watched, baseline = self.watched, self.baseline
        if self.failed_on == SLOWNESS:
            return (
                f"response time {_ms(watched.response_ms)} on {watched.label} vs "
                f"{_ms(baseline.response_ms)} on {baseline.label}: more than "
                f"{tolerance.max_response_time_ratio:g} times and "
                f"{tolerance.response_time_margin_ms:g} ms slower (confidence {self.confidence}; "
                f"{watched.label}: {watched.times_text()}; {baseline.label}: "
                f"{baseline.times_text()})"
            )
        return (
            f"5xx on {watched.label} more than {_points(tolerance.max_error_rate_percent)} above "
            f"{baseline.label}'s (confidence {self.confidence}): {watched.label} "
            f"{watched.errors_text()}; {baseline.label} {baseline.errors_text()}"
        )

    def evidence(self) -> str:
        """The look's numbers and how far they were from failing."""
        slowness = f", slowness z {self.slowness_z:.2f}" if self.slowness_z is not None else ""
        return (
            f"{self.watched.describe()}; {self.baseline.describe()} "
            f"(errors z {self.errors_z:.2f}{slowness}; a failure needs z above {self.bar:.2f})"
        )


class SequentialJudge:
    """Judges the watched side against its baseline at each of `looks` planned looks, spending
    `alpha` over them: with a version no worse than the baseline, the chance that any look
    fails it is at most `alpha`."""

    def __init__(self, alpha: float, looks: int, tolerance: Tolerance) -> None:
        self.tolerance = tolerance
        self.alpha = alpha
        self.looks = max(1, looks)
        self._alphas = look_alphas(alpha, self.looks)
        self.done = 0

    @property
    def judges_time(self) -> bool:
        return self.tolerance.max_response_time_ratio > 0

    def look(self, watched: Side, baseline: Side) -> Judgement:
        alpha = self._alphas[self.done] if self.done < self.looks else 0.0
        self.done += 1
        questions = 2 if self.judges_time else 1
        bar = z_for(alpha / questions) if alpha > 0 else math.inf
        errors = _errors_z(watched, baseline, self.tolerance.max_error_rate_percent / 100.0)
        slowness = _slowness_z(watched, baseline, self.tolerance) if self.judges_time else None
        failed_on = ""
        if errors > bar:
            failed_on = ERRORS
        elif slowness is not None and slowness > bar:
            failed_on = SLOWNESS
        return Judgement(failed_on, errors, slowness, bar, watched, baseline)


def _errors_z(watched: Side, baseline: Side, margin: float) -> float:
    scores = []
    for counts in (
        (watched.user_errors, watched.user_requests, baseline.user_errors, baseline.user_requests),
        (watched.probe_errors, watched.probes, baseline.probe_errors, baseline.probes),
    ):
        errors, requests, base_errors, base_requests = counts
        if requests:
            # Weighted by the sample sizes' harmonic mean: the better-sampled source counts more.
            weight = math.sqrt(requests * base_requests / (requests + base_requests) or requests)
            scores.append(
                (excess_error_z(errors, requests, base_errors, base_requests, margin), weight)
            )
    return combined_z(scores)


def _slowness_z(watched: Side, baseline: Side, tolerance: Tolerance) -> Optional[float]:
    ratio, margin = tolerance.max_response_time_ratio, tolerance.response_time_margin_ms / 1000.0
    pairs = [
        slower_z(watched.probe_seconds, baseline.probe_seconds, ratio, margin),
        minutes_slower_z(watched.minute_seconds, baseline.minute_seconds, ratio, margin),
    ]
    found = [pair for pair in pairs if pair is not None]
    if not found:
        return None
    # Slower only when both the ratio and the margin are exceeded: the smaller combined score.
    return min(combined_z([(pair[i], 1.0) for pair in found]) for i in (0, 1))


def _ms(milliseconds: Optional[float]) -> str:
    if milliseconds is None:
        return "unknown"
    if milliseconds >= 10:
        return f"{milliseconds:.0f} ms"
    return f"{milliseconds:.1f} ms" if milliseconds >= 1 else f"{milliseconds:.2f} ms"


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def _percent(share: float) -> str:
    """99.99 %, with enough decimals to show how close to certain (at most 99.9999 %)."""
    if share >= 0.999999:
        return "> 99.9999 %"
    decimals = 1
    while decimals < 4 and round(100.0 * share, decimals) >= 100.0 - 10.0 ** (-decimals + 1):
        decimals += 1
    return f"{100.0 * share:.{decimals}f} %"
