"""The verdict on a span of user traffic, the same for a canary step and for the bake.

What was watched (the slot during a step, production during the bake) is bad when its 5xx rate
is over the limit and over a baseline: production's in the same minutes for a step, the old
version's before the swap for the bake. The rate comes from Azure Monitor's published minutes
and, as those arrive late, from the task's own probes. Fewer user requests than MinRequests in
the published minutes is too little traffic to judge at all.
"""

from __future__ import annotations

from datetime import datetime, timezone

from runner.slot_metrics import Counts

PASSED, FAILED, TOO_LITTLE, CANCELED = "passed", "failed", "too little traffic", "canceled"
# Probes fail a span only with this many failures: one lost probe is not a bad version.
PROBE_FAILURES_TO_FAIL = 2


class ProbeTally:
    """The task's own probes during a span: when each was sent, and how many failed."""

    def __init__(self) -> None:
        self.sent: list[datetime] = []
        self.errors = 0

    def record(self, status: int) -> bool:
        """Counts a probe sent just now; True when it failed (no answer, or 5xx)."""
        self.sent.append(datetime.now(timezone.utc))
        failed = status == 0 or status >= 500
        self.errors += failed
        return failed

    @property
    def count(self) -> int:
        return len(self.sent)

    @property
    def error_percent(self) -> float:
        return 100.0 * self.errors / self.count if self.count else 0.0

    def within(self, counts: Counts) -> int:
        """The probes that fall in the published minutes (Azure counts them as requests)."""
        until = counts.published_until
        return sum(1 for moment in self.sent if until is None or moment < until)


def user_requests(watched: Counts, probes: ProbeTally) -> int:
    """Requests in the published minutes that were not the task's own probes."""
    return max(0, watched.requests - probes.within(watched))


def is_bad(watched: Counts, baseline_percent: float, probes: ProbeTally, limit: float) -> bool:
    bad_metrics = watched.error_percent > limit and watched.error_percent > baseline_percent
    bad_probes = (
        probes.errors >= PROBE_FAILURES_TO_FAIL
        and probes.error_percent > limit
        and probes.error_percent > baseline_percent
    )
    return bad_metrics or bad_probes


def verdict(
    watched: Counts, baseline_percent: float, probes: ProbeTally, limit: float, min_requests: int
) -> str:
    """FAILED, TOO_LITTLE or PASSED: a bad rate decides even on little traffic."""
    if is_bad(watched, baseline_percent, probes, limit):
        return FAILED
    if user_requests(watched, probes) < min_requests:
        return TOO_LITTLE
    return PASSED
