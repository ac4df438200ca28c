"""How right the canary's verdict is: simulated canaries replayed through the task's own verdict
code, beside today's rule and a Flagger-style rule on the same data. Prints tables; not a test.

Each release is a canary of two 5-minute steps (10 %, then 50 % of production's traffic), as
the task runs it: probes of the slot and of production once a second, a look every 10 s,
Azure Monitor's per-minute Requests, Http5xx and HttpResponseTime of both, each minute
published 1 to 3 minutes after it ends (drawn per release). User requests arrive at random
(Poisson); each fails at the version's rate; response times are log-normal (median 50 ms).

- **new**: runner.release.traffic_verdict's SequentialJudge, fed what TrafficWatch would feed it
  (side_of, ProbeTally, Counts), with the default tolerance (1 point of 5xx, 2 times and 50 ms
  slower, MinRequests 100) and the canary's false-alarm budget of 1 %.
- **today**: the rule it replaces (1.2.0): at the end of each step, the slot's 5xx rate in the
  published minutes over 1 % and over production's, or two or more of its probes (one every 5 s)
  failing at a rate over both; fewer than 100 user requests in the step: too little traffic,
  which fails the step (InsufficientTraffic: fail).
- **flagger**: Flagger's analysis as its docs configure it: every minute, the slot's newest
  published minute must have a request success rate of at least 99 % and an average duration
  of at most 500 ms (a minute with no request fails the check); 5 failed checks roll back.

For each cell it prints the share of releases stopped (a false alarm for a version no worse
than production, a detection otherwise) and the median time from the first routing rule to
its removal.

Usage: python -m benchmarks.canary_judge [--releases 200] [--seed 1] [--processes 2]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, Optional

from runner.azure.slot_metrics import Counts, MinutePoint
from runner.probes import Probe
from runner.release.traffic_verdict import FALSE_ALARM_RATE, ProbeTally, SequentialJudge, side_of
from runner.release.traffic_watch import planned_looks, probe_interval
from runner.request import Tolerance

STEPS = (10, 50)
STEP_SECONDS = 300.0
MEDIAN_SECONDS = 0.050
SPREAD = 0.5  # sigma of log response time
BASE_RATES = (0.0, 0.005, 0.02)
TRAFFIC = (0.5, 5.0, 50.0)  # user requests a second to production's address
CHANGES: tuple[tuple[str, float, float], ...] = (
    ("same", 0.0, 1.0),
    ("+1 pt", 0.01, 1.0),
    ("+5 pt", 0.05, 1.0),
    ("+30 pt", 0.30, 1.0),
    ("x1.5", 0.0, 1.5),
    ("x3", 0.0, 3.0),
)
NETWORK_FAILURES = 0.001  # a probe lost on the way, on either side
EPOCH = datetime(2026, 12, 1, tzinfo=timezone.utc)
DEFAULTS = Tolerance()  # the task's default inputs


class Cell(NamedTuple):
    base: float
    traffic: float
    change: str
    errors_added: float
    slower: float


class Outcome(NamedTuple):
    stopped: bool
    seconds: Optional[float]  # from the first rule to its removal, when stopped


class Minute:
    __slots__ = ("errors", "requests", "seconds_sum")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.seconds_sum = 0.0


class Release:
    """One simulated canary: what each side served, minute by minute and probe by probe."""

    def __init__(
        self,
        cell: Cell,
        dice: random.Random,
        minute: float = 60.0,
        delays: tuple[int, ...] = (1, 2, 3),
    ) -> None:
        self.cell = cell
        self.dice = dice
        self.minute_seconds = minute  # less than 60 to compare with a time-compressed emulator
        self.delay_minutes = dice.choice(delays)
        self.offset = dice.uniform(0, minute)  # the canary starts this far into a minute
        self.minutes: tuple[dict[int, Minute], dict[int, Minute]] = ({}, {})
        self.probes = (ProbeTally(), ProbeTally())
        self.old_probes: list[tuple[float, bool]] = []  # today's rule: the slot, every 5 s

    def rate(self, slot: bool) -> float:
        return self.cell.base + (self.cell.errors_added if slot else 0.0)

    def response(self, slot: bool) -> float:
        factor = self.cell.slower if slot else 1.0
        return MEDIAN_SECONDS * factor * math.exp(self.dice.gauss(0.0, SPREAD))

    def minute(self, side: int, moment: float) -> Minute:
        index = math.floor((self.offset + moment) / self.minute_seconds)
        return self.minutes[side].setdefault(index, Minute())

    def serve_users(self, start: float, end: float, share: float) -> None:
        """User traffic from `start` to `end` (seconds since the canary began), second by
        second: Poisson arrivals split by the routing share."""
        moment = start
        while moment < end:
            width = min(1.0, end - moment)
            for side, part in ((0, share), (1, 1.0 - share)):
                count = _poisson(self.dice, self.cell.traffic * part * width)
                if count:
                    self._add(side, moment, count)
            moment += width

    def _add(self, side: int, moment: float, count: int) -> None:
        minute = self.minute(side, moment)
        slot = side == 0
        minute.requests += count
        minute.errors += _binomial(self.dice, count, self.rate(slot))
        factor = self.cell.slower if slot else 1.0
        mean = MEDIAN_SECONDS * factor * math.exp(SPREAD * SPREAD / 2)
        spread = mean * math.sqrt(math.exp(SPREAD * SPREAD) - 1) / math.sqrt(count)
        minute.seconds_sum += count * max(0.001, self.dice.gauss(mean, spread))

    def probe(self, moment: float) -> None:
        for side in (0, 1):
            slot = side == 0
            failed = self.dice.random() < self.rate(slot) or self.dice.random() < NETWORK_FAILURES
            seconds = self.response(slot)
            sent = EPOCH + timedelta(seconds=self.offset + moment)
            self.probes[side].record(Probe("", 500 if failed else 200, None, seconds=seconds), sent)
            minute = self.minute(side, moment)
            minute.requests += 1
            minute.errors += failed
            minute.seconds_sum += seconds

    def step_evidence(self, start: float, now: float) -> int:
        """What TrafficWatch counts for MinRequests: the step's user requests in its own
        published minutes, and its probes of the slot."""
        counts = self.counts(0, start, now)
        began = EPOCH + timedelta(seconds=self.offset + start)
        probes = [r for r in self.probes[0].records if r.sent >= began]
        until = counts.published_until
        in_minutes = len([r for r in probes if until is not None and r.sent < until])
        return max(0, counts.requests - in_minutes) + len(probes)

    def counts(self, side: int, start: float, now: float) -> Counts:
        """What Azure Monitor shows at `now` of the minutes that begin at `start` or later."""
        length = self.minute_seconds
        first = math.ceil((self.offset + start) / length - 1e-9)
        current = math.floor((self.offset + now) / length)
        published_last = math.floor((self.offset + now) / length - self.delay_minutes) - 1
        points = []
        for index in range(first, min(current, published_last) + 1):
            minute = self.minutes[side].get(index) or Minute()
            average = minute.seconds_sum / minute.requests if minute.requests else None
            stamp = EPOCH + timedelta(seconds=length * index)
            points.append(MinutePoint(stamp, minute.requests, minute.errors, average))
        until = points[-1].start + timedelta(seconds=length) if points else None
        unpublished = max(0, current - max(first - 1, published_last))
        return Counts(tuple(points), unpublished, until)


def run_new(
    cell: Cell,
    seed: int,
    step_seconds: float = STEP_SECONDS,
    release: Optional[Release] = None,
    tolerance: Tolerance = DEFAULTS,
) -> Outcome:
    release = release or Release(cell, random.Random(seed))
    looks = planned_looks(step_seconds)
    judge = SequentialJudge(FALSE_ALARM_RATE, looks * len(STEPS), tolerance)
    interval = probe_interval(step_seconds)
    served = 0.0
    next_probe = 0.0
    for number, share in enumerate(STEPS):
        step_start = number * step_seconds
        for look in range(1, looks + 1):
            moment = step_start + step_seconds * look / looks
            while next_probe < moment:
                release.serve_users(served, next_probe, share / 100)
                served = next_probe
                release.probe(next_probe)
                next_probe += interval
            release.serve_users(served, moment, share / 100)
            served = moment
            watched = side_of("slot", release.counts(0, 0.0, moment), release.probes[0], True)
            baseline = side_of(
                "production", release.counts(1, 0.0, moment), release.probes[1], True
            )
            if judge.look(watched, baseline).failed_on:
                return Outcome(True, moment)
        if release.step_evidence(step_start, served) < tolerance.min_requests:
            return Outcome(True, served)  # too little evidence fails the step (the default)
    return Outcome(False, None)


def run_today(cell: Cell, seed: int) -> Outcome:
    release = Release(cell, random.Random(seed))
    interval = min(max(STEP_SECONDS / 20, 0.2), 5.0)
    for number, share in enumerate(STEPS):
        start, end = number * STEP_SECONDS, (number + 1) * STEP_SECONDS
        moment = start
        while moment < end:
            release.serve_users(moment, moment + interval, share / 100)
            release.old_probes.append(
                (moment, release.dice.random() < release.rate(True) + NETWORK_FAILURES)
            )
            moment += interval
        slot, production = release.counts(0, start, end), release.counts(1, start, end)
        until = slot.published_until
        probes = [failed for sent, failed in release.old_probes if sent >= start]
        within = sum(
            1
            for sent, _ in release.old_probes
            if sent >= start
            and until is not None
            and EPOCH + timedelta(seconds=release.offset + sent) < until
        )
        users = max(0, slot.requests - within)
        limit = 1.0
        probe_percent = 100.0 * sum(probes) / len(probes) if probes else 0.0
        bad = (slot.error_percent > limit and slot.error_percent > production.error_percent) or (
            sum(probes) >= 2 and probe_percent > limit and probe_percent > production.error_percent
        )
        if bad or users < 100:
            return Outcome(True, end)
    return Outcome(False, None)


def run_flagger(cell: Cell, seed: int) -> Outcome:
    release = Release(cell, random.Random(seed))
    failed_checks = 0
    for number, share in enumerate(STEPS):
        for check in range(1, int(STEP_SECONDS // 60) + 1):
            end = number * STEP_SECONDS + 60.0 * check
            release.serve_users(end - 60.0, end, share / 100)
            counts = release.counts(0, 0.0, end)
            newest = counts.points[-1] if counts.points else None
            healthy = (
                newest is not None
                and newest.requests > 0
                and newest.errors / newest.requests <= 0.01
                and (newest.response_seconds or 0.0) <= 0.5
            )
            failed_checks += not healthy
            if failed_checks >= 5:
                return Outcome(True, end)
    return Outcome(False, None)


RULES = {"new": run_new, "today": run_today, "flagger": run_flagger}


def run_cell(job: tuple[Cell, int, int]) -> tuple[Cell, dict[str, list[Outcome]]]:
    cell, releases, seed = job
    results = {
        name: [rule(cell, seed * 1_000_003 + number) for number in range(releases)]
        for name, rule in RULES.items()
    }
    return cell, results


def _poisson(dice: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(dice.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, dice.random()
    while product > limit:
        count += 1
        product *= dice.random()
    return count


def _binomial(dice: random.Random, count: int, rate: float) -> int:
    if rate <= 0 or count == 0:
        return 0
    if count > 50:
        mean = count * rate
        return min(count, max(0, round(dice.gauss(mean, math.sqrt(mean * (1 - rate))))))
    return sum(dice.random() < rate for _ in range(count))


def _share(outcomes: list[Outcome]) -> str:
    stopped = sum(o.stopped for o in outcomes)
    return f"{100.0 * stopped / len(outcomes):.1f} %"


def _median_time(outcomes: list[Outcome]) -> str:
    times = [o.seconds for o in outcomes if o.seconds is not None]
    return f"{statistics.median(times):.0f} s" if times else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--releases", type=int, default=200, help="simulated releases a cell")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    cells = [
        Cell(base, traffic, name, added, slower)
        for base in BASE_RATES
        for traffic in TRAFFIC
        for name, added, slower in CHANGES
    ]
    started = time.monotonic()
    jobs = [(cell, args.releases, args.seed + index) for index, cell in enumerate(cells)]
    with ProcessPoolExecutor(max_workers=args.processes) as pool:
        results = dict(pool.map(run_cell, jobs))
    print(
        f"{args.releases} simulated canaries a cell (steps {', '.join(f'{s} %' for s in STEPS)}, "
        f"{STEP_SECONDS / 60:g} min each); stopped: share of releases (new | today | flagger); "
        "time: median seconds from the first rule to its removal, when stopped"
    )
    print()
    print("| 5xx before | users/s | change | new | today | flagger | time: new | today | flagger |")
    print("|---|---|---|---|---|---|---|---|---|")
    for cell in cells:
        outcome = results[cell]
        print(
            f"| {100 * cell.base:g} % | {cell.traffic:g} | {cell.change} | "
            + " | ".join(_share(outcome[name]) for name in RULES)
            + " | "
            + " | ".join(_median_time(outcome[name]) for name in RULES)
            + " |"
        )
    print()
    print(f"({time.monotonic() - started:.0f} s)")
    _targets(cells, results)


def _targets(cells: list[Cell], results: dict[Cell, dict[str, list[Outcome]]]) -> None:
    """The issue's targets for the new verdict, checked on this run."""

    def stopped(cell: Cell) -> float:
        outcomes = results[cell]["new"]
        return sum(o.stopped for o in outcomes) / len(outcomes)

    healthy = [stopped(c) for c in cells if c.change == "same"]
    detect = [stopped(c) for c in cells if c.change in ("+5 pt", "x3") and c.traffic >= 5]
    fast = [
        t
        for c in cells
        if c.change == "+30 pt"
        for t in (o.seconds for o in results[c]["new"] if o.stopped)
        if t is not None
    ]
    missed = sum(not o.stopped for c in cells if c.change == "+30 pt" for o in results[c]["new"])
    print("Targets for the new verdict:")
    print(f"- false alarms <= 1 % in every cell: worst {100 * max(healthy):.1f} %")
    print(
        f"- detection >= 95 % for +5 points and x3 at 5 users/s or more: worst "
        f"{100 * min(detect):.1f} %"
    )
    print(
        f"- +30 points removed within 150 s: slowest {max(fast):.0f} s, 95th percentile "
        f"{sorted(fast)[int(0.95 * (len(fast) - 1))]:.0f} s; not stopped: {missed}"
    )


if __name__ == "__main__":
    main()
