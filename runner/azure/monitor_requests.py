"""The Azure Monitor request the task sends, built as azure-mgmt-monitor builds it.

Per-minute platform metrics of a site or a slot (`Requests`, `Http5xx`, `HttpResponseTime`)
through ARM, with the swap's own credential and cloud. `tests/test_monitor_requests.py` checks
it against the request azure-mgmt-monitor's `metrics.list` sends, so this stays the same call
without that package (a hundred API versions of models) on the task's path.
"""

from __future__ import annotations

from datetime import datetime, timezone

from azure.core.rest import HttpRequest

from runner.azure.app_service_requests import slot_path
from runner.request import SlotRef

API_VERSION = "2024-02-01"  # what azure-mgmt-monitor 7 sends
PER_MINUTE = "PT1M"


def iso(moment: datetime) -> str:
    """UTC, to the second, as Azure Monitor's timespans are written."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_metrics(
    ref: SlotRef, names: tuple[str, ...], start: datetime, end: datetime, aggregation: str
) -> HttpRequest:
    """One GET of `names` for the slot (or production), minute by minute from start to end."""
    params = {
        "timespan": f"{iso(start)}/{iso(end)}",
        "interval": PER_MINUTE,
        "metricnames": ",".join(names),
        "aggregation": aggregation,
        "api-version": API_VERSION,
    }
    return HttpRequest(
        "GET",
        slot_path(ref) + "/providers/Microsoft.Insights/metrics",
        params=params,
        headers={"Accept": "application/json"},
    )
