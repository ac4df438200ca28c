"""The log for people running `swap-slots` in a terminal: plain text, no logging commands."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional, TextIO

from runner.log import SecretMask


class TerminalLog:
    def __init__(self, stream: Optional[TextIO] = None, debug_enabled: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.debug_enabled = debug_enabled
        self._mask = SecretMask()
        self._indent = ""
        self.outputs: dict[str, str] = {}

    def _write(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._stream.write(self._indent + self._mask.apply(line) + "\n")
        self._stream.flush()

    def add_secret(self, value: str) -> None:
        self._mask.add(value)

    def mask(self, text: str) -> str:
        """`text` with every registered secret replaced, for files the run leaves behind."""
        return self._mask.apply(text)

    def info(self, message: str) -> None:
        self._write(message)

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            self._write("debug: " + message)

    def warning(self, message: str) -> None:
        self._write("warning: " + message)

    def error(self, message: str) -> None:
        self._write("error: " + message)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._write(title)
        self._indent = "  "
        try:
            yield
        finally:
            self._indent = ""

    def progress(self, percent: int, text: str) -> None:
        self.debug(f"{percent}% {text}")

    def set_output(self, name: str, value: str) -> None:
        self.outputs[name] = value
