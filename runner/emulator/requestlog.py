"""Every request the emulator answered, so tests can assert on what a client really called."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, NamedTuple


class LoggedRequest(NamedTuple):
    time: float
    server: str  # "main", or the slot site "app/slot"
    method: str
    path: str
    query: dict[str, str]
    status: int  # 0 when the connection was dropped without an answer
    client_port: int  # the caller's TCP port: tells which connection (e.g. a proxy's) sent it
    client_certificate: str  # the common name of the caller's client certificate, or ""


# Enough for any test or demo; an emulator left running for days keeps only the newest.
MAX_ENTRIES = 50_000


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=MAX_ENTRIES)

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def listing(self, since: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                entry._asdict() for entry in self._entries if since is None or entry.time >= since
            ]
