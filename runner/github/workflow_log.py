"""The only writer of GitHub Actions workflow commands (`::add-mask::`, `::group::`, `::error::`,
...) and of the step's files: outputs to $GITHUB_OUTPUT, the run summary to $GITHUB_STEP_SUMMARY.

Escaping follows @actions/core: `%`, CR and LF in data; in property values also `:` and `,`.
The runner reads a line as a command when it starts (after blanks) with `::`, or with `##[` in
the older form, so text we echo is neutralised first.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Optional, TextIO

from runner.log import SecretMask

# The outputs as the action names them (action.yml), by the task's output variable.
OUTPUT_NAMES = {
    "SwapOutcome": "swap-outcome",
    "ProductionUrl": "production-url",
    "SourceSlotUrl": "source-slot-url",
}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_command(command: str, properties: Mapping[str, str], data: str = "") -> str:
    props = ",".join(
        f"{key}={escape_property(value)}" for key, value in properties.items() if value
    )
    return f"::{command}{' ' + props if props else ''}::{escape_data(data)}"


class WorkflowLog:
    """Writes the action's log for the runner, every secret masked before it could appear."""

    def __init__(
        self,
        stream: Optional[TextIO] = None,
        debug_enabled: bool = False,
        output_file: str = "",
        summary_file: str = "",
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self.debug_enabled = debug_enabled
        self._output_file = output_file
        self._summary_file = summary_file
        self._mask = SecretMask()
        self._in_group = False
        self.issues = 0

    def _write(self, line: str) -> None:
        self._stream.write(self._mask.apply(line) + "\n")
        self._stream.flush()

    def add_secret(self, value: str) -> None:
        # The runner learns the raw value before anything could print it; we mask locally too.
        for new in self._mask.add(value):
            self._stream.write(format_command("add-mask", {}, new) + "\n")
        self._stream.flush()

    def info(self, message: str) -> None:
        for line in message.splitlines() or [""]:
            self._write(_neutralise(line))

    def debug(self, message: str) -> None:
        # With RUNNER_DEBUG only: the SDK's request log is long.
        if self.debug_enabled:
            for line in message.splitlines():
                self._write(format_command("debug", {}, self._mask.apply(line)))

    def warning(self, message: str) -> None:
        self.issues += 1
        self._write(format_command("warning", {}, self._mask.apply(message)))

    def error(self, message: str) -> None:
        self.issues += 1
        self._write(format_command("error", {}, self._mask.apply(message)))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        # The runner does not nest groups: an inner one is shown as a line of the outer one.
        if self._in_group:
            self.info(title)
            yield
            return
        self._write(format_command("group", {}, title))
        self._in_group = True
        try:
            yield
        finally:
            self._in_group = False
            self._write("::endgroup::")

    def progress(self, percent: int, text: str) -> None:
        self.debug(f"{percent}% {text}")

    def set_output(self, name: str, value: str) -> None:
        """Appends `name<<DELIMITER` ... to $GITHUB_OUTPUT, as @actions/core does."""
        name = OUTPUT_NAMES.get(name, name)
        if not self._output_file:
            self.debug(f"No GITHUB_OUTPUT file: output {name} not set.")
            return
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        with open(self._output_file, "a", encoding="utf-8") as outputs:
            outputs.write(f"{name}<<{delimiter}\n{self._mask.apply(value)}\n{delimiter}\n")

    def write_summary(self, markdown: str) -> None:
        """Appends to $GITHUB_STEP_SUMMARY, the Markdown shown on the run's summary page."""
        if not self._summary_file:
            self.debug("No GITHUB_STEP_SUMMARY file: no run summary written.")
            return
        try:
            with open(self._summary_file, "a", encoding="utf-8") as summary:
                summary.write(self._mask.apply(markdown) + "\n")
        except OSError as error:
            self.warning(f"Could not write the run summary: {error}")


def _neutralise(line: str) -> str:
    # Text we echo (Azure's messages, names) must not be read by the runner as a command.
    if line.lstrip().startswith("::"):
        line = line.replace("::", ": :", 1)
    return line.replace("##[", "## [")
