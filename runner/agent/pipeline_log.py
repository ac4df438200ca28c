"""The only writer of Azure Pipelines logging commands (`##vso[...]`).

Escaping follows how the agent decodes: `%` becomes `%AZP25` first, then CR, LF, and in
property values also `]` and `;`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Optional, TextIO

from runner.log import SecretMask
from runner.outcome import TaskResult as TaskResult


def escape_data(value: str) -> str:
    return value.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace("]", "%5D").replace(";", "%3B")


def format_command(area_event: str, properties: Mapping[str, str], data: str = "") -> str:
    props = "".join(
        f"{key}={escape_property(value)};" for key, value in properties.items() if value
    )
    space = " " if props else ""
    return f"##vso[{area_event}{space}{props}]{escape_data(data)}"


class PipelineLog:
    """Writes the task's log for the agent. One `complete()` per run, secrets masked."""

    def __init__(self, stream: Optional[TextIO] = None, debug_enabled: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self.debug_enabled = debug_enabled
        self._mask = SecretMask()
        self._completed = False
        self.issues = 0

    def _write(self, line: str) -> None:
        self._stream.write(self._mask.apply(line) + "\n")
        self._stream.flush()

    def add_secret(self, value: str) -> None:
        # Register before masking locally, so the agent learns the raw value.
        for new in self._mask.add(value):
            self._stream.write(format_command("task.setsecret", {}, new) + "\n")
        self._stream.flush()

    def info(self, message: str) -> None:
        for line in message.splitlines() or [""]:
            self._write(_neutralise(line))

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            for line in message.splitlines():
                self._write("##[debug]" + _neutralise(line))

    def warning(self, message: str) -> None:
        self.issues += 1
        self._write(format_command("task.logissue", {"type": "warning"}, self._mask.apply(message)))

    def error(self, message: str) -> None:
        self.issues += 1
        self._write(format_command("task.logissue", {"type": "error"}, self._mask.apply(message)))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._write("##[group]" + _neutralise(title))
        try:
            yield
        finally:
            self._write("##[endgroup]")

    def section(self, title: str) -> None:
        self._write("##[section]" + _neutralise(title))

    def progress(self, percent: int, text: str) -> None:
        self._write(format_command("task.setprogress", {"value": str(percent)}, text))

    def set_output(self, name: str, value: str) -> None:
        self._write(
            format_command("task.setvariable", {"variable": name, "isOutput": "true"}, value)
        )

    def upload_summary(self, path: str) -> None:
        self._write(format_command("task.uploadsummary", {}, path))

    def add_attachment(self, kind: str, name: str, path: str) -> None:
        """The agent uploads the file to the run's timeline record, under `kind` and `name`."""
        self._write(format_command("task.addattachment", {"type": kind, "name": name}, path))

    def mask(self, text: str) -> str:
        """`text` with every registered secret replaced, for files the run leaves behind."""
        return self._mask.apply(text)

    def complete(self, result: TaskResult, message: str) -> None:
        """Reports the step's result. Only the first call counts; later ones are ignored."""
        if self._completed:
            return
        self._completed = True
        self._write(format_command("task.complete", {"result": result.value}, message))


def _neutralise(line: str) -> str:
    # Text we echo (Azure's messages, names) must not be read by the agent as a command.
    return line.replace("##vso[", "##vso [").replace("##[", "## [") if "##" in line else line
