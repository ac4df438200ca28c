"""Scenario (opt-in): the real Azure CLI logs in to the emulator and swaps, previews and resets,
routes a share of production's traffic to a slot and reads the slot's metrics.

Skipped unless SWAP_SLOTS_TEST_AZ=1. The first run installs azure-cli into a cached virtual
environment (several minutes); set SWAP_SLOTS_AZ to an existing `az` to skip that.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.emulator_process import Emulator, start_emulator

pytestmark = pytest.mark.skipif(
    os.environ.get("SWAP_SLOTS_TEST_AZ") != "1", reason="set SWAP_SLOTS_TEST_AZ=1 to run az"
)
GROUP, APP = "rg-swap-demo", "contoso-web"
APP_ARGS = ("-g", GROUP, "-n", APP)


def azure_cli() -> Path:
    given = os.environ.get("SWAP_SLOTS_AZ")
    if given:
        return Path(given)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = cache / "swap-slots" / "azure-cli"
    scripts = home / ("Scripts" if sys.platform == "win32" else "bin")
    az = scripts / ("az.cmd" if sys.platform == "win32" else "az")
    if not az.exists():
        venv.create(home, with_pip=True)
        subprocess.run(
            [str(scripts / "python"), "-m", "pip", "install", "--quiet", "azure-cli"], check=True
        )
    return az


class Az:
    def __init__(self, executable: Path, emulator: Emulator, config_dir: Path) -> None:
        self._executable = executable
        self._env = {
            **os.environ,
            "AZURE_CONFIG_DIR": str(config_dir),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "REQUESTS_CA_BUNDLE": emulator.ca_cert,
        }

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [str(self._executable), *args],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"az {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(
        tmp_path_factory.mktemp("emulator"),
        "--swap-seconds",
        "1",
        "--metrics-minute-seconds",
        "0.5",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def az(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Az:
    run = Az(azure_cli(), emulator, tmp_path_factory.mktemp("az-config"))
    run("cloud", "register", "--name", "Emulator", "--endpoint-resource-manager", emulator.url)
    run("cloud", "set", "--name", "Emulator")
    run("config", "set", "core.instance_discovery=false")
    run(
        "login",
        "--service-principal",
        "--username",
        emulator.client_id,
        "--password",
        emulator.client_secret,
        "--tenant",
        emulator.tenant_id,
    )
    return run


def slot_swap(az: Az, action: str) -> None:
    az("webapp", "deployment", "slot", "swap", *APP_ARGS, "--slot", "staging", "--action", action)


def slot_name_setting(az: Az, slot: str) -> str:
    query = ("--query", "[?name=='SLOT_NAME'].value", "-o", "tsv")
    return az("webapp", "config", "appsettings", "list", *APP_ARGS, "--slot", slot, *query).strip()


def test_az_swaps_staging_into_production(az: Az, emulator: Emulator) -> None:
    emulator.deploy(APP, "staging", "v2")

    slot_swap(az, "swap")

    assert emulator.serving(APP, "production") == "v2"
    assert emulator.serving(APP, "staging") == "v1"
    assert all("/common/discovery/instance" not in r["path"] for r in emulator.requests())


def test_az_previews_then_resets(az: Az) -> None:
    slot_swap(az, "preview")
    previewed = slot_name_setting(az, "staging")
    slot_swap(az, "reset")

    assert previewed == "production"
    assert slot_name_setting(az, "staging") == "staging"


def test_az_routes_traffic_to_a_slot_and_reads_its_metrics(az: Az, emulator: Emulator) -> None:
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    az("webapp", "traffic-routing", "set", *APP_ARGS, "--distribution", "staging=100")
    shown = json.loads(az("webapp", "traffic-routing", "show", *APP_ARGS))
    production = emulator.slot_url(APP, "production")
    served = [
        requests.get(production, verify=emulator.ca_cert, timeout=5).json()["slot"]
        for _ in range(3)
    ]
    az("webapp", "traffic-routing", "clear", *APP_ARGS)
    time.sleep(1.5)  # past the minute and its publishing delay (0.5 s minutes)
    end = datetime.datetime.now(datetime.timezone.utc)
    slot_id = json.loads(az("webapp", "show", *APP_ARGS, "--slot", "staging"))["id"]
    metrics = json.loads(
        az(
            "monitor",
            "metrics",
            "list",
            "--resource",
            slot_id,
            "--metric",
            "Requests",
            "--interval",
            "PT1M",
            "--aggregation",
            "Total",
            "--start-time",
            start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--end-time",
            end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )

    assert [(rule["name"], rule["reroutePercentage"]) for rule in shown] == [("staging", 100.0)]
    assert served == ["staging"] * 3
    points = metrics["value"][0]["timeseries"][0]["data"]
    assert sum(point.get("total") or 0 for point in points) == 3
