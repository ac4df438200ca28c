"""How a deployed version behaves on its slot's site: what a health gate, a post-swap check and a
rollback see.

A version's health is one of
- `healthy`: 200 on every path;
- `unhealthy`: the app runs but answers 500 on every path;
- `broken`: the app never starts (503 from the front end); a swap from its slot fails at warm-up;
- `needs-setting:NAME` or `needs-setting:NAME=VALUE`: healthy while the slot it runs on has that
  app setting (set, or equal to VALUE), else 500. A version that needs a slot (sticky) setting
  which only its own slot has is healthy there and fails once a swap moves it to production;
- `flaky:P`: the app runs but P % of its requests answer 500, spread evenly over the requests
  it serves (with 20: the 5th, 10th, 15th, ...), so one health probe passes and a canary that
  watches many requests catches it. Deterministic, so tests can count on it.

Independently, a version may take `warmup_seconds` to start, counted from its deployment or from
its slot's last restart (a swap restarts its source slot, and the old production after the
switch; changing app settings restarts the slot): until then the site answers 503.
"""

from __future__ import annotations

import math
from typing import NamedTuple

NEEDS_SETTING = "needs-setting:"
FLAKY = "flaky:"
PLAIN_HEALTHS = ("healthy", "unhealthy", "broken")
HEALTH_HELP = (
    "healthy, unhealthy, broken, needs-setting:NAME, needs-setting:NAME=VALUE or flaky:PERCENT"
)


class Health(NamedTuple):
    kind: str  # healthy | unhealthy | broken | needs-setting | flaky
    setting: str | None = None
    value: str | None = None  # None: any non-empty value
    failing_percent: float = 0.0  # flaky only


def parse_health(text: str) -> Health:
    """A deployment's `health` as the control API and `emulator-deploy --health` take it."""
    if text in PLAIN_HEALTHS:
        return Health(text)
    if text.startswith(NEEDS_SETTING):
        name, equals, value = text[len(NEEDS_SETTING) :].partition("=")
        if name.strip():
            return Health("needs-setting", name.strip(), value if equals else None)
    if text.startswith(FLAKY):
        try:
            percent = float(text[len(FLAKY) :])
        except ValueError:
            percent = -1.0
        if 0 < percent <= 100:
            return Health("flaky", failing_percent=percent)
    raise ValueError(f"health must be {HEALTH_HELP}, not {text!r}")


class Verdict(NamedTuple):
    """What the slot's site answers now."""

    status: int  # 200, 500 (runs but fails) or 503 (not running)
    running: bool  # the app's own code answers (so it sends its version header)
    reason: str  # a short explanation, the body of a failing health check


def judge(
    health_text: str,
    app_settings: dict[str, str],
    started_at: float,
    warmup_seconds: float,
    now: float,
    request_number: int = 1,
) -> Verdict:
    """`request_number` counts the requests this deployment has served, this one included."""
    health = parse_health(health_text)
    if health.kind == "broken":
        return Verdict(503, False, "The app did not start.")
    left = started_at + warmup_seconds - now
    if left > 0:
        return Verdict(503, False, f"The app is starting (warm-up, {left:.1f} s left).")
    if health.kind == "unhealthy":
        return Verdict(500, True, "Unhealthy: the app fails.")
    if health.kind == "flaky" and _fails(request_number, health.failing_percent):
        return Verdict(
            500, True, f"Unhealthy: this version fails {health.failing_percent:g} % of requests."
        )
    if health.kind == "needs-setting":
        assert health.setting is not None
        actual = app_settings.get(health.setting)
        if not actual:
            return Verdict(500, True, f"Unhealthy: app setting {health.setting} is not set.")
        if health.value is not None and actual != health.value:
            return Verdict(
                500,
                True,
                f"Unhealthy: app setting {health.setting} is '{actual}', "
                f"this version needs '{health.value}'.",
            )
    return Verdict(200, True, "Healthy")


def _fails(request_number: int, percent: float) -> bool:
    """True for the requests where the running share of failures reaches the next whole one."""

    def failures(requests: int) -> int:
        return math.floor(requests * percent / 100 + 1e-9)  # 15 * 20 / 100 is 3, not 2.99...

    return failures(request_number) > failures(request_number - 1)
