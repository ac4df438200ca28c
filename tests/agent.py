"""Runs the task as the agent does: `python -m runner` with an agent-shaped environment."""

from __future__ import annotations

from runner.local_agent import (
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
    "run_task",
]
