"""Runs the task as the agent does: `python -m runner` with an agent-shaped environment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from runner.local_agent import (
    SCHEMES,
    AgentLog,
    Command,
    agent_environment,
    connection_env,
    input_env,
    parse_command,
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


def run_task(env: Mapping[str, str], cwd: Path, timeout: float = 60) -> AgentLog:
    """Runs `python -m runner` with stdin closed, as the launcher would."""
    completed = subprocess.run(
        [sys.executable, "-m", "runner"],
        env=dict(env),
        cwd=str(cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return AgentLog(completed.stdout, completed.stderr, completed.returncode)
