"""Watching traffic for a span (a canary step, the bake): probes of the watched side and of its
baseline, Azure Monitor's minutes of both, and a look by the judge at planned moments.

A look that fails ends the span at once. A span that never fails lasts its time: exposure time
is the user's policy. Evidence accumulates from the watch's start, so a canary's later steps are
judged on everything the slot served since its first step (minutes published late included).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import NamedTuple, Optional

from runner.azure.arm_pipeline import ArmPipeline, AzureCallError
from runner.azure.slot_metrics import NO_COUNTS, Counts, read_counts
from runner.cancellation import Cancellation
from runner.log import Log
from runner.probes import SlotProbes
from runner.release.traffic_verdict import (
    CANCELED,
    FAILED,
    PASSED,
    TOO_LITTLE,
    Judgement,
    ProbeRecord,
    ProbeTally,
    SequentialJudge,
    Side,
    median_ms,
    side_of,
)
from runner.request import SlotRef

LOOK_EVERY_SECONDS = 10.0
FEWEST_LOOKS, MOST_LOOKS = 5, 30
# Two a second a side in steps of 5 minutes or more (probes are half the evidence for small
# apps: one a second detected a 5-point regression at 2 % in 92 % of simulated releases, two in
# 99 %, benchmarks/canary_judge.py); shorter steps probe faster, never over 5 a second a side.
PROBES_PER_SPAN = 600
PROBE_TIMEOUT_SECONDS = 5.0


def planned_looks(seconds: float) -> int:
    """A look every 10 s, at least 5 and at most 30 a span: fixed before any data is seen."""
    return max(FEWEST_LOOKS, min(MOST_LOOKS, round(seconds / LOOK_EVERY_SECONDS)))


def span_text(seconds: float) -> str:
    """5 min, 1.5 min, or 12 s for a short (compressed) span."""
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:.3g} s"


def probe_interval(seconds: float) -> float:
    return min(0.5, max(0.2, seconds / PROBES_PER_SPAN))


class Target(NamedTuple):
    """One side to watch: its metrics' resource and the address its probes go to."""

    label: str
    ref: SlotRef
    url: str
    route: Optional[str]  # the routing cookie a probe carries (a slot's name, or "self")
    probes_in_metrics: bool  # the probes reach `ref`'s metrics (they are taken out of them)
    window: Optional[tuple[datetime, datetime]] = None  # fixed minutes (the bake's baseline)


class ProbeCount(NamedTuple):
    """One side's probes during a span."""

    sent: int
    errors: int
    median_ms: Optional[float]


def probe_count(records: list[ProbeRecord]) -> ProbeCount:
    failed = sum(record.failed for record in records)
    return ProbeCount(len(records), failed, median_ms([r.seconds for r in records]))


class SpanResult(NamedTuple):
    verdict: str  # PASSED, FAILED, TOO_LITTLE, CANCELED
    judgement: Optional[Judgement]  # the last look (None: canceled before any)
    started_at: datetime
    ended_at: datetime
    planned_seconds: float
    span_requests: int  # the span's own evidence: its user requests and probes on the watched
    watched: Side  # the evidence judged: everything since the watch began
    baseline: Side
    probes: tuple[ProbeCount, ProbeCount] = (ProbeCount(0, 0, None), ProbeCount(0, 0, None))
    # the span's own probes of the watched side and of the baseline

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def stopped_early(self) -> bool:
        return self.verdict == FAILED and self.seconds < self.planned_seconds - 0.5


class TrafficWatch:
    def __init__(
        self,
        watched: Target,
        baseline: Target,
        judge: SequentialJudge,
        arm: ArmPipeline,
        slot_probes: SlotProbes,
        log: Log,
        cancellation: Cancellation,
    ) -> None:
        self.watched, self.baseline = watched, baseline
        self.judge = judge
        self.arm = arm
        self.slot_probes = slot_probes
        self.log = log
        self.cancellation = cancellation
        self.started_at = datetime.now(timezone.utc)
        self.tallies = (ProbeTally(), ProbeTally())
        self.counts = [NO_COUNTS, NO_COUNTS]
        self.metrics_unread = ""  # why the metrics could not be read, once said
        self.current: tuple[datetime, float] = (self.started_at, 0.0)  # the span being watched

    def span(self, seconds: float) -> SpanResult:
        """Watches for `seconds` (its planned looks); ends early on a failed look or a signal."""
        started_at = datetime.now(timezone.utc)
        self.current = (started_at, seconds)
        start = time.monotonic()
        looks = planned_looks(seconds)
        look_at = [start + seconds * k / looks for k in range(1, looks + 1)]
        interval = probe_interval(seconds)
        next_probe = start
        judgement: Optional[Judgement] = None
        while look_at and not self.cancellation.requested.is_set():
            now = time.monotonic()
            if now >= look_at[0]:
                look_at.pop(0)
                judgement = self.look()
                if judgement.failed_on:
                    return self.result(FAILED, judgement, started_at, seconds)
                continue
            if now >= next_probe:
                self.probe()
                next_probe = max(next_probe + interval, time.monotonic() + interval / 2)
                continue
            self.cancellation.sleep(min(look_at[0], next_probe) - now)
        if self.cancellation.requested.is_set():
            return self.result(CANCELED, judgement, started_at, seconds)
        assert judgement is not None
        result = self.result(PASSED, judgement, started_at, seconds)
        if result.span_requests < self.judge.tolerance.min_requests:
            return result._replace(verdict=TOO_LITTLE)
        return result

    def cut_short(self) -> SpanResult:
        """The span a signal cut short, with the evidence gathered so far (no time is left to
        read the metrics again)."""
        return self.result(CANCELED, None, *self.current)

    def probe(self) -> None:
        for target, tally in zip((self.watched, self.baseline), self.tallies):
            sent = datetime.now(timezone.utc)
            probe = self.slot_probes.probe(
                target.url, timeout=PROBE_TIMEOUT_SECONDS, routed_to=target.route
            )
            if tally.record(probe, sent):
                self.log.info(f"Probe of {target.label}: {probe.describe()}")

    def look(self) -> Judgement:
        now = datetime.now(timezone.utc)
        for index, target in enumerate((self.watched, self.baseline)):
            counts = self.counts[index]
            if target.window is not None and counts.minutes and not counts.unpublished:
                continue  # a fixed span, all published: read once
            start, end = target.window or (self.started_at, now)
            try:
                self.counts[index] = read_counts(self.arm, target.ref, start, end)
            except AzureCallError as error:
                if not self.metrics_unread:
                    self.log.warning(
                        f"Could not read the metrics of '{target.ref}' ({error}): judging on "
                        "what was read before and on the probes."
                    )
                self.metrics_unread = str(error)
        judgement = self.judge.look(*self.sides())
        self.log.debug(f"Look {self.judge.done} of {self.judge.looks}: {judgement.evidence()}")
        return judgement

    def sides(self) -> tuple[Side, Side]:
        return (
            self._side(self.watched, self.counts[0], self.tallies[0]),
            self._side(self.baseline, self.counts[1], self.tallies[1]),
        )

    def _side(self, target: Target, counts: Counts, tally: ProbeTally) -> Side:
        return side_of(target.label, counts, tally, target.probes_in_metrics)

    def result(
        self, verdict: str, judgement: Optional[Judgement], started_at: datetime, planned: float
    ) -> SpanResult:
        watched, baseline = (
            (judgement.watched, judgement.baseline) if judgement is not None else self.sides()
        )
        own_minutes = [p for p in watched.metrics.points if p.start >= started_at]
        own_probes = self.tallies[0].since(started_at)
        probes_in_minutes = (
            len([r for r in own_probes if r.sent < watched.metrics.published_until])
            if self.watched.probes_in_metrics and watched.metrics.published_until
            else 0
        )
        users = max(0, sum(p.requests for p in own_minutes) - probes_in_minutes)
        own = (probe_count(own_probes), probe_count(self.tallies[1].since(started_at)))
        return SpanResult(
            verdict,
            judgement,
            started_at,
            datetime.now(timezone.utc),
            planned,
            users + len(own_probes),
            watched,
            baseline,
            own,
        )
