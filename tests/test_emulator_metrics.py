"""Scenarios: Azure Monitor metrics of the emulated sites and slots, read with the unmodified
azure-mgmt-monitor and azure-identity: per-slot, per-minute Requests and Http5xx (routed traffic
counted on the slot), response times, the publishing delay, Azure's 400 for an unknown metric,
a flaky version that passes a single probe but fails a share of its requests, and a slower
version's response times.

One metrics minute lasts 0.5 s here (`--metrics-minute-seconds`), published two such minutes
after it ends (`--metrics-delay-minutes`), so these tests take seconds."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.monitor.models import Metric, MetricValue
from azure.mgmt.monitor.models import Response as MetricsResponse

from tests.emulator_process import Emulator, emulator_for_sdk, monitor_client

GROUP = "rg-swap-demo"
APPS = ["web-canary", "web-late", "web-flaky", "web-slow"]
MINUTE = 0.5
DELAY_MINUTES = 2
SUBSCRIPTION = "30000000-0000-4000-8000-000000000003"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    seeds = [arg for app in APPS for arg in ("--app", f"{app}@{GROUP}:staging")]
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"),
        "--metrics-minute-seconds",
        str(MINUTE),
        "--metrics-delay-minutes",
        str(DELAY_MINUTES),
        "--seed",
        "5",
        *seeds,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def monitor(emulator: Emulator) -> MonitorManagementClient:
    return monitor_client(emulator)


def resource_id(app: str, slot: str = "production") -> str:
    site = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/{app}"
    )
    return site if slot == "production" else f"{site}/slots/{slot}"


def timespan(start: float, end: float) -> str:
    def iso(moment: float) -> str:
        stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return f"{iso(start)}/{iso(end)}"


def points_of(metric: Metric) -> list[MetricValue]:
    """The data points of a metric's only time series (the emulator keeps no dimensions)."""
    return [point for series in metric.timeseries or [] for point in series.data or []]


def totals(result: MetricsResponse) -> dict[str, float]:
    """Each metric's total over the data points that have one."""
    return {
        metric.name.value: sum(p.total for p in points_of(metric) if p.total is not None)
        for metric in result.value
    }


def visit(emulator: Emulator, app: str, times: int, slot: str = "production") -> list[int]:
    """`times` new clients, each one request."""
    url = emulator.slot_url(app, slot)
    return [requests.get(url, verify=emulator.ca_cert, timeout=5).status_code for _ in range(times)]


def route_to_staging(emulator: Emulator, app: str, percentage: float) -> None:
    rule = {
        "name": "staging",
        "actionHostName": emulator.host_name(app, "staging"),
        "reroutePercentage": percentage,
    }
    emulator.control(
        "POST",
        "config",
        {"app": app, "slot": "production", "properties": {"experiments": {"rampUpRules": [rule]}}},
    )


def until_published() -> None:
    """Past the end of the current minute and its publishing delay."""
    time.sleep(MINUTE * (1 + DELAY_MINUTES) + 0.3)


def test_azure_mgmt_monitor_reads_per_slot_requests_and_errors_of_routed_traffic(
    emulator: Emulator, monitor: MonitorManagementClient
) -> None:
    app = "web-canary"
    emulator.deploy(app, "staging", "v2", health="flaky:20")
    route_to_staging(emulator, app, 25)
    start = time.time()
    visit(emulator, app, 200)
    until_published()
    span = timespan(start - 1, time.time())

    site = monitor.metrics.list(
        resource_id(app),
        timespan=span,
        interval="PT1M",
        metricnames="Requests,Http5xx",
        aggregation="Total",
    )
    slot = monitor.metrics.list(
        resource_id(app, "staging"),
        timespan=span,
        interval="PT1M",
        metricnames="Requests,Http5xx",
        aggregation="Total",
    )

    counters = emulator.counters(app)
    assert totals(site) == {"Requests": counters["production"]["requests"], "Http5xx": 0}
    assert totals(slot) == {
        "Requests": counters["staging"]["requests"],
        "Http5xx": counters["staging"]["http5xx"],
    }
    assert counters["staging"]["requests"] + counters["production"]["requests"] == 200
    assert counters["staging"]["http5xx"] == counters["staging"]["requests"] // 5
    assert (site.namespace, slot.namespace) == ("Microsoft.Web/sites", "Microsoft.Web/sites/slots")
    assert (slot.interval, slot.resourceregion) == ("PT1M", "westeurope")
    errors = slot.value[1]
    assert (
        errors.id == resource_id(app, "staging") + "/providers/Microsoft.Insights/metrics/Http5xx"
    )
    assert (errors.name.localized_value, errors.unit) == ("Http Server Errors", "Count")
    stamps = [p.time_stamp for p in points_of(errors)]
    assert stamps == sorted(stamps) and len(stamps) >= 3


def test_a_minute_is_published_only_after_the_delay(
    emulator: Emulator, monitor: MonitorManagementClient
) -> None:
    app = "web-late"
    start = time.time()
    visit(emulator, app, 3)

    def requests_now() -> tuple[float, list[float | None]]:
        result = monitor.metrics.list(
            resource_id(app), timespan=timespan(start - 1, time.time()), metricnames="Requests"
        )
        return totals(result)["Requests"], [p.total for p in points_of(result.value[0])]

    at_once, points = requests_now()
    until_published()
    later, _ = requests_now()

    assert at_once == 0
    assert points[-1] is None, "the current minute has no value yet"
    assert later == 3


def test_response_times_under_both_names_and_an_unknown_metric_is_azures_400(
    emulator: Emulator, monitor: MonitorManagementClient
) -> None:
    app = "web-late"
    start = time.time()
    visit(emulator, app, 5)
    until_published()

    times = monitor.metrics.list(
        resource_id(app),
        timespan=timespan(start - 1, time.time()),
        metricnames="HttpResponseTime,AverageResponseTime",
    )
    with pytest.raises(HttpResponseError) as refused:
        monitor.metrics.list(resource_id(app), metricnames="Requests,CpuTimeX")

    names = [(m.name.value, m.name.localized_value, m.unit) for m in times.value]
    assert names == [
        ("HttpResponseTime", "Response Time", "Seconds"),
        ("AverageResponseTime", "Average Response Time (deprecated)", "Seconds"),
    ]
    averages = [p.average for p in points_of(times.value[0]) if p.average is not None]
    assert averages and all(0 < seconds < 1 for seconds in averages)
    assert refused.value.status_code == 400
    message = str(refused.value)
    assert "Failed to find metric configuration for provider: Microsoft.Web" in message
    assert "metric: CpuTimeX, Valid metrics: Requests,Http2xx,Http3xx,Http4xx,Http5xx" in message


def test_a_flaky_version_passes_one_probe_and_fails_a_fifth_of_its_requests(
    emulator: Emulator,
) -> None:
    app = "web-flaky"
    emulator.deploy(app, "staging", "v2", health="flaky:20")

    statuses = visit(emulator, app, 50, slot="staging")

    assert statuses[0] == 200, "a single health probe passes"
    assert statuses.count(500) == 10
    assert [n for n, status in enumerate(statuses, 1) if status == 500][:2] == [5, 10]
    assert emulator.counters(app)["staging"]["http5xx"] == 10


def test_azure_mgmt_monitor_lists_the_metric_definitions_of_a_slot(
    monitor: MonitorManagementClient,
) -> None:
    definitions = list(monitor.metric_definitions.list(resource_id("web-late", "staging")))

    by_name = {d.name.value: d for d in definitions if d.name is not None}
    assert list(by_name)[:5] == ["Requests", "Http2xx", "Http3xx", "Http4xx", "Http5xx"]
    assert {"HttpResponseTime", "AverageResponseTime"} <= set(by_name)
    errors = by_name["Http5xx"]
    assert (errors.namespace, errors.unit, errors.primary_aggregation_type) == (
        "Microsoft.Web/sites/slots",
        "Count",
        "Total",
    )
    grains = [a.time_grain for a in errors.metric_availabilities or []]
    assert grains[0] == datetime.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"interval": "PT2M"}, "Invalid time grain 'PT2M'. Supported time grains: PT1M, PT5M"),
        ({"aggregation": "Total,Median"}, "Invalid aggregation 'Median'. Valid aggregations:"),
        (
            {"timespan": "2026-11-29T12:10:00Z/2026-11-29T12:00:00Z"},
            "the end must be later than the start",
        ),
        ({"filter": "Instance eq '*'"}, "$filter is not supported"),
        ({"metricnamespace": "Microsoft.Web/serverfarms"}, "Valid metric namespaces"),
    ],
)
def test_a_query_azure_monitor_would_refuse_is_a_400_saying_why(
    monitor: MonitorManagementClient, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(HttpResponseError) as refused:
        monitor.metrics.list(resource_id("web-late"), metricnames="Requests", **options)

    assert refused.value.status_code == 400
    assert message in str(refused.value)


def test_a_timespan_with_offsets_or_a_duration_and_coarser_grains(
    emulator: Emulator, monitor: MonitorManagementClient
) -> None:
    app = "web-flaky"
    start = time.time()
    visit(emulator, app, 4)
    until_published()
    stamp = datetime.datetime.fromtimestamp(
        start - 1, datetime.timezone(datetime.timedelta(hours=2))
    )

    by_duration = monitor.metrics.list(
        resource_id(app), timespan=stamp.isoformat() + "/PT30S", interval="PT5M"
    )
    full = monitor.metrics.list(
        resource_id(app), timespan=f"{stamp.isoformat()}/PT30S", interval="FULL"
    )

    assert totals(by_duration) == {"Requests": 4}
    assert totals(full) == {"Requests": 4}
    assert len(points_of(full.value[0])) == 1
    assert full.timespan.endswith("Z")


def test_response_times_per_minute_show_a_slower_version(
    emulator: Emulator, monitor: MonitorManagementClient
) -> None:
    app, slower_ms = "web-slow", 150
    emulator.deploy(app, "staging", "v2", slower_ms=slower_ms)
    start = time.time()
    visit(emulator, app, 8, slot="staging")
    visit(emulator, app, 8)  # production: the seeded v1, as fast as ever
    until_published()
    span = timespan(start - 1, time.time())

    def minutes(slot: str, name: str) -> list[float]:
        result = monitor.metrics.list(
            resource_id(app, slot),
            timespan=span,
            interval="PT1M",
            metricnames=name,
            aggregation="Average",
        )
        [metric] = result.value
        assert metric.name.value == name
        return [p.average for p in points_of(metric) if p.average is not None]

    for name in ("HttpResponseTime", "AverageResponseTime"):
        slow, fast = minutes("staging", name), minutes("production", name)
        # 8 answers of 150 ms and more span several half-second minutes: each one is slow.
        assert len(slow) >= 2, slow
        assert all(slower_ms / 1000 <= seconds < slower_ms / 1000 + 0.5 for seconds in slow), slow
        assert fast and all(seconds < 0.05 for seconds in fast), fast
    counters = emulator.counters(app)
    assert counters["staging"]["average_response_time"] >= slower_ms / 1000
    assert counters["production"]["average_response_time"] < 0.05
