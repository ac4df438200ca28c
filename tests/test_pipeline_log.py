"""The log the agent reads: escaping round-trips through the agent's decoder, secrets masked."""

from __future__ import annotations

import io

import pytest

from runner.agent.pipeline_log import PipelineLog, TaskResult, format_command
from tests.agent import AgentLog, parse_command

AWKWARD = [
    "plain",
    "semi;colon and ]bracket",
    "percent % and %25 and %AZP25 and %3B literal",
    "line one\nline two\r\nline three",
    "##vso[task.complete result=Succeeded]injected",
    "trailing ]",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_property_values_and_data_survive_the_agents_decoder(value: str) -> None:
    line = format_command("task.setvariable", {"variable": "SwapOutcome", "x": value}, value)

    assert "\n" not in line and "\r" not in line
    command = parse_command(line)

    assert command is not None
    assert command.name == "task.setvariable"
    assert command.properties == {"variable": "SwapOutcome", "x": value}
    assert command.data == value


def test_empty_property_values_are_left_out() -> None:
    assert format_command("task.logissue", {"type": "error", "code": ""}, "m") == (
        "##vso[task.logissue type=error;]m"
    )


def test_text_echoed_from_azure_cannot_inject_a_command() -> None:
    out = io.StringIO()
    log = PipelineLog(out)
    log.info("Azure said: ##vso[task.complete result=Succeeded]")
    log.complete(TaskResult.FAILED, "failed")

    parsed = AgentLog(out.getvalue(), "", 1)
    assert parsed.results == ["Failed"]


def test_only_the_first_completion_counts() -> None:
    out = io.StringIO()
    log = PipelineLog(out)
    log.complete(TaskResult.FAILED, "first")
    log.complete(TaskResult.SUCCEEDED, "second")

    assert AgentLog(out.getvalue(), "", 1).results == ["Failed"]


def test_secrets_are_registered_then_masked_everywhere() -> None:
    out = io.StringIO()
    log = PipelineLog(out, debug_enabled=True)
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEabcdefgh\nQWERTYuiop12\n-----END PRIVATE KEY-----"
    log.add_secret("s3cr3t-value")
    log.add_secret(pem)
    log.info("the secret is s3cr3t-value")
    log.debug("key line MIIEabcdefgh here")
    log.error("oops s3cr3t-value")
    log.set_output("SwapOutcome", "QWERTYuiop12")

    parsed = AgentLog(out.getvalue(), "", 0)
    assert "s3cr3t-value" in parsed.secrets and pem in parsed.secrets
    shown = [line for line in out.getvalue().splitlines() if "task.setsecret" not in line]
    for secret in ("s3cr3t-value", "MIIEabcdefgh", "QWERTYuiop12"):
        assert all(secret not in line for line in shown)
    assert "-----BEGIN PRIVATE KEY-----" not in parsed.secrets


def test_debug_lines_only_with_system_debug() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    PipelineLog(quiet).debug("detail")
    PipelineLog(loud, debug_enabled=True).debug("detail")

    assert quiet.getvalue() == ""
    assert loud.getvalue() == "##[debug]detail\n"
