"""What the Azure Pipelines agent hands a step of Microsoft's AzureAppServiceManage@0, for
tests/test_emulator_ms_task.py: the task folder's own task.json and target, INPUT_* from it, the
ENDPOINT_* of an AzureRM service connection (service principal), and a build job's variables."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from runner.agent.local_agent import AgentLog

CONNECTION_ID = "5e1ec7ed-0000-4000-8000-00000000a2a5"


class MsTask:
    """The built task folder: its task.json and the script the agent would run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest: dict[str, Any] = json.loads((folder / "task.json").read_text("utf-8"))
        self.target = folder / self.manifest["execution"]["Node20_1"]["target"]
        if not self.target.exists():
            pytest.fail(f"{self.target} does not exist: is {folder} built (npx tsc)?")

    @property
    def version(self) -> str:
        version = self.manifest["version"]
        return f"{version['Major']}.{version['Minor']}.{version['Patch']}"

    def input_env(self, step: dict[str, str]) -> dict[str, str]:
        """INPUT_* for every declared input, seeded with defaults, then the step's values."""
        env = {
            _variable("INPUT_" + declared["name"]): str(declared.get("defaultValue", "")).strip()
            for declared in self.manifest["inputs"]
        }
        for name, value in step.items():
            env[_variable("INPUT_" + name)] = value.strip()
        return env


def _variable(name: str) -> str:
    return name.replace(".", "_").replace(" ", "_").upper()


def connection_env(info: dict[str, Any], scheme: str, environment: str) -> dict[str, str]:
    """What the agent exports for an AzureRM service connection (service principal)."""
    auth: dict[str, str] = {"serviceprincipalid": info["client_id"], "tenantid": info["tenant_id"]}
    if scheme == "secret":
        auth.update(authenticationType="spnKey", serviceprincipalkey=info["client_secret"])
    else:
        pem = Path(info["client_certificate"]).read_text(encoding="utf-8")
        auth.update(authenticationType="spnCertificate", servicePrincipalCertificate=pem)
    data = {
        "environment": environment,
        "scopeLevel": "Subscription",
        "subscriptionId": info["subscription_id"],
        "subscriptionName": info["subscription_name"],
        "creationMode": "Manual",
    }
    if environment != "AzureStack":
        # The cloud's endpoints, which the service adds for a named cloud (the emulator's here).
        data.update(
            environmentAuthorityUrl=info["url"],
            activeDirectoryAuthority=info["url"],
            activeDirectoryServiceEndpointResourceId=info["arm_audience"],
        )
    cid = CONNECTION_ID
    env = {
        f"ENDPOINT_URL_{cid}": info["url"],
        f"ENDPOINT_AUTH_{cid}": json.dumps({"parameters": auth, "scheme": "ServicePrincipal"}),
        f"ENDPOINT_AUTH_SCHEME_{cid}": "ServicePrincipal",
        f"ENDPOINT_DATA_{cid}": json.dumps(data),
    }
    env.update({f"ENDPOINT_AUTH_PARAMETER_{cid}_{k.upper()}": v for k, v in auth.items()})
    env.update({f"ENDPOINT_DATA_{cid}_{k.upper()}": v for k, v in data.items()})
    return env


def job_env(work: Path, info: dict[str, Any]) -> dict[str, str]:
    """The agent's and the build's own variables for a job, as environment variables."""
    for folder in ("_temp", "_tool", "s"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    return {
        "TF_BUILD": "True",
        "AGENT_NAME": "emulator-agent",
        "AGENT_VERSION": "4.264.2",
        "AGENT_OS": "Linux",
        "AGENT_JOBSTATUS": "Succeeded",
        "AGENT_WORKFOLDER": str(work),
        "AGENT_TEMPDIRECTORY": str(work / "_temp"),
        "AGENT_TOOLSDIRECTORY": str(work / "_tool"),
        "SYSTEM_DEFAULTWORKINGDIRECTORY": str(work / "s"),
        "SYSTEM_CULTURE": "en-US",
        "SYSTEM_HOSTTYPE": "build",
        "SYSTEM_SERVERTYPE": "Hosted",
        "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": "https://dev.azure.com/emulator-org/",
        "SYSTEM_COLLECTIONID": str(uuid.UUID(int=1)),
        "SYSTEM_TEAMPROJECT": "emulator-project",
        "SYSTEM_TEAMPROJECTID": str(uuid.UUID(int=2)),
        "SYSTEM_DEFINITIONID": "7",
        "SYSTEM_JOBID": str(uuid.UUID(int=3)),
        "SYSTEM_PLANID": str(uuid.UUID(int=4)),
        "BUILD_BUILDID": "42",
        "BUILD_BUILDNUMBER": "20261129.1",
        "BUILD_DEFINITIONNAME": "contoso-web",
        "BUILD_REPOSITORY_PROVIDER": "TfsGit",
        "BUILD_REQUESTEDFOR": "Emulator User",
        "BUILD_SOURCEVERSION": "0123456789abcdef0123456789abcdef01234567",
        "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN": info["system_access_token"],
    }


def run_step(
    task: MsTask,
    node: str,
    info: dict[str, Any],
    work: Path,
    step: dict[str, str],
    scheme: str = "secret",
    environment: str = "AzureCloud",
) -> AgentLog:
    """One step of the task, with what the agent exports and nothing of this process."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(job_env(work, info))
    env.update(connection_env(info, scheme, environment))
    env.update(task.input_env({"ConnectedServiceName": CONNECTION_ID, **step}))
    env["NODE_EXTRA_CA_CERTS"] = info["ca_cert"]
    done = subprocess.run(
        [node, str(task.target)],
        env=env,
        cwd=work / "s",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return AgentLog(done.stdout, done.stderr, done.returncode)
