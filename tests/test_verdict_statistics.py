"""The verdict's statistics against slow, obvious computations of the same numbers, and the
false-alarm budget it promises, checked by simulation on the judge itself."""

from __future__ import annotations

import itertools
import math
import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from runner.azure.slot_metrics import NO_COUNTS
from runner.probes import Probe
from runner.release import verdict_statistics as stats
from runner.release.traffic_verdict import ERRORS, SLOWNESS, ProbeTally, SequentialJudge, side_of
from runner.request import Tolerance


def restricted_by_search(
    errors: int, requests: int, base_errors: int, base_requests: int, margin: float
) -> tuple[float, float]:
    """The constrained maximum likelihood, found by bisection on its derivative."""
    low, high = max(0.0, -margin) + 1e-12, min(1.0, 1.0 - margin) - 1e-12
    for _ in range(200):
        middle = (low + high) / 2
        rate = middle + margin
        slope = (
            errors / rate
            - (requests - errors) / (1 - rate)
            + base_errors / middle
            - (base_requests - base_errors) / (1 - middle)
        )
        low, high = (middle, high) if slope > 0 else (low, middle)
    return low + margin, low


@pytest.mark.parametrize(
    "counts",
    [(5, 10, 0, 10), (21, 300, 6, 300), (3, 30, 1, 270), (0, 100, 2, 100), (50, 100, 40, 1000)],
)
def test_the_score_tests_closed_form_is_the_constrained_maximum_likelihood(
    counts: tuple[int, int, int, int],
) -> None:
    errors, requests, base_errors, base_requests = counts
    closed = stats._restricted_rates(
        errors / requests, requests, base_errors / base_requests, base_requests, 0.01
    )
    searched = restricted_by_search(errors, requests, base_errors, base_requests, 0.01)
    assert closed == pytest.approx(searched, abs=1e-9)


def test_mann_whitney_counts_pairs_as_the_definition_does() -> None:
    dice = random.Random(3)
    first = [round(dice.uniform(0, 1), 1) for _ in range(17)]  # ties on purpose
    second = [round(dice.uniform(0.2, 1.2), 1) for _ in range(23)]
    u = sum((a > b) + 0.5 * (a == b) for a, b in itertools.product(first, second))
    pooled = first + second
    ties = sum(pooled.count(v) ** 3 - pooled.count(v) for v in set(pooled))
    n1, n2, total = len(first), len(second), len(pooled)
    variance = n1 * n2 / 12 * ((total + 1) - ties / (total * (total - 1)))
    centred = u - n1 * n2 / 2
    expected = (centred - math.copysign(0.5, centred)) / math.sqrt(variance)
    assert stats._rank_z(first, second) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("t", "freedom", "tail"), [(2.0, 5, 0.05097), (-1.0, 10, 0.82955), (3.0, 2.5, 0.03629)]
)
def test_students_t_tail(t: float, freedom: float, tail: float) -> None:
    assert stats._t_tail(t, freedom) == pytest.approx(tail, abs=2e-5)


def test_the_looks_spend_exactly_the_budget_and_early_looks_a_little_more() -> None:
    shares = stats.look_alphas(0.01, 30)
    assert sum(shares) == pytest.approx(0.01)
    assert shares[0] > shares[-1] > 0


EPOCH = datetime(2026, 12, 1, tzinfo=timezone.utc)


def probed(rate: float, median: float, count: int, dice: random.Random) -> ProbeTally:
    tally = ProbeTally()
    for number in range(count):
        failed = dice.random() < rate
        seconds = median * math.exp(dice.gauss(0, 0.5))
        probe = Probe("", 500 if failed else 200, None, seconds=seconds)
        tally.record(probe, EPOCH + timedelta(seconds=number))
    return tally


def releases_stopped(rate: float, added: float, slower: float, releases: int) -> float:
    """The share of releases whose probes alone stop them, looked at 10 times each."""
    stopped = 0
    for release in range(releases):
        dice = random.Random(release)
        judge = SequentialJudge(0.01, 10, Tolerance())
        for look in range(1, 11):
            watched = probed(rate + added, 0.05 * slower, 30 * look, dice)
            baseline = probed(rate, 0.05, 30 * look, dice)
            judgement = judge.look(
                side_of("slot", NO_COUNTS, watched, True),
                side_of("production", NO_COUNTS, baseline, True),
            )
            if judgement.failed_on:
                stopped += 1
                break
    return stopped / releases


@pytest.mark.parametrize("rate", [0.0, 0.02, 0.3])
def test_a_version_no_worse_than_production_is_rarely_stopped(rate: float) -> None:
    assert releases_stopped(rate, 0.0, 1.0, 150) <= 0.01


def test_a_bad_version_is_stopped_for_its_errors_or_its_slowness() -> None:
    dice = random.Random(1)
    judge = SequentialJudge(0.01, 1, Tolerance())
    errors = judge.look(
        side_of("slot", NO_COUNTS, probed(0.3, 0.05, 100, dice), True),
        side_of("production", NO_COUNTS, probed(0.0, 0.05, 100, dice), True),
    )
    slow = SequentialJudge(0.01, 1, Tolerance()).look(
        side_of("slot", NO_COUNTS, probed(0.0, 0.5, 100, dice), True),
        side_of("production", NO_COUNTS, probed(0.0, 0.05, 100, dice), True),
    )
    off = SequentialJudge(0.01, 1, Tolerance(max_response_time_ratio=0)).look(
        side_of("slot", NO_COUNTS, probed(0.0, 0.5, 100, dice), True),
        side_of("production", NO_COUNTS, probed(0.0, 0.05, 100, dice), True),
    )
    assert (errors.failed_on, slow.failed_on, off.failed_on) == (ERRORS, SLOWNESS, "")
    assert re.match(
        r"response time \d+ ms on slot vs \d+ ms on production: more than 2 times and 50 ms "
        r"slower \(confidence > 99.9999 %",
        slow.reason(Tolerance()),
    )
