"""Is a slot healthy, and does it serve the expected version? Probed until it is, or until time
runs out: the gate before a swap, and the verification of production after it.

A probe counts as healthy when it answers 2xx and, when a version is expected, reports that
version (header `X-App-Version` or a JSON `version`). The slot passes after `healthy_after`
healthy answers in a row; one bad answer starts the count again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Optional
from urllib.parse import urljoin

from runner.cancellation import Cancellation
from runner.log import Log
from runner.probes import Probe, SlotProbes
from runner.request import SafetyChecks

PROBE_INTERVAL_SECONDS = 1.0  # between the starts of two probes
PROBE_TIMEOUT_SECONDS = 5.0


class HealthRules(NamedTuple):
    """What a slot must show: the checks of the request, with the health path resolved."""

    path: Optional[str]  # None: no health path (the app has none configured either)
    path_source: str  # "HealthCheckPath" or "the app's healthCheckPath"
    healthy_after: int
    timeout_seconds: float
    expected_version: Optional[str]

    @property
    def checks_anything(self) -> bool:
        return self.path is not None or self.expected_version is not None

    def describe(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(f"{self.path} ({self.path_source}) answers 2xx")
        if self.expected_version is not None:
            parts.append(f"it serves version {self.expected_version}")
        return " and ".join(parts)

    def without_version(self) -> HealthRules:
        """The rules for production after a swap back: healthy, whatever version it runs."""
        return HealthRules(
            self.path, self.path_source, self.healthy_after, self.timeout_seconds, None
        )


def resolve_rules(checks: SafetyChecks, configured_path: Optional[str]) -> HealthRules:
    if checks.health_check_path is not None:
        path: Optional[str] = checks.health_check_path
        source = "HealthCheckPath"
    else:
        path = normalize_path(configured_path) if configured_path else None
        source = "the app's healthCheckPath"
    return HealthRules(
        path, source, checks.healthy_after, checks.health_timeout_seconds, checks.expected_version
    )


def normalize_path(path: str) -> str:
    return "/" + path.strip().lstrip("/")


class HealthCheck(NamedTuple):
    """How one slot fared: `passed`, after how many probes and seconds, and the last answer."""

    label: str  # "gate: staging", "verify: production", ...
    url: str
    passed: bool
    probes: int
    seconds: float
    last: Optional[Probe]
    canceled: bool = False
    expected_version: Optional[str] = None

    def problem(self) -> str:
        """What was wrong at the end: a version other than the expected one is not called
        "not healthy" when it answered 200."""
        last, expected = self.last, self.expected_version
        if last is not None and last.ok and expected is not None and last.version != expected:
            served = f"version {last.version}" if last.version else "no version it reports"
            return f"serves {served}, not the expected {expected}"
        return "was not healthy"

    def last_answer(self) -> str:
        probe = self.last
        if probe is None:
            return "no probe was sent"
        if probe.status == 0:
            return f"no answer ({probe.error})"
        version = f", version {probe.version}" if probe.version else ", no version reported"
        body = f", body: {probe.body_excerpt!r}" if probe.body_excerpt else ""
        return f"HTTP {probe.status}{version}{body}"

    def details(self) -> str:
        return (
            f"{self.probes} probe{'s' if self.probes != 1 else ''} in {self.seconds:.1f} s; "
            f"last answer {self.last_answer()}"
        )

    def summary(self) -> str:
        verdict = "passed" if self.passed else ("canceled" if self.canceled else "failed")
        return f"{verdict} after {self.details()}"


def wait_until_healthy(
    label: str,
    site_url: str,
    rules: HealthRules,
    cancellation: Cancellation,
    log: Log,
    slot_probes: SlotProbes,
) -> HealthCheck:
    """Probes `site_url` (at the health path, else its root) until it passes or time runs out."""
    url = urljoin(site_url, rules.path.lstrip("/")) if rules.path else site_url
    log.info(
        f"Waiting until {url} shows {rules.healthy_after} healthy answer"
        f"{'s' if rules.healthy_after != 1 else ''} in a row: {rules.describe()} "
        f"(timeout {rules.timeout_seconds / 60:g} min)."
    )
    started = time.monotonic()
    deadline = started + rules.timeout_seconds
    in_a_row = probes = 0
    last: Optional[Probe] = None
    shown = ""
    while True:
        sent_at = time.monotonic()
        timeout = max(0.5, min(PROBE_TIMEOUT_SECONDS, deadline - sent_at))
        last = slot_probes.probe(url, timeout)
        probes += 1
        healthy = _healthy(last, rules)
        in_a_row = in_a_row + 1 if healthy else 0
        now = time.monotonic()
        answer = _answer(last, rules)
        if answer != shown:
            log.info(f"  {now - started:5.1f} s  {answer}")
            shown = answer
        expected = rules.expected_version
        if in_a_row >= rules.healthy_after:
            return HealthCheck(label, url, True, probes, now - started, last, False, expected)
        if cancellation.requested.is_set():
            return HealthCheck(label, url, False, probes, now - started, last, True, expected)
        next_at = sent_at + PROBE_INTERVAL_SECONDS
        if next_at >= deadline:
            return HealthCheck(label, url, False, probes, now - started, last, False, expected)
        cancellation.sleep(next_at - now)


class Probing(NamedTuple):
    """One slot to probe among several: `wait_until_healthy`'s arguments."""

    label: str
    site_url: str
    rules: HealthRules
    log: Log
    slot_probes: SlotProbes


def wait_until_all_healthy(
    probings: Sequence[Probing], cancellation: Cancellation
) -> list[HealthCheck]:
    """Several slots probed at the same time, one thread each: the slowest sets the time."""
    pool = ThreadPoolExecutor(max_workers=max(1, len(probings)))
    try:
        checks = [
            pool.submit(
                wait_until_healthy, p.label, p.site_url, p.rules, cancellation, p.log, p.slot_probes
            )
            for p in probings
        ]
        return [check.result() for check in checks]
    finally:
        pool.shutdown(wait=False)  # on SIGTERM the probes see the cancellation and end


def _healthy(probe: Probe, rules: HealthRules) -> bool:
    if not probe.ok:
        return False
    return rules.expected_version is None or probe.version == rules.expected_version


def _answer(probe: Probe, rules: HealthRules) -> str:
    if probe.status == 0:
        return f"no answer ({probe.error})"
    text = f"HTTP {probe.status}, " + (
        f"version {probe.version}" if probe.version else "no version reported"
    )
    if rules.expected_version is not None and probe.version != rules.expected_version:
        text += f" (expected {rules.expected_version})"
    return text + ("" if probe.ok else f": {probe.body_excerpt}")
