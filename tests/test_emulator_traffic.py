"""Scenarios: steady user traffic for a demo or a canary, from `swap-slots emulator-traffic` and
from the control API, split by a routing rule; each new client keeps its routing cookie as a
browser would, and the per-slot counters show where it went."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from tests.conftest import StartEmulator
from tests.emulator_process import Emulator


def route_to_staging(emulator: Emulator, percentage: float) -> None:
    rule = {
        "name": "staging",
        "actionHostName": emulator.host_name("contoso-web", "staging"),
        "reroutePercentage": percentage,
    }
    emulator.control(
        "POST",
        "config",
        {"app": "contoso-web", "properties": {"experiments": {"rampUpRules": [rule]}}},
    )


def test_emulator_traffic_sends_new_clients_that_keep_their_routing_cookie(
    start_emulator: StartEmulator,
) -> None:
    emulator = start_emulator("--seed", "3")
    emulator.deploy("contoso-web", "staging", "v2")
    route_to_staging(emulator, 30)

    command = [sys.executable, "-m", "runner.cli", "emulator-traffic", "--url", emulator.url]
    command += ["--ca-cert", emulator.ca_cert, "--app", "contoso-web", "--rate", "200"]
    command += ["--seconds", "0.5", "--requests-per-client", "3"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    counters = emulator.counters("contoso-web")
    staging, production = counters["staging"]["requests"], counters["production"]["requests"]
    assert done.returncode == 0, done.stderr
    assert "Sent 100 new clients (300 answered requests, 0 unanswered)" in done.stdout
    assert "Statuses: 200: 300" in done.stdout
    assert f"staging: {staging} requests, 0 with 5xx, {staging} routed" in done.stdout
    assert staging + production == 300
    assert staging % 3 == 0 and production % 3 == 0, "every client stayed where it was sent"
    assert 15 <= 100 * staging / 300 <= 45


def test_the_control_api_sends_traffic_from_inside_the_emulator(
    start_emulator: StartEmulator,
) -> None:
    emulator = start_emulator("--seed", "4")
    route_to_staging(emulator, 50)

    started: dict[str, Any] = emulator.control(
        "POST", "traffic", {"app": "contoso-web", "rate": 100, "seconds": 0.4}
    )
    deadline = time.monotonic() + 20
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = emulator.control("GET", "traffic")
        if runs[0]["finished"]:
            break
        time.sleep(0.1)

    run = runs[0]
    counters = emulator.counters("contoso-web")
    assert started["url"] == emulator.slot_url("contoso-web", "production")
    assert (run["finished"], run["clients"], run["requests"]) == (True, 40, 40)
    assert run["by_slot"] == {
        "production": counters["production"]["requests"],
        "staging": counters["staging"]["requests"],
    }
    assert counters["staging"]["routed"] == counters["staging"]["requests"]
