"""The parameters of a metrics query, read and checked as Azure Monitor checks them."""

from __future__ import annotations

import datetime
import re
import urllib.parse
from typing import NamedTuple

from runner.emulator.monitor.catalog import AGGREGATIONS, DEFINITIONS, MetricDefinition, find_metric
from runner.emulator.wire import Request

# Time grains App Service metrics offer, in (emulated) minutes; FULL is one point for the span.
GRAINS = {"PT1M": 1, "PT5M": 5, "PT15M": 15, "PT30M": 30, "PT1H": 60, "PT6H": 360}
GRAINS.update({"PT12H": 720, "P1D": 1440})
FULL = "FULL"
DEFAULT_SPAN_MINUTES = 60
_DATETIME = re.compile(
    # A "+" of an offset that reached the query string unescaped has become a space.
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+ -]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)


class QueryError(Exception):
    """A query Azure Monitor would refuse with 400; the message is Azure's kind of text."""


class MetricsQuery(NamedTuple):
    metrics: tuple[MetricDefinition, ...]
    aggregations: tuple[str, ...] | None  # None: each metric's primary aggregation
    start: float  # Unix time, inclusive
    end: float  # Unix time, exclusive
    grain_minutes: int | None  # None: FULL
    interval: str  # as answered, e.g. PT1M


def parse_query(
    request: Request, resource_type: str, minute_seconds: float, now: float
) -> MetricsQuery:
    namespace = request.param("metricnamespace")
    if namespace and namespace.lower() != resource_type.lower():
        raise QueryError(
            f"Metric namespace '{namespace}' is not valid for resource type '{resource_type}'. "
            f"Valid metric namespaces: {resource_type}."
        )
    if request.param("$filter"):
        raise QueryError(
            "The emulator keeps no metric dimensions (such as Instance): $filter is not supported."
        )
    metrics = _metrics(request.param("metricnames"), resource_type)
    aggregations = _aggregations(request.param("aggregation"))
    start, end = _timespan(request.param("timespan"), now, DEFAULT_SPAN_MINUTES * minute_seconds)
    interval = (request.param("interval") or "PT1M").strip().upper()
    if interval == FULL:
        return MetricsQuery(metrics, aggregations, start, end, None, FULL)
    if interval not in GRAINS:
        raise QueryError(
            f"Invalid time grain '{interval}'. Supported time grains: "
            + ", ".join([*GRAINS, FULL])
            + "."
        )
    return MetricsQuery(metrics, aggregations, start, end, GRAINS[interval], interval)


def _metrics(names: str | None, resource_type: str) -> tuple[MetricDefinition, ...]:
    if not names or not names.strip():
        return (DEFINITIONS[0],)
    found = []
    for name in names.split(","):
        definition = find_metric(name.replace("%2", ","))
        if definition is None:
            provider, _, kind = resource_type.partition("/")
            raise QueryError(
                f"Failed to find metric configuration for provider: {provider}, resource Type: "
                f"{kind}, metric: {name.strip()}, Valid metrics: "
                + ",".join(d.name for d in DEFINITIONS)
            )
        if definition not in found:
            found.append(definition)
    return tuple(found)


def _aggregations(text: str | None) -> tuple[str, ...] | None:
    if not text or not text.strip():
        return None
    chosen = []
    for word in text.split(","):
        match = next((a for a in AGGREGATIONS if a.lower() == word.strip().lower()), None)
        if match is None:
            raise QueryError(
                f"Invalid aggregation '{word.strip()}'. Valid aggregations: "
                + ", ".join(AGGREGATIONS)
                + "."
            )
        if match not in chosen:
            chosen.append(match)
    return tuple(chosen)


def _timespan(text: str | None, now: float, default_seconds: float) -> tuple[float, float]:
    if not text or not text.strip():
        return now - default_seconds, now
    # The Azure CLI escapes the timespan itself before its SDK escapes the query string, so the
    # value arrives escaped once more (`12%3A00%3A00%2B00%3A00%2F...`); Azure Monitor takes it.
    text = urllib.parse.unquote(text)
    first, slash, second = text.strip().partition("/")
    start = _moment(first, text)
    if not slash:
        raise QueryError(
            f"Invalid timespan '{text}': expected 'start/end' or 'start/duration' in ISO 8601."
        )
    end = (
        start + _seconds(second, text) if second.upper().startswith("P") else _moment(second, text)
    )
    if end <= start:
        raise QueryError(f"Invalid timespan '{text}': the end must be later than the start.")
    return start, end


def _moment(text: str, whole: str) -> float:
    match = _DATETIME.match(text.strip())
    if match is None:
        raise QueryError(f"Invalid timespan '{whole}': '{text}' is not an ISO 8601 date and time.")
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    fraction = float(match.group(7) or 0)
    zone = match.group(8) or "Z"
    offset = datetime.timedelta(0)
    if zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        moment = datetime.datetime(
            year, month, day, hour, minute, second, tzinfo=datetime.timezone(offset)
        )
    except ValueError as error:
        raise QueryError(f"Invalid timespan '{whole}': {error}.") from None
    return moment.timestamp() + fraction


def _seconds(text: str, whole: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None or not any(match.groups()):
        raise QueryError(f"Invalid timespan '{whole}': '{text}' is not an ISO 8601 duration.")
    days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def iso_time(moment: float) -> str:
    """`2026-11-29T12:00:00Z`, with milliseconds only when a compressed minute needs them."""
    stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    if stamp.microsecond:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
