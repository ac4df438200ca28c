"""Cancellation as the agent does it: SIGINT first, SIGTERM 7.5 s later, then a kill.

SIGINT asks us to wrap up (a swap already sent is watched a little longer, so the log can say
how it ended); SIGTERM or a second SIGINT stops at once, even inside a network call.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Optional

# Time allowed after SIGINT to learn a running swap's outcome, within the agent's 7.5 s.
GRACE_SECONDS = 5.0


class StopNow(BaseException):
    """Raised in the main thread by SIGTERM: leave whatever is running, report, exit."""


class Cancellation:
    def __init__(self) -> None:
        self.requested = threading.Event()
        self.requested_at: Optional[float] = None
        self.signal_name = ""
        self._may_raise = True

    def request(self, name: str) -> None:
        if not self.requested.is_set():
            self.requested_at = time.monotonic()
            self.signal_name = name
            self.requested.set()

    def stop_raising(self) -> None:
        """From now on signals are only noted: the final report must not be cut short."""
        self._may_raise = False

    @property
    def grace_over(self) -> bool:
        return self.requested_at is not None and (
            time.monotonic() - self.requested_at >= GRACE_SECONDS
        )

    def sleep(self, seconds: float) -> None:
        """Sleeps, waking early when cancellation is requested."""
        if seconds > 0:
            self.requested.wait(seconds)

    def sleep_until(self, moment: float) -> None:
        """Sleeps until `moment` (time.monotonic()), waking early when cancellation is first
        requested; once it has been, sleeps the whole time, so a watch loop never spins."""
        seconds = moment - time.monotonic()
        if seconds <= 0:
            return
        if self.requested.is_set():
            time.sleep(seconds)
        else:
            self.requested.wait(seconds)

    def install(self) -> None:
        """Routes SIGINT/SIGTERM (and Windows' SIGBREAK) here. Main thread only."""

        def on_interrupt(signum: int, frame: Optional[FrameType]) -> None:
            repeated = self.requested.is_set()
            self.request(signal.Signals(signum).name)
            if repeated and self._may_raise:
                raise StopNow()

        def on_terminate(signum: int, frame: Optional[FrameType]) -> None:
            self.request(signal.Signals(signum).name)
            if self._may_raise:
                raise StopNow()

        signal.signal(signal.SIGINT, on_interrupt)
        signal.signal(signal.SIGTERM, on_terminate)
        sigbreak = getattr(signal, "SIGBREAK", None)
        if sigbreak is not None:
            signal.signal(sigbreak, on_terminate)
