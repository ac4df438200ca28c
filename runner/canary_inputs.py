"""The canary's settings, parsed from their text once: the task's inputs or the terminal's
options."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from runner.errors import UserError
from runner.request import (
    PRODUCTION,
    Action,
    Bake,
    CanarySteps,
    InsufficientTraffic,
    Tolerance,
)

CANARY_INPUTS = (
    "TrafficSteps",
    "TrafficStepMinutes",
    "MaxErrorRatePercent",
    "MaxResponseTimeRatio",
    "ResponseTimeMarginMs",
    "MinRequests",
    "InsufficientTraffic",
    "BakeMinutes",
)


def parse_canary(
    action: Action, target: str, texts: Mapping[str, str], names: Mapping[str, str] | None = None
) -> CanarySteps | None:
    """The canary settings from their text (task inputs, or the terminal's options: `names`
    gives each input's name as the user wrote it)."""
    named = {name: (names or {}).get(name, name) for name in CANARY_INPUTS}
    text = texts.get("TrafficSteps", "").strip()
    if not text:
        return None
    steps_name = named["TrafficSteps"]
    if action is not Action.SWAP or target.lower() != PRODUCTION:
        raise UserError(
            f"{steps_name} is '{text}', but a canary routes production's traffic before a swap "
            "into production: it needs Action 'Swap Slots' and SwapWithProduction: true. "
            f"Clear {steps_name}, or swap into production."
        )
    parts = [part.strip().rstrip("%").strip() for part in text.split(",")]
    steps = [int(part) if part.isdigit() else 0 for part in parts]
    if not all(1 <= step <= 99 for step in steps) or any(
        later <= earlier for earlier, later in zip(steps, steps[1:])
    ):
        raise UserError(
            f"{steps_name} is '{text}': give percentages of production's traffic from 1 to 99, "
            "ascending and separated by commas, e.g. 10,50."
        )

    minutes = _decimal(
        texts,
        named,
        "TrafficStepMinutes",
        5.0,
        "minutes above 0, e.g. 5 or 0.5",
        lambda v: 0 < v <= 24 * 60,
    )
    return CanarySteps(tuple(steps), minutes * 60, _tolerance(texts, named), _choice(texts, named))


def parse_bake(
    action: Action, target: str, texts: Mapping[str, str], names: Mapping[str, str] | None = None
) -> Bake | None:
    """BakeMinutes (0: no bake), judged with the canary's tolerance (MaxErrorRatePercent,
    MaxResponseTimeRatio, ResponseTimeMarginMs), MinRequests and InsufficientTraffic."""
    named = {name: (names or {}).get(name, name) for name in CANARY_INPUTS}
    text = texts.get("BakeMinutes", "").strip()
    try:
        minutes = float(text) if text else 0.0
    except ValueError:
        minutes = -1.0
    if not 0 <= minutes <= 24 * 60:
        raise UserError(
            f"{named['BakeMinutes']} is '{text}': give the minutes to watch production after "
            "the swap, 0 (none) to 1440."
        )
    if not minutes:
        return None
    if action not in (Action.SWAP, Action.COMPLETE_PREVIEW) or target.lower() != PRODUCTION:
        raise UserError(
            f"{named['BakeMinutes']} is '{text}', but a bake watches production after a swap "
            "into production: set it to 0, or swap into production."
        )
    return Bake(minutes * 60, _tolerance(texts, named), _choice(texts, named))


def _tolerance(texts: Mapping[str, str], named: Mapping[str, str]) -> Tolerance:
    return Tolerance(
        _rate(texts, named),
        _decimal(
            texts,
            named,
            "MaxResponseTimeRatio",
            2.0,
            "a ratio above 1, e.g. 2, or 0 to judge no response times",
            lambda v: v == 0 or 1 < v <= 1000,
        ),
        _decimal(
            texts,
            named,
            "ResponseTimeMarginMs",
            50.0,
            "milliseconds, 0 or more, e.g. 50",
            lambda v: 0 <= v <= 600_000,
        ),
        _min_requests(texts, named),
    )


def _decimal(
    texts: Mapping[str, str],
    named: Mapping[str, str],
    name: str,
    default: float,
    what: str,
    allowed: Callable[[float], bool],
) -> float:
    text = texts.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and allowed(value)):
        raise UserError(f"{named[name]} is '{text}': give {what}.")
    return value


def _min_requests(texts: Mapping[str, str], named: Mapping[str, str]) -> int:
    text = texts.get("MinRequests", "").strip()
    least = int(text) if text.isdigit() else (100 if not text else -1)
    if least < 0:
        raise UserError(
            f"{named['MinRequests']} is '{text}': give a whole number of requests (0 or more)."
        )
    return least


def _choice(texts: Mapping[str, str], named: Mapping[str, str]) -> InsufficientTraffic:
    text = texts.get("InsufficientTraffic", "").strip()
    choices = {c.value: c for c in InsufficientTraffic}
    choice = choices.get(text.lower() or InsufficientTraffic.FAIL.value)
    if choice is None:
        raise UserError(f"{named['InsufficientTraffic']} is '{text}': use 'fail' or 'continue'.")
    return choice


def _rate(texts: Mapping[str, str], named: Mapping[str, str]) -> float:
    text = texts.get("MaxErrorRatePercent", "").strip()
    try:
        rate = float(text) if text else 1.0
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 100:
        raise UserError(
            f"{named['MaxErrorRatePercent']} is '{text}': give a percentage from 0 to 100."
        )
    return rate
