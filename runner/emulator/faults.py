"""Faults injected on purpose, so clients can be tested against Azure's bad days.

Each fault has a kind, a count of requests it still applies to (0 = until cleared), and optionally
an app, a method and a path regex narrowing which requests it hits. A fault scoped to an app hits
only requests about that app (its site, its slots, its Kudu), so one app of several can fail.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from typing import Any

from runner.emulator.settings import FaultSpec

# Answer instead of the route.
RESPONSE_KINDS = ("throttle", "server-error", "unavailable", "drop")
# Change how a slot swap goes; they apply only to slotsswap requests.
SWAP_KINDS = ("conflict", "swap-fails", "slow-swap")
# ARM refuses a write or an action (any request but a GET), with its own error body.
REFUSAL_KINDS = ("scope-locked", "authorization-failed", "subscription-disabled")
KINDS = (*RESPONSE_KINDS, *SWAP_KINDS, *REFUSAL_KINDS, "expired-token", "no-retry-after")
DEFAULT_SLOW_SWAP_SECONDS = 10.0
# The app a request is about: ARM's site path, or the Kudu stand-in's /_kudu/{rg}/{app}/.
_APP_IN_PATH = re.compile(r"/providers/Microsoft\.Web/sites/([^/]+)|^/_kudu/[^/]+/([^/]+)", re.I)


def app_of(path: str) -> str | None:
    match = _APP_IN_PATH.search(path)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).lower()


@dataclass
class Fault:
    kind: str
    count: int = 1
    method: str | None = None
    path: str | None = None
    seconds: float = DEFAULT_SLOW_SWAP_SECONDS
    app: str | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.app and app_of(path) != self.app.lower():
            return False
        return not self.path or re.search(self.path, path, re.IGNORECASE) is not None


def fault_from_spec(spec: FaultSpec) -> Fault:
    return new_fault({"kind": spec.kind, "count": spec.count, "path": spec.path, "app": spec.app})


def new_fault(data: dict[str, Any]) -> Fault:
    """A fault from the control API's JSON; raises ValueError with a message for the caller."""
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValueError(f"fault kind must be one of {', '.join(KINDS)}, not {kind!r}")
    count = data.get("count", 1)
    if not isinstance(count, int) or count < 0:
        raise ValueError("fault count must be an integer >= 0 (0 = until cleared)")
    path = data.get("path")
    if path is not None:
        try:
            re.compile(path)
        except re.error as error:
            raise ValueError(f"fault path is not a valid regex: {error}") from None
    seconds = data.get("seconds", DEFAULT_SLOW_SWAP_SECONDS)
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError("fault seconds must be a number >= 0")
    app = data.get("app")
    if app is not None and (not isinstance(app, str) or not app):
        raise ValueError("fault app must be an app's name")
    return Fault(str(kind), count, data.get("method"), path, float(seconds), app)


def parse_fault_option(text: str) -> FaultSpec:
    """`kind[@app][:count][:path-regex]`, as `--fault` takes it."""
    head, _, rest = text.partition(":")
    kind, at, app = head.partition("@")
    if at and not app:
        raise ValueError(f"--fault {text!r}: the app after '@' is empty")
    count_text, _, path = rest.partition(":")
    if kind not in KINDS:
        raise ValueError(f"--fault {text!r}: the kind must be one of {', '.join(KINDS)}")
    try:
        count = int(count_text) if count_text else 1
    except ValueError:
        raise ValueError(f"--fault {text!r}: the count must be an integer") from None
    return FaultSpec(kind, count, path or None, app or None)


class FaultBook:
    def __init__(self, initial: tuple[FaultSpec, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._faults = [fault_from_spec(spec) for spec in initial]

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def take(self, kinds: tuple[str, ...], method: str, path: str) -> Fault | None:
        """The first armed fault of these kinds matching the request, using up one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(method, path):
                    fault.hits += 1
                    if fault.count and fault.hits >= fault.count:
                        self._faults.remove(fault)
                    return fault
            return None
