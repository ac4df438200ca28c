"""`GET {site or slot id}/providers/Microsoft.Insights/metrics` (and `metricDefinitions`),
behind ARM's token check."""

from __future__ import annotations

from typing import Any, Callable

from runner.emulator.appservice.records import is_production
from runner.emulator.arm import resources
from runner.emulator.arm.front_door import SITE, SLOT, Arm
from runner.emulator.monitor.catalog import AGGREGATIONS, DEFINITIONS
from runner.emulator.monitor.query import GRAINS, MetricsQuery, QueryError, iso_time, parse_query
from runner.emulator.monitor.recorder import SiteMetrics, SlotKey
from runner.emulator.monitor.series import data_points, point_grid
from runner.emulator.routing import Router
from runner.emulator.wire import Params, Request, Response

METRICS = "/providers/Microsoft.Insights/metrics"
DEFINITIONS_PATH = "/providers/Microsoft.Insights/metricDefinitions"
REGION = "westeurope"


class MetricsRoutes:
    def __init__(self, arm: Arm, metrics: SiteMetrics, clock: Callable[[], float]) -> None:
        self._arm = arm
        self._metrics = metrics
        self._clock = clock

    def add_routes(self, router: Router) -> None:
        router.add("GET", SITE + METRICS, self._list)
        router.add("GET", SLOT + METRICS, self._list)
        router.add("GET", SITE + DEFINITIONS_PATH, self._definitions)
        router.add("GET", SLOT + DEFINITIONS_PATH, self._definitions)

    def _definitions(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        resource_type = _resource_type(slot.name)
        namespace = request.param("metricnamespace")
        if namespace and namespace.lower() != resource_type.lower():
            return _bad(f"Metric namespace '{namespace}' is not valid for '{resource_type}'.")
        resource_id = resources.site_id(self._arm.subscription_id, app, slot)
        value = [
            {
                "id": f"{resource_id}{DEFINITIONS_PATH}/{definition.name}",
                "resourceId": resource_id,
                "namespace": resource_type,
                "name": {"value": definition.name, "localizedValue": definition.display_name},
                "displayDescription": definition.description,
                "isDimensionRequired": False,
                "unit": definition.unit,
                "primaryAggregationType": definition.primary_aggregation,
                "supportedAggregationTypes": ["None", *AGGREGATIONS],
                "metricAvailabilities": [
                    {"timeGrain": grain, "retention": "P93D"} for grain in GRAINS
                ],
                "dimensions": [],
            }
            for definition in DEFINITIONS
        ]
        return Response.json(200, {"value": value})

    def _list(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        resource_type = _resource_type(slot.name)
        timing = self._metrics.timing
        try:
            query = parse_query(request, resource_type, timing.minute_seconds, self._clock())
            grid = point_grid(query, timing)
        except QueryError as error:
            return _bad(str(error))
        resource_id = resources.site_id(self._arm.subscription_id, app, slot)
        key: SlotKey = (app.resource_group.lower(), app.name.lower(), slot.name.lower())
        last = grid.start + grid.size * grid.points - 1
        minutes = self._metrics.published_minutes(key, grid.start, last)
        last_published = self._metrics.last_published()
        value = []
        for definition in query.metrics:
            aggregations = query.aggregations or (definition.primary_aggregation,)
            points = data_points(definition, aggregations, grid, minutes, last_published, timing)
            value.append(
                {
                    "id": f"{resource_id}{METRICS}/{definition.name}",
                    "type": "Microsoft.Insights/metrics",
                    "name": {"value": definition.name, "localizedValue": definition.display_name},
                    "displayDescription": definition.description,
                    "unit": definition.unit,
                    "timeseries": [{"metadatavalues": [], "data": points}],
                    "errorCode": "Success",
                }
            )
        body: dict[str, Any] = {
            "cost": grid.points * len(query.metrics),
            "timespan": f"{iso_time(query.start)}/{iso_time(query.end)}",
            "interval": _interval(query, grid.size),
            "namespace": resource_type,
            "resourceregion": REGION,
            "value": value,
        }
        return Response.json(200, body)


def _resource_type(slot_name: str) -> str:
    return "Microsoft.Web/sites" if is_production(slot_name) else "Microsoft.Web/sites/slots"


def _bad(message: str) -> Response:
    """Azure Monitor's own error shape: code and message at the top, not under "error"."""
    return Response.json(400, {"code": "BadRequest", "message": message})


def _interval(query: MetricsQuery, point_minutes: int) -> str:
    """The grain asked for; FULL is answered with the span it covered, as Azure answers it."""
    return query.interval if query.grain_minutes is not None else f"PT{point_minutes}M"
