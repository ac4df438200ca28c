"""Steady user traffic to a site: new clients arriving at a steady rate, each a small browser of
its own (a fresh connection and cookie jar, so a routing cookie pins it as it pins a browser)
making a few requests. Used by `swap-slots emulator-traffic` and by the control API."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse
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


# Clients in flight at once: a client waiting for an answer does not hold back the next one.
# Beyond a few, more threads only contend for the interpreter.
CLIENTS_IN_FLIGHT = 6


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
    """`rate` new clients a second for `seconds`, each starting on schedule (a ceiling: when the
    machine cannot keep up, clients start late rather than pile up)."""
    tally = tally if tally is not None else TrafficTally()
    stop = stop if stop is not None else threading.Event()
    context = ssl.create_default_context(cafile=ca_cert)
    site = urllib.parse.urlsplit(site_url)
    target = (site.hostname or "127.0.0.1", site.port or 443, "/" + path.lstrip("/"))
    clients = max(1, round(rate * seconds))
    started = time.monotonic()
    numbers = iter(range(clients))
    lock = threading.Lock()

    def sender() -> None:
        while True:
            with lock:
                number = next(numbers, None)
            if number is None or stop.wait(max(0.0, started + number / rate - time.monotonic())):
                return
            tally.new_client()
            _one_client(target, context, requests_per_client, tally)

    threads = [
        threading.Thread(target=sender, name="traffic-client", daemon=True)
        for _ in range(min(CLIENTS_IN_FLIGHT, clients))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def _one_client(
    target: tuple[str, int, str], context: ssl.SSLContext, requests: int, tally: TrafficTally
) -> None:
    """One browser: its own connection, kept alive between its requests, and its own cookies.

    http.client rather than a urllib opener: building an opener per client cost more than the
    request itself.
    """
    host, port, path = target
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    cookies: dict[str, str] = {}
    try:
        for _ in range(requests):
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
            try:
                connection.request("GET", path, headers=headers if cookies else {})
                response = connection.getresponse()
                body = response.read()
            except (http.client.HTTPException, OSError):
                connection.close()  # the next request, if any, opens a new connection
                tally.count(None, None)
                continue
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                cookies[name.strip()] = value.strip()
            tally.count(response.status, _slot_named(body))
    finally:
        connection.close()


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
