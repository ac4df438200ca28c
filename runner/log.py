"""The log the swap writes to: the pipeline's (##vso commands) or a terminal's."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from runner.outcome import TaskResult


class Log(Protocol):
    """What the orchestration may say. Implementations mask every registered secret."""

    def add_secret(self, value: str) -> None: ...

    def info(self, message: str) -> None: ...

    def debug(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def error(self, message: str) -> None: ...

    def group(self, title: str) -> AbstractContextManager[None]: ...

    def progress(self, percent: int, text: str) -> None: ...

    def set_output(self, name: str, value: str) -> None: ...


class StepLog(Log, Protocol):
    """The log a step's outcome is reported to: its summary page and its result too."""

    issues: int  # warnings and errors so far

    def upload_summary(self, path: str) -> None: ...

    def add_attachment(self, kind: str, name: str, path: str) -> None: ...

    def mask(self, text: str) -> str: ...

    def complete(self, result: TaskResult, message: str) -> None: ...


class _LogHandler(logging.Handler):
    def __init__(self, log: Log) -> None:
        super().__init__(logging.DEBUG)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        self._log.debug(f"{record.name}: {record.getMessage()}")


def route_sdk_logging(log: Log) -> None:
    """With debug on, show the SDK's request log (it redacts authorization headers)."""
    for name in ("azure", "msal"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if name == "azure" else logging.WARNING)
        logger.addHandler(_LogHandler(log))
        logger.propagate = False


class SecretMask:
    """Replaces registered secrets with *** in anything about to be written."""

    def __init__(self) -> None:
        self._values: list[str] = []

    def add(self, value: str) -> list[str]:
        """Registers `value` (and each line of a multi-line value); returns what was new."""
        new: list[str] = []
        candidates = [value] + [line.strip() for line in value.splitlines()]
        for candidate in candidates:
            if len(candidate) >= 4 and candidate not in self._values and not _is_marker(candidate):
                self._values.append(candidate)
                new.append(candidate)
        # Longest first, so a secret containing another is masked whole.
        self._values.sort(key=len, reverse=True)
        return new

    def apply(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, "***")
        return text


def _is_marker(line: str) -> bool:
    # PEM armour lines are public; masking them would only garble the log.
    return "\n" not in line and line.startswith("-----") and line.endswith("-----")
