"""One app's lines in a log that tells of several apps at once: each line starts with the app's
name, and lines from threads working for different apps never mix."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from runner.log import Log

# One lock for every app's log: they all write to the same stream.
_WRITING = threading.Lock()


class AppLog:
    def __init__(self, log: Log, app: str) -> None:
        self._log = log
        self._prefix = f"[{app}] "

    def add_secret(self, value: str) -> None:
        self._log.add_secret(value)

    def info(self, message: str) -> None:
        with _WRITING:
            for line in message.splitlines() or [""]:
                self._log.info(self._prefix + line)

    def debug(self, message: str) -> None:
        with _WRITING:
            self._log.debug(self._prefix + message)

    def warning(self, message: str) -> None:
        with _WRITING:
            self._log.warning(self._prefix + message)

    def error(self, message: str) -> None:
        with _WRITING:
            self._log.error(self._prefix + message)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        # Groups of apps working at the same time would nest into each other: a title line.
        self.info(title)
        yield

    def progress(self, percent: int, text: str) -> None:
        """The set reports its own progress; one app's would contradict it."""

    def set_output(self, name: str, value: str) -> None:
        """Outputs belong to the set, set once at the end."""
