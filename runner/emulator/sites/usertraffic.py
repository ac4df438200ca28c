"""Steady user traffic to a site: new clients arriving at a steady rate, each a small browser of
its own (a fresh connection and cookie jar, so a routing cookie pins it as it pins a browser)
making a few requests. Used by `swap-slots emulator-traffic` and by the control API."""

from __future__ import annotations

import http.cookiejar
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrafficTally:
    clients: int = 0
    requests: int = 0
    by_slot: dict[str, int] = field(default_factory=dict)  # the slot named in each answer
    by_status: dict[str, int] = field(default_factory=dict)
    failures: int = 0  # requests that got no answer at all
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, status: int | None, slot: str | None) -> None:
        with self._lock:
            if status is None:
                self.failures += 1
                return
            self.requests += 1
            self.by_status[str(status)] = self.by_status.get(str(status), 0) + 1
            name = slot or "unknown"
            self.by_slot[name] = self.by_slot.get(name, 0) + 1

    def new_client(self) -> None:
        with self._lock:
            self.clients += 1

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {
                "clients": self.clients,
                "requests": self.requests,
                "by_slot": dict(self.by_slot),
                "by_status": dict(self.by_status),
                "failures": self.failures,
            }


def send_traffic(
    site_url: str,
    ca_cert: str,
    rate: float,
    seconds: float,
    requests_per_client: int = 1,
    path: str = "/",
    tally: TrafficTally | None = None,
    stop: threading.Event | None = None,
) -> TrafficTally:
    """`rate` new clients a second for `seconds` (a ceiling: one client at a time is sent)."""
    tally = tally if tally is not None else TrafficTally()
    stop = stop if stop is not None else threading.Event()
    context = ssl.create_default_context(cafile=ca_cert)
    url = site_url.rstrip("/") + "/" + path.lstrip("/")
    clients = max(1, round(rate * seconds))
    started = time.monotonic()
    for number in range(clients):
        if stop.wait(max(0.0, started + number / rate - time.monotonic())):
            break
        tally.new_client()
        _one_client(url, context, requests_per_client, tally)
    return tally


def _one_client(url: str, context: ssl.SSLContext, requests: int, tally: TrafficTally) -> None:
    browser = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),  # loopback: never through a proxy of the environment
        urllib.request.HTTPSHandler(context=context),
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
    )
    for _ in range(requests):
        try:
            with browser.open(url, timeout=10) as response:
                status, body = int(response.status), response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except (urllib.error.URLError, OSError):
            tally.count(None, None)
            continue
        tally.count(status, _slot_named(body))


def _slot_named(body: bytes) -> str | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    slot = answer.get("slot") if isinstance(answer, dict) else None
    return slot if isinstance(slot, str) else None


class TrafficRuns:
    """Traffic the emulator sends to its own sites, in background threads (the control API)."""

    def __init__(self, ca_cert: str) -> None:
        self._ca_cert = ca_cert
        self._lock = threading.Lock()
        self._runs: list[dict[str, Any]] = []
        self._stop = threading.Event()

    def start(
        self, app: str, site_url: str, rate: float, seconds: float, per_client: int, path: str
    ) -> dict[str, Any]:
        tally = TrafficTally()
        run: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "app": app,
            "url": site_url,
            "rate": rate,
            "seconds": seconds,
            "requests_per_client": per_client,
            "path": path,
            "started_at": time.time(),
            "finished": False,
            "tally": tally,
        }

        with self._lock:
            self._runs.append(run)
            stop = self._stop

        def send() -> None:
            send_traffic(site_url, self._ca_cert, rate, seconds, per_client, path, tally, stop)
            run["finished"] = True

        threading.Thread(target=send, name=f"traffic-{app}", daemon=True).start()
        return _public(run)

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [_public(run) for run in self._runs]

    def stop_all(self) -> None:
        """Stop every run (a new run starts with a fresh stop signal)."""
        with self._lock:
            self._stop.set()
            self._stop = threading.Event()


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in run.items() if k != "tally"}, **run["tally"].summary()}
