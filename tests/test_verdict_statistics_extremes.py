"""The verdict's statistics (runner/release/verdict_statistics.py) at the extremes the emulator's
scenarios produce (a version 300 ms slower than sub-millisecond answers, as steady as a sleep;
all or none of the requests failing): a z score for any evidence, never an error."""

from __future__ import annotations

import math
from statistics import StatisticsError

import pytest

from runner.release.verdict_statistics import (
    LARGEST_Z,
    excess_error_z,
    minutes_slower_z,
    slower_z,
    z_for,
)

# Per-minute averages (seconds) of a version 300 ms slower, as steady as a sleep makes them,
# and of production's sub-millisecond answers: what the emulator's Azure Monitor publishes.
SLOW_MINUTES = [0.3004, 0.3006, 0.3005, 0.3007, 0.3005, 0.3004]
FAST_MINUTES = [0.00005, 0.00006, 0.00005, 0.00007, 0.00006, 0.00005]


def test_minutes_far_apart_are_the_largest_z_not_an_error() -> None:
    # Welch's t is so large that its p-value is below 1e-16: 1 - p rounds to 1.0.
    try:
        scores = minutes_slower_z(SLOW_MINUTES, FAST_MINUTES, 2.0, 0.05)
    except StatisticsError as error:
        pytest.fail(
            f"minutes_slower_z raised StatisticsError ({error}) on minutes 300 ms slower: "
            "_welch_z passes a p-value below 1e-16 to z_for, whose inv_cdf(1 - p) gets 1.0; "
            "the task ends with 'Unexpected error' (SwapOutcome Unfinished, no swap back in a bake)"
        )

    assert scores is not None
    assert all(score >= z_for(1e-6) for score in scores), scores
    assert all(math.isfinite(score) and score <= LARGEST_Z for score in scores), scores


def test_minutes_far_apart_the_other_way_are_the_smallest_z() -> None:
    scores = minutes_slower_z(FAST_MINUTES, SLOW_MINUTES, 2.0, 0.05)

    assert scores is not None
    assert all(score <= -z_for(1e-6) for score in scores), scores


def test_minutes_slower_z_needs_two_minutes_a_side() -> None:
    assert minutes_slower_z(SLOW_MINUTES[:1], FAST_MINUTES, 2.0, 0.05) is None
    assert minutes_slower_z(SLOW_MINUTES, FAST_MINUTES[:1], 2.0, 0.05) is None


def test_probe_times_far_apart_are_a_large_z_and_equal_ones_no_evidence() -> None:
    slow = slower_z(
        [0.3 + i / 1e4 for i in range(30)], [0.001 + i / 1e5 for i in range(30)], 2, 0.05
    )
    same = slower_z(
        [0.001 + i / 1e5 for i in range(30)], [0.001 + i / 1e5 for i in range(30)], 2, 0.05
    )

    assert slow is not None and min(slow) > z_for(1e-4), slow
    assert same is not None and max(same) < 0, same
    assert slower_z([0.3] * 4, [0.001] * 30, 2, 0.05) is None  # too few times on a side


@pytest.mark.parametrize(
    ("errors", "requests", "base_errors", "base_requests"),
    [(15, 1000, 15, 1000), (0, 100, 0, 100), (3, 60, 0, 60), (0, 0, 5, 100), (100, 100, 0, 0)],
)
def test_excess_error_z_is_finite_and_bounded(
    errors: int, requests: int, base_errors: int, base_requests: int
) -> None:
    z = excess_error_z(errors, requests, base_errors, base_requests, 0.01)

    assert math.isfinite(z) and -LARGEST_Z <= z <= LARGEST_Z


def test_equal_error_rates_are_no_evidence_and_half_failing_is_overwhelming() -> None:
    noisy = excess_error_z(15, 1000, 15, 1000, 0.01)  # both fail 1.5 %: a 1-point margin holds
    half = excess_error_z(30, 60, 0, 60, 0.01)

    assert noisy < 0, noisy
    assert half > z_for(1e-4), half
