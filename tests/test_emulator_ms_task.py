"""Scenario (opt-in): Microsoft's own swap code, run with node, swaps slots on the emulator.

Skipped unless SWAP_SLOTS_TEST_MS_TASK=1. AzureAppServiceManage@0 is not published, but the
libraries it swaps with are: the first run npm-installs pinned versions of
azure-pipelines-task-lib and azure-pipelines-tasks-azure-arm-rest into `build/ms-task/`
(git-ignored, about 120 MB; seconds with a warm npm cache). Set SWAP_SLOTS_MS_TASK_PACKAGES to a
folder whose node_modules already hold them to skip that. `tests/ms_task_driver.js` plays the
task's "Swap Slots" action with them, from the INPUT_* and ENDPOINT_* variables the agent sets,
over HTTPS, trusting the emulator's CA through NODE_EXTRA_CA_CERTS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from runner.local_agent import AgentLog, connection_env, input_env
from tests.emulator_process import Emulator, start_emulator

pytestmark = pytest.mark.skipif(
    os.environ.get("SWAP_SLOTS_TEST_MS_TASK") != "1",
    reason="set SWAP_SLOTS_TEST_MS_TASK=1 to run Microsoft's swap code with node",
)

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "ms_task_driver.js"
PINNED = {
    "azure-pipelines-tasks-azure-arm-rest": "3.272.1",
    "azure-pipelines-task-lib": "5.2.10",
}
CONNECTION_ID = "5e1ec7ed-0000-4000-8000-00000000a2a5"
GROUP, APP = "rg-swap-demo", "contoso-web"


def installed_version(folder: Path, package: str) -> str | None:
    manifest = folder / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    version: str = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    return version


def ms_task_packages() -> Path:
    """A folder whose node_modules hold the pinned packages, installed there on first use."""
    given = os.environ.get("SWAP_SLOTS_MS_TASK_PACKAGES")
    if given:
        return Path(given)
    folder = ROOT / "build" / "ms-task"
    if all(installed_version(folder, name) == version for name, version in PINNED.items()):
        return folder
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("SWAP_SLOTS_TEST_MS_TASK=1 needs npm on PATH")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "ms-task-packages", "private": True, "dependencies": PINNED}
    (folder / "package.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        check=True,
        timeout=600,
    )
    return folder


@pytest.fixture(scope="module")
def packages() -> Path:
    if shutil.which("node") is None:
        pytest.fail("SWAP_SLOTS_TEST_MS_TASK=1 needs node on PATH")
    return ms_task_packages()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "emulator", "--swap-seconds", "1") as running:
        yield running


def run_swap_slots(
    emulator: Emulator,
    packages: Path,
    work_dir: Path,
    scheme: str = "secret",
    inputs: Optional[dict[str, str]] = None,
) -> AgentLog:
    """The driver with what the agent would export for a "Swap Slots" step, and nothing else
    from this process's environment (no proxy, no debug)."""
    temp = work_dir / "_temp"
    temp.mkdir(parents=True, exist_ok=True)
    env = {key: os.environ[key] for key in ("PATH", "HOME", "SYSTEMROOT") if key in os.environ}
    env.update(
        TF_BUILD="True",
        AGENT_TEMPDIRECTORY=str(temp),
        AGENT_WORKFOLDER=str(work_dir),
        SYSTEM_DEFAULTWORKINGDIRECTORY=str(work_dir),
        NODE_EXTRA_CA_CERTS=emulator.ca_cert,
        MS_TASK_PACKAGES=str(packages),
    )
    env.update(connection_env(emulator.info, scheme, CONNECTION_ID))
    env.update(
        input_env(
            {
                "ConnectedServiceName": CONNECTION_ID,
                "Action": "Swap Slots",
                "WebAppName": APP,
                "ResourceGroupName": GROUP,
                "SourceSlot": "staging",
                "SwapWithProduction": "true",
                **(inputs or {}),
            }
        )
    )
    done = subprocess.run(
        ["node", str(DRIVER)],
        env=env,
        cwd=work_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return AgentLog(done.stdout, done.stderr, done.returncode)


def calls(emulator: Emulator) -> list[tuple[str, str, str, int]]:
    """(method, path, api-version, status) of each request to the main server."""
    return [
        (entry["method"], entry["path"], entry["query"].get("api-version", ""), entry["status"])
        for entry in emulator.requests()
        if entry["server"] == "main" and not entry["path"].startswith("/_emulator/")
    ]


def kudu_log(emulator: Emulator, slot: str) -> list[dict[str, Any]]:
    """What Kudu's deployment log of a slot holds, newest first."""
    user = f"${APP}" if slot == "production" else f"${APP}__{slot}"
    response = requests.get(
        f"{emulator.url}_kudu/{GROUP}/{APP}/{slot}/api/deployments",
        auth=(user, f"emulator-publishing-{APP}-{slot}"),
        verify=emulator.ca_cert,
        timeout=5,
    )
    response.raise_for_status()
    entries: list[dict[str, Any]] = response.json()
    return entries


@pytest.mark.parametrize("scheme", ["secret", "certificate"])
def test_microsofts_swap_code_swaps_staging_into_production(
    emulator: Emulator, packages: Path, tmp_path: Path, scheme: str
) -> None:
    if scheme == "certificate" and shutil.which("openssl") is None:
        pytest.skip("Microsoft's certificate sign-in runs openssl for the thumbprint")
    emulator.deploy(APP, "staging", "v2")
    assert emulator.serving(APP, "production") == "v1"

    log = run_swap_slots(emulator, packages, tmp_path / "agent", scheme)

    assert log.exit_code == 0, log.text
    assert "Failed" not in log.results, log.text
    assert f"Swapped App Service '{APP}' slots - 'staging' and 'production'" in log.stdout
    assert emulator.serving(APP, "production") == "v2"
    assert emulator.serving(APP, "staging") == "v1"

    site = f"/subscriptions/{emulator.subscription_id}/resourceGroups/{GROUP}"
    site += f"/providers/Microsoft.Web/sites/{APP}"
    made = calls(emulator)
    assert ("POST", f"/{emulator.tenant_id}/oauth2/token/", "", 200) in made
    assert ("POST", f"{site}/config/publishingcredentials/list", "2016-08-01", 200) in made
    assert ("GET", f"{site}/basicPublishingCredentialsPolicies/scm", "2020-12-01", 200) in made
    assert ("GET", f"{site}/", "2016-08-01", 200) in made
    assert ("POST", f"{site}/slots/staging/publishxml", "2016-08-01", 200) in made
    assert ("POST", f"{site}/publishxml", "2016-08-01", 200) in made
    swaps = [call for call in made if call[1].endswith("/slotsswap")]
    assert swaps == [("POST", f"{site}/slots/staging/slotsswap", "2016-08-01", 202)]
    polls = [call[3] for call in made if "/operationresults/" in call[1]]
    assert polls[-1] == 200 and set(polls[:-1]) == {202}, polls
    assert not any("discovery/instance" in call[1] for call in made)
    # It sleeps the emulator's `Retry-After: 1` between polls (15 s when there is none).
    poll_times = [e["time"] for e in emulator.requests() if "/operationresults/" in e["path"]]
    gaps = [later - earlier for earlier, later in zip(poll_times, poll_times[1:])]
    assert gaps and all(0.9 <= gap < 5 for gap in gaps), gaps

    warmed = {entry["server"] for entry in emulator.requests() if entry["server"] != "main"}
    assert {f"{APP}/production", f"{APP}/staging"} <= warmed
    staging_records, production_records = (
        kudu_log(emulator, "staging"),
        kudu_log(emulator, "production"),
    )
    assert [record["status"] for record in staging_records + production_records] == [4, 4]
    assert staging_records[0]["id"] == production_records[0]["id"]
    assert json.loads(staging_records[0]["message"])["type"] == "SlotSwap"
    assert f"Successfully updated deployment History at {emulator.url}_kudu/" in log.stdout


def test_microsofts_swap_code_fails_the_step_when_the_swap_fails(
    emulator: Emulator, packages: Path, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    emulator.add_fault("swap-fails")

    log = run_swap_slots(emulator, packages, tmp_path / "agent")

    # As with the task, the step fails by `task.complete result=Failed`, not by the exit code.
    assert log.results == ["Failed"], log.text
    (complete,) = [command for command in log.commands if command.name == "task.complete"]
    assert "worker process in the 'staging' slot could not be started" in complete.data, log.text
    assert emulator.serving(APP, "production") == "v1"
    assert [record["status"] for record in kudu_log(emulator, "staging")] == [3]
    assert [record["status"] for record in kudu_log(emulator, "production")] == [3]


def test_microsofts_swap_code_swaps_two_slots(packages: Path, tmp_path: Path) -> None:
    with start_emulator(
        tmp_path / "emulator", "--swap-seconds", "1", "--app", f"{APP}@{GROUP}:staging,qa"
    ) as emulator:
        emulator.deploy(APP, "staging", "v2")
        emulator.deploy(APP, "qa", "v3")

        log = run_swap_slots(
            emulator,
            packages,
            tmp_path / "agent",
            inputs={"SwapWithProduction": "false", "TargetSlot": "qa"},
        )

        assert "Failed" not in log.results, log.text
        assert f"Swapped App Service '{APP}' slots - 'staging' and 'qa'" in log.stdout
        assert emulator.serving(APP, "qa") == "v2"
        assert emulator.serving(APP, "staging") == "v3"
        assert emulator.serving(APP, "production") == "v1"
        assert [record["status"] for record in kudu_log(emulator, "qa")] == [4]
