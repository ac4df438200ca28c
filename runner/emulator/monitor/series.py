"""A metric's data points for a query: the slot's published minutes, grouped by time grain and
aggregated as Azure Monitor aggregates them for one instance."""

from __future__ import annotations

from typing import Any, NamedTuple

from runner.emulator.monitor.catalog import MetricDefinition
from runner.emulator.monitor.query import MetricsQuery, QueryError, iso_time
from runner.emulator.monitor.recorder import MetricsTime, MinuteCounts

# Azure refuses queries that would return too many points; so does the emulator.
MAX_POINTS = 10_000


class PointGrid(NamedTuple):
    """Data points of `size` minutes from minute `start`, as Azure aligns them on the grain."""

    start: int
    size: int
    points: int

    def first_minutes(self) -> range:
        return range(self.start, self.start + self.size * self.points, self.size)


def point_grid(query: MetricsQuery, timing: MetricsTime) -> PointGrid:
    first = timing.minute_of(query.start)
    last = timing.minute_of(query.end - timing.minute_seconds / 1000)
    if query.grain_minutes is None:
        return PointGrid(first, last - first + 1, 1)
    grain = query.grain_minutes
    start = first - first % grain
    count = (last - start) // grain + 1
    if count > MAX_POINTS:
        raise QueryError(
            f"The query asks for {count} data points; at most {MAX_POINTS} are returned. "
            "Use a shorter timespan or a larger interval."
        )
    return PointGrid(start, grain, count)


def data_points(
    definition: MetricDefinition,
    aggregations: tuple[str, ...],
    grid: PointGrid,
    minutes: dict[int, MinuteCounts],
    last_published: int,
    timing: MetricsTime,
) -> list[dict[str, Any]]:
    by_point: dict[int, list[MinuteCounts]] = {}
    for minute, counts in minutes.items():
        if grid.start <= minute <= last_published:
            by_point.setdefault((minute - grid.start) // grid.size, []).append(counts)
    points = []
    for index, first in enumerate(grid.first_minutes()):
        point: dict[str, Any] = {"timeStamp": iso_time(timing.start_of(first))}
        published = min(first + grid.size - 1, last_published) - first + 1
        if published > 0:  # minutes still on their way have no values yet
            values = _aggregate(definition, by_point.get(index, []), published)
            point.update({a.lower(): values[a] for a in aggregations if values[a] is not None})
        points.append(point)
    return points


def _aggregate(
    definition: MetricDefinition, present: list[MinuteCounts], published_minutes: int
) -> dict[str, float | None]:
    if definition.counter == "response_seconds":
        # Each request is a sample.
        requests = sum(m.requests for m in present)
        seconds = sum(m.response_seconds for m in present)
        fastest = [m.fastest for m in present if m.fastest is not None]
        slowest = [m.slowest for m in present if m.slowest is not None]
        return {
            "Total": seconds,
            "Count": float(requests),
            "Average": seconds / requests if requests else None,
            "Minimum": min(fastest) if fastest else None,
            "Maximum": max(slowest) if slowest else None,
        }
    # Each published minute of the one instance is a sample; a quiet minute counts 0.
    values = [float(getattr(m, definition.counter)) for m in present]
    if published_minutes > len(values):
        values.append(0.0)  # one zero stands for every quiet minute in min and max
    total = sum(values)
    return {
        "Total": total,
        "Count": float(published_minutes),
        "Average": total / published_minutes,
        "Minimum": min(values),
        "Maximum": max(values),
    }
