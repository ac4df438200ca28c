"""The App Service metrics the emulator keeps, under their REST names (Microsoft.Web/sites and
Microsoft.Web/sites/slots share them)."""

from __future__ import annotations

from typing import NamedTuple


class MetricDefinition(NamedTuple):
    name: str  # the REST name, e.g. Http5xx
    display_name: str  # name.localizedValue
    description: str
    unit: str  # Count or Seconds
    primary_aggregation: str  # what is returned when the query names no aggregation
    counter: str  # the MinuteCounts field it reads; "response_seconds" for response times


DEFINITIONS = (
    MetricDefinition(
        "Requests",
        "Requests",
        "The total number of requests regardless of their resulting HTTP status code.",
        "Count",
        "Total",
        "requests",
    ),
    MetricDefinition(
        "Http2xx",
        "Http 2xx",
        "The count of requests resulting in an HTTP status code >= 200 but < 300.",
        "Count",
        "Total",
        "http2xx",
    ),
    MetricDefinition(
        "Http3xx",
        "Http 3xx",
        "The count of requests resulting in an HTTP status code >= 300 but < 400.",
        "Count",
        "Total",
        "http3xx",
    ),
    MetricDefinition(
        "Http4xx",
        "Http 4xx",
        "The count of requests resulting in an HTTP status code >= 400 but < 500.",
        "Count",
        "Total",
        "http4xx",
    ),
    MetricDefinition(
        "Http5xx",
        "Http Server Errors",
        "The count of requests resulting in an HTTP status code >= 500 but < 600.",
        "Count",
        "Total",
        "http5xx",
    ),
    MetricDefinition(
        "HttpResponseTime",
        "Response Time",
        "The time taken for the app to serve requests, in seconds.",
        "Seconds",
        "Average",
        "response_seconds",
    ),
    # Deprecated by Azure in favour of HttpResponseTime, still served for old dashboards.
    MetricDefinition(
        "AverageResponseTime",
        "Average Response Time (deprecated)",
        "The average time taken for the app to serve requests, in seconds.",
        "Seconds",
        "Average",
        "response_seconds",
    ),
)

AGGREGATIONS = ("Average", "Count", "Maximum", "Minimum", "Total")


def find_metric(name: str) -> MetricDefinition | None:
    for definition in DEFINITIONS:
        if definition.name.lower() == name.strip().lower():
            return definition
    return None
