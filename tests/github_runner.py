"""A stand-in for the GitHub runner, for tests: the last step of action.yml run as the runner
runs it (its environment, its files, a separate process), and what GitHub would make of it: the
workflow commands on stdout, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY read back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

REPO = Path(__file__).resolve().parent.parent
COMMAND = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")


def action_inputs() -> dict[str, Any]:
    inputs: dict[str, Any] = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))["inputs"]
    return inputs


def action_environment(
    info: dict[str, Any],
    inputs: dict[str, str],
    tmp_path: Path,
    sign_in: str = "oidc",
    debug: bool = False,
) -> dict[str, str]:
    """What the runner gives the step: each input as INPUT_<NAME> (upper case, hyphens kept),
    defaults from action.yml filled in; the step's files; the job's OIDC request variables."""
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "contoso/contoso-web",
        "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_OUTPUT": str(temp / "output.txt"),
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
        "GITHUB_ENV": str(temp / "env.txt"),
        "GITHUB_PATH": str(temp / "path.txt"),
        "RUNNER_TEMP": str(temp),
        "RUNNER_OS": "Linux",
        # The emulator's own CA, as a user trusts a private one.
        "REQUESTS_CA_BUNDLE": str(info["ca_cert"]),
    }
    for path in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        Path(env[path]).write_text("", encoding="utf-8")
    given = {"resource-manager-endpoint": str(info["url"]), "authority-host": str(info["url"])}
    if sign_in == "oidc":
        given.update(
            {
                "client-id": str(info["client_id"]),
                "tenant-id": str(info["tenant_id"]),
                "subscription-id": str(info["subscription_id"]),
            }
        )
        env["ACTIONS_ID_TOKEN_REQUEST_URL"] = str(info["actions_id_token_request_url"])
        env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = str(info["actions_id_token_request_token"])
    given.update(inputs)
    for name, spec in action_inputs().items():
        value = given.get(name, str((spec or {}).get("default", "")))
        env["INPUT_" + name.replace(" ", "_").upper()] = value
    if debug:
        env["RUNNER_DEBUG"] = "1"
        env["ACTIONS_STEP_DEBUG"] = "true"
    return env


@dataclass
class StepRun:
    """One run of the action's step, as GitHub would show it."""

    stdout: str
    stderr: str
    exit_code: int
    outputs: dict[str, str]
    summary: str
    masks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


def start_step(env: dict[str, str]) -> subprocess.Popen[str]:
    """The step's process: what `exec "$PYTHON" -m runner.github.action` leaves running."""
    return subprocess.Popen(
        [sys.executable, "-m", "runner.github.action"],
        env=env,
        cwd=env["GITHUB_WORKSPACE"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def finish_step(process: subprocess.Popen[str], env: dict[str, str], timeout: float) -> StepRun:
    stdout, stderr = process.communicate(timeout=timeout)
    return read_step(stdout, stderr, process.returncode, env)


def run_step(env: dict[str, str], timeout: float = 120) -> StepRun:
    return finish_step(start_step(env), env, timeout)


def read_step(stdout: str, stderr: str, code: int, env: dict[str, str]) -> StepRun:
    run = StepRun(
        stdout,
        stderr,
        code,
        read_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8")),
        Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8"),
    )
    for line in stdout.splitlines():
        match = COMMAND.match(line.lstrip())
        if match is None:
            continue
        name, data = match.group(1), unescape(match.group(3))
        if name == "add-mask":
            run.masks.append(data)
        elif name == "error":
            run.errors.append(data)
        elif name == "warning":
            run.warnings.append(data)
        elif name == "group":
            run.groups.append(data)
    return run


def unescape(data: str) -> str:
    return data.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def read_output_file(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks
    (the runner refuses a block whose delimiter never comes)."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if heredoc > 0 and (equals < 0 or heredoc < equals):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            value: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                value.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"Matching delimiter not found '{delimiter}'")
            i += 1
            outputs[name] = "\n".join(value)
        elif equals > 0:
            outputs[line[:equals]] = line[equals + 1 :]
        else:
            raise ValueError(f"Invalid format '{line}'")
    return outputs


def assert_nothing_leaked(run: StepRun, secrets: list[Optional[str]]) -> None:
    for secret in filter(None, secrets):
        for where, text in (
            ("log", run.text),
            ("outputs", str(run.outputs)),
            ("summary", run.summary),
        ):
            shown = [line for line in text.splitlines() if secret in line]
            # The one place a secret belongs: the ::add-mask:: that tells the runner to hide it.
            assert all(line.startswith("::add-mask::") for line in shown), (where, shown)
