"""`swap-slots emulator-traffic`: send user traffic to an app's production site on a running
emulator from this process, then report where it was served."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from runner.emulator.settings import PRODUCTION
from runner.emulator.sites.usertraffic import send_traffic


class TrafficFailed(Exception):
    """The emulator could not be asked where the app is; the message says why."""


def traffic_report(
    url: str,
    ca_cert: str,
    app: str,
    resource_group: str | None,
    rate: float,
    seconds: float,
    requests_per_client: int,
    path: str,
) -> str:
    counters = _counters(url, ca_cert, app, resource_group)
    production = next((c for c in counters if c["slot"].lower() == PRODUCTION), None)
    if production is None:
        raise TrafficFailed(f"The emulator has no app '{app}'.")
    started = time.monotonic()
    tally = send_traffic(production["url"], ca_cert, rate, seconds, requests_per_client, path)
    elapsed = time.monotonic() - started
    summary = tally.summary()
    lines = [
        f"Sent {summary['clients']} new clients ({summary['requests']} answered requests, "
        f"{summary['failures']} unanswered) to {production['app']}'s production site "
        f"{production['url']} in {elapsed:.1f} s.",
        "Served by: " + _shares(summary["by_slot"], summary["requests"]),
        "Statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(summary["by_status"].items())),
        "Each slot since the emulator started:",
    ]
    for slot in _counters(url, ca_cert, app, resource_group):
        lines.append(
            f"  {slot['slot']}: {slot['requests']} requests, {slot['http5xx']} with 5xx, "
            f"{slot['routed']} routed from production"
        )
    return "\n".join(lines)


def _shares(by_slot: dict[str, int], requests: int) -> str:
    if not requests:
        return "nobody"
    parts = sorted(by_slot.items(), key=lambda item: -item[1])
    return ", ".join(f"{slot} {count} ({100 * count / requests:.1f} %)" for slot, count in parts)


def _counters(url: str, ca_cert: str, app: str, resource_group: str | None) -> list[Any]:
    query = urllib.parse.urlencode({"app": app})
    request = urllib.request.Request(url.rstrip("/") + "/_emulator/metrics?" + query)
    context = ssl.create_default_context(cafile=ca_cert)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            counters: list[Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise TrafficFailed(
            f"The emulator refused: {error.read().decode(errors='replace')}"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise TrafficFailed(f"Cannot reach the emulator at {url}: {error}") from None
    if resource_group:
        counters = [c for c in counters if c["resource_group"].lower() == resource_group.lower()]
    return counters
