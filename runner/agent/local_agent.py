"""A stand-in for the Azure Pipelines agent, for the demo and the tests.

`agent_environment()` builds the environment the agent hands a task step (inputs seeded with
their defaults, aliases mapped, the AzureRM connection's ENDPOINT_* variables, system and agent
variables) for a service connection to the local emulator; `AgentLog` decodes logging commands
exactly as the agent's parser does; `upload_attachments()` sends the files a step attached to the
emulator's Azure DevOps as the agent sends them to the job's timeline record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Optional
from urllib.parse import quote

import requests

from runner.shipped import shipped_root

SCHEMES = ("secret", "certificate", "oidc", "msi")


def task_inputs() -> list[dict[str, Any]]:
    root = shipped_root()
    assert root is not None, "task.json is in the checkout, or in the installed package"
    manifest = (root / "task.json").read_text(encoding="utf-8")
    inputs: list[dict[str, Any]] = json.loads(manifest)["inputs"]
    return inputs


def input_env(values: Mapping[str, str]) -> dict[str, str]:
    """INPUT_* for every declared input: its default, then the step's value (aliases mapped)."""
    declared = task_inputs()
    alias_to_name = {a.lower(): i["name"] for i in declared for a in i.get("aliases", [])}
    env = {_var("INPUT_" + i["name"]): str(i.get("defaultValue", "")).strip() for i in declared}
    for key, value in values.items():
        name = alias_to_name.get(key.lower(), key)
        env[_var("INPUT_" + name)] = str(value).strip()
    return env


def _var(name: str) -> str:
    return name.replace(".", "_").replace(" ", "_").upper()


def connection_env(info: Mapping[str, Any], scheme: str, connection_id: str) -> dict[str, str]:
    """The ENDPOINT_* variables of an AzureRM service connection to the emulator."""
    params: dict[str, str] = {"tenantid": info["tenant_id"]}
    if scheme == "secret":
        auth_scheme = "ServicePrincipal"
        params.update(
            serviceprincipalid=info["client_id"],
            authenticationType="spnKey",
            serviceprincipalkey=info["client_secret"],
        )
    elif scheme == "certificate":
        auth_scheme = "ServicePrincipal"
        pem = Path(info["client_certificate"]).read_text(encoding="utf-8")
        params.update(
            serviceprincipalid=info["client_id"],
            authenticationType="spnCertificate",
            servicePrincipalCertificate=pem,
        )
    elif scheme == "oidc":
        auth_scheme = "WorkloadIdentityFederation"
        params.update(serviceprincipalid=info["client_id"])
    elif scheme == "msi":
        auth_scheme = "ManagedServiceIdentity"
    else:
        raise ValueError(scheme)
    data = {
        "subscriptionId": info["subscription_id"],
        "subscriptionName": "Emulated subscription",
        "environment": "AzureStack",
        "environmentAuthorityUrl": info["url"],
        "activeDirectoryServiceEndpointResourceId": info["arm_audience"],
        "scopeLevel": "Subscription",
    }
    cid = connection_id
    env = {
        f"ENDPOINT_URL_{cid}": info["url"],
        f"ENDPOINT_AUTH_{cid}": json.dumps({"parameters": params, "scheme": auth_scheme}),
        f"ENDPOINT_AUTH_SCHEME_{cid}": auth_scheme,
        f"ENDPOINT_DATA_{cid}": json.dumps(data),
    }
    for key, value in params.items():
        env[f"ENDPOINT_AUTH_PARAMETER_{cid}_{key.upper()}"] = value
    for key, value in data.items():
        env[f"ENDPOINT_DATA_{cid}_{key.upper()}"] = value
    return env


def agent_environment(
    info: Mapping[str, Any],
    inputs: Mapping[str, str],
    work_dir: Path,
    scheme: str = "secret",
    debug: bool = False,
    connection_id: Optional[str] = None,
) -> dict[str, str]:
    """Everything the agent would export for one step of this task against the emulator."""
    cid = connection_id or info["service_connection_id"]
    temp = work_dir / "_temp"
    temp.mkdir(parents=True, exist_ok=True)
    env = {
        key: os.environ[key] for key in ("PATH", "SYSTEMROOT", "HOME", "LANG") if key in os.environ
    }
    env.update(
        TF_BUILD="True",
        AGENT_TEMPDIRECTORY=str(temp),
        AGENT_TOOLSDIRECTORY=str(work_dir / "_tool"),
        AGENT_WORKFOLDER=str(work_dir),
        SYSTEM_DEFAULTWORKINGDIRECTORY=str(work_dir),
        SYSTEM_TEAMFOUNDATIONCOLLECTIONURI="https://dev.azure.com/emulator-org/",
        SYSTEM_OIDCREQUESTURI=info["oidc_request_uri"],
        ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN=info["system_access_token"],
        SYSTEM_ACCESSTOKEN=info["system_access_token"],
        # The emulator's certificate is private: trust its CA, as a company proxy's would be.
        REQUESTS_CA_BUNDLE=info["ca_cert"],
    )
    if scheme == "msi":
        # IMDS cannot run here; App Service's managed-identity endpoint is the same protocol family.
        env.update(IDENTITY_ENDPOINT=info["msi_endpoint"], IDENTITY_HEADER=info["msi_header"])
    if debug:
        env["SYSTEM_DEBUG"] = "true"
    env.update(connection_env(info, scheme, cid))
    env.update(input_env({"ConnectedServiceName": cid, **inputs}))
    return env


@dataclass
class Command:
    name: str
    properties: dict[str, str]
    data: str


def _unescape(value: str) -> str:
    for escaped, plain in (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]")):
        value = value.replace(escaped, plain)
    return value.replace("%AZP25", "%")


def parse_command(line: str) -> Optional[Command]:
    """Decodes one line as the agent does; None when it holds no logging command."""
    start = line.find("##vso[")
    if start < 0:
        return None
    rest = line[start + len("##vso[") :]
    end = rest.find("]")
    if end < 0:
        return None
    head, data = rest[:end], rest[end + 1 :]
    name, _, prop_text = head.partition(" ")
    properties: dict[str, str] = {}
    for pair in prop_text.split(";"):
        key, sep, value = pair.partition("=")
        if sep and value:
            properties[key] = _unescape(value)
    return Command(name.lower(), properties, _unescape(data))


@dataclass
class AgentLog:
    stdout: str
    stderr: str
    exit_code: int
    commands: list[Command] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.commands = [c for c in map(parse_command, self.stdout.splitlines()) if c]

    def _named(self, name: str) -> list[Command]:
        return [c for c in self.commands if c.name == name]

    @property
    def results(self) -> list[str]:
        return [c.properties.get("result", "") for c in self._named("task.complete")]

    @property
    def result(self) -> str:
        results = self.results
        assert len(results) == 1, f"expected one task.complete, got {results}\n{self.stdout}"
        return results[0]

    def issues(self, kind: str) -> list[str]:
        return [c.data for c in self._named("task.logissue") if c.properties.get("type") == kind]

    @property
    def errors(self) -> list[str]:
        return self.issues("error")

    @property
    def warnings(self) -> list[str]:
        return self.issues("warning")

    @property
    def outputs(self) -> dict[str, str]:
        return {c.properties["variable"]: c.data for c in self._named("task.setvariable")}

    @property
    def secrets(self) -> list[str]:
        return [c.data for c in self._named("task.setsecret")]

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    @property
    def attachments(self) -> list[Command]:
        return self._named("task.addattachment")


class AgentJob(NamedTuple):
    """Where a step's attachments go: its build's plan and timeline, and its own record."""

    plan_id: str
    timeline_id: str
    record_id: str


def upload_attachments(log: AgentLog, info: Mapping[str, Any], job: AgentJob) -> list[str]:
    """PUTs each file the step attached to its timeline record, with the job's token, as the
    agent does once the step has ended; returns the names uploaded."""
    names = []
    for command in log.attachments:
        kind, name = command.properties["type"], command.properties["name"]
        url = (
            f"{info['devops_url']}/{quote(info['devops_project'])}/_apis/distributedtask/hubs/"
            f"build/plans/{job.plan_id}/timelines/{job.timeline_id}/records/{job.record_id}/"
            f"attachments/{quote(kind)}/{quote(name)}?api-version=7.1"
        )
        with open(command.data, "rb") as file:
            answer = requests.put(
                url,
                data=file.read(),
                headers={
                    "Authorization": f"Bearer {info['system_access_token']}",
                    "Content-Type": "application/octet-stream",
                },
                verify=info["ca_cert"],
                timeout=30,
            )
        answer.raise_for_status()
        names.append(name)
    return names


def start_task(env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Starts `python -m runner` as the launcher would; its log (stdout and stderr) is piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "runner"],
        env=dict(env),
        cwd=str(cwd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_task(env: Mapping[str, str], cwd: Path, timeout: float = 120) -> AgentLog:
    """Runs `python -m runner` with stdin closed, as the launcher would, and reads its log."""
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
