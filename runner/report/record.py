"""The run as it happens, for its report: each phase (a group of the log) with its start and end,
and every probe the task sent, with when it was sent.

The release is not told about any of this: the log it writes to and the probes it sends are
listened to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import NamedTuple, Optional

from runner.log import Log
from runner.probes import Probe

# The log's group titles, by the phase of the release they open (first match wins).
_PHASES = (
    ("Plan", "plan"),
    ("All or nothing", "plan"),
    ("Settings that differ", "plan"),
    ("Health gate", "gate"),
    ("Canary step", "canary-step"),
    ("Swap back", "swap-back"),
    ("Swap", "swap"),
    ("Verification", "verification"),
    ("Bake", "bake"),
)


class Phase(NamedTuple):
    kind: str  # plan, gate, canary-step, swap, verification, bake, swap-back, other
    title: str
    started: datetime
    ended: Optional[datetime]


class SentProbe(NamedTuple):
    sent: datetime
    probe: Probe


def phase_kind(title: str) -> str:
    return next((kind for start, kind in _PHASES if title.startswith(start)), "other")


class RunRecord:
    """What a run did, in time order. Safe to feed from several threads (several apps)."""

    def __init__(self) -> None:
        self.started = _now()
        self.ended: Optional[datetime] = None
        self.phases: list[Phase] = []
        self.probes: list[SentProbe] = []
        self._lock = threading.Lock()

    def heard(self, probe: Probe, sent: datetime) -> None:
        with self._lock:
            self.probes.append(SentProbe(sent, probe))

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        with self._lock:
            index = len(self.phases)
            self.phases.append(Phase(phase_kind(title), title, _now(), None))
        try:
            yield
        finally:
            with self._lock:
                self.phases[index] = self.phases[index]._replace(ended=_now())

    def end(self) -> None:
        self.ended = _now()


class RecordingLog:
    """A `Log` that writes to another and records its groups as the run's phases."""

    def __init__(self, log: Log, record: RunRecord) -> None:
        self._log = log
        self._record = record

    def add_secret(self, value: str) -> None:
        self._log.add_secret(value)

    def info(self, message: str) -> None:
        self._log.info(message)

    def debug(self, message: str) -> None:
        self._log.debug(message)

    def warning(self, message: str) -> None:
        self._log.warning(message)

    def error(self, message: str) -> None:
        self._log.error(message)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        inner: AbstractContextManager[None] = self._log.group(title)
        with self._record.phase(title), inner:
            yield

    def progress(self, percent: int, text: str) -> None:
        self._log.progress(percent, text)

    def set_output(self, name: str, value: str) -> None:
        self._log.set_output(name, value)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: Optional[datetime]) -> Optional[str]:
    """2026-12-04T20:09:07.123Z"""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
