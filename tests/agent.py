"""Runs the task as the agent does: `python -m runner` with an agent-shaped environment."""

from __future__ import annotations

import subprocess

from runner.agent.local_agent import (
    SCHEMES,
    AgentLog,
    Command,
    agent_environment,
    connection_env,
    input_env,
    parse_command,
    run_task,
)

__all__ = [
    "SCHEMES",
    "AgentLog",
    "Command",
    "agent_environment",
    "connection_env",
    "input_env",
    "parse_command",
    "read_until",
    "run_task",
]


def read_until(process: subprocess.Popen[str], prefix: str) -> str:
    """The running task's output up to and including its first line starting with `prefix`
    (or all of it, if it ends first); the rest stays to be read with communicate()."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith(prefix):
            break
    return "".join(seen)
