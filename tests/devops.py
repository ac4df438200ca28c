"""Helpers for the Azure DevOps scenarios: run `swap-slots init` / `validate` as a user would,
and read the organization back with the azure-devops client."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

# The client caches discovery answers on disk, under the home folder unless told otherwise;
# it reads the setting when first imported.
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="azure-devops-cache-"))

from runner.emulator.process import Emulator

REPO = Path(__file__).resolve().parents[1]
APP, GROUP = "contoso-web", "rg-swap-demo"
SECRET_CONNECTION = "emulator-connection-secret"
ALICE, GROUP_APPROVERS = "alice@contoso.example", "[emulator-project]\\Release Approvers"


def swap_slots(
    emulator: Emulator,
    cwd: Path,
    *args: str,
    pat: Optional[str] = "",
    extra_env: Optional[dict[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    """`swap-slots ARGS` in `cwd`, with the emulator's PAT in AZURE_DEVOPS_EXT_PAT (None: none)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "SYSTEMROOT") if key in os.environ}
    env.update(
        REQUESTS_CA_BUNDLE=emulator.ca_cert,
        AZURE_DEVOPS_CACHE_DIR=str(cwd / ".azure-devops-cache"),
    )
    if pat is not None:
        env["AZURE_DEVOPS_EXT_PAT"] = pat or str(emulator.info["devops_token"])
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def swap_slots_offline(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`swap-slots ARGS` in `cwd` with no Azure DevOps credentials or emulator at all."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "SYSTEMROOT") if key in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def init_args(emulator: Emulator, *extra: str, connection: str = SECRET_CONNECTION) -> list[str]:
    info = emulator.info
    return [
        "init",
        "--organization",
        str(info["devops_url"]),
        "--project",
        str(info["devops_project"]),
        "--service-connection",
        connection,
        "--app",
        APP,
        "--resource-group",
        GROUP,
        *extra,
    ]


def validate_args(emulator: Emulator, pipeline: str, *extra: str) -> list[str]:
    info = emulator.info
    return [
        "validate",
        "--organization",
        str(info["devops_url"]),
        "--project",
        str(info["devops_project"]),
        "--pipeline",
        pipeline,
        *extra,
    ]


def devops_clients(emulator: Emulator, pat: Optional[str] = None) -> Any:
    """The azure-devops client's v7.1 factory, signed in with the emulator's PAT."""
    from azure.devops.connection import Connection
    from msrest.authentication import BasicAuthentication

    os.environ["REQUESTS_CA_BUNDLE"] = emulator.ca_cert
    credentials = BasicAuthentication("", pat or str(emulator.info["devops_token"]))
    return Connection(base_url=str(emulator.info["devops_url"]), creds=credentials).clients_v7_1


def devops_state(emulator: Emulator) -> dict[str, Any]:
    state: dict[str, Any] = emulator.control("GET", "devops")
    return state


def devops_changes(emulator: Emulator) -> list[dict[str, Any]]:
    """Requests that could have changed something in the emulated organization."""
    return [
        call
        for call in emulator.requests()
        if call["method"] in ("POST", "PUT", "PATCH", "DELETE")
        and str(call["path"]).lower().startswith("/emulator-org/")
        and not str(call["path"]).lower().endswith("/preview")
    ]
