"""Scenarios: `swap-slots swap` from a terminal, with the user's own Azure login."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from runner.emulator.process import Emulator
from tests.conftest import StartEmulator, mutating_calls

APP, GROUP = "contoso-web", "rg-swap-demo"


def swap_slots(
    emulator: Emulator, *args: str, secret: str = "", command: tuple[str, ...] = ("swap",)
) -> subprocess.CompletedProcess[str]:
    info = emulator.info
    env = {key: os.environ[key] for key in ("PATH", "HOME", "SYSTEMROOT") if key in os.environ}
    # The developer's login, as azure-identity's EnvironmentCredential reads it.
    env.update(
        AZURE_TENANT_ID=info["tenant_id"],
        AZURE_CLIENT_ID=info["client_id"],
        AZURE_CLIENT_SECRET=secret or info["client_secret"],
        AZURE_SUBSCRIPTION_ID=info["subscription_id"],
        REQUESTS_CA_BUNDLE=info["ca_cert"],
    )
    cloud = [
        "--arm-url",
        info["url"],
        "--authority",
        info["url"],
        "--audience",
        info["arm_audience"],
    ]
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *command, *cloud, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_swap_from_a_terminal(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2")

    done = swap_slots(emulator, "--app", APP, "--source", "staging")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == emulator.slot_url(APP, "production")
    assert "Resource group: rg-swap-demo (found from the app's name)" in done.stderr
    assert "##vso" not in done.stdout + done.stderr
    assert emulator.serving(APP, "production") == "v2"
    assert not [r for r in emulator.requests() if "discovery/instance" in r["path"]]


def test_terminal_bad_input_changes_nothing(emulator: Emulator) -> None:
    done = swap_slots(emulator, "--app", APP, "-g", GROUP, "--source", "nope")

    assert done.returncode == 1
    assert "error: Slot 'nope' was not found on App Service 'contoso-web'" in done.stderr
    assert "Nothing was changed in Azure" in done.stderr
    assert mutating_calls(emulator) == []


def test_terminal_wrong_login_is_reported_without_the_secret(emulator: Emulator) -> None:
    done = swap_slots(emulator, "--app", APP, "--source", "staging", secret="wrong-secret-1")

    assert done.returncode == 1
    assert "rejected the credentials" in done.stderr
    assert "wrong-secret-1" not in done.stderr + done.stdout
    assert mutating_calls(emulator) == []


FAST_CHECKS = ("--health-check-path", "/health", "--health-timeout", "0.05", "--healthy-after", "1")


def test_the_gate_stops_a_broken_build_from_a_terminal(emulator: Emulator) -> None:
    emulator.deploy(APP, "staging", "v2", health="unhealthy")

    done = swap_slots(emulator, "--app", APP, "--source", "staging", *FAST_CHECKS)

    assert done.returncode == 1, done.stderr
    assert "Outcome: NotStarted" in done.stderr
    assert "The health gate stopped the swap" in done.stderr
    assert emulator.operations() == []


def test_a_build_broken_in_production_is_swapped_back_from_a_terminal(emulator: Emulator) -> None:
    emulator.deploy(APP, "staging", "v2", health="needs-setting:SLOT_NAME=staging")

    done = swap_slots(
        emulator, "--app", APP, "--source", "staging", "--expected-version", "v2", *FAST_CHECKS
    )

    assert done.returncode == 1, done.stderr
    assert "Outcome: RolledBack" in done.stderr
    assert "'production' serves version v1" in done.stderr
    assert emulator.serving(APP, "production") == "v1"


def test_swap_with_preview_from_a_terminal(emulator: Emulator) -> None:
    emulator.deploy(APP, "staging", "v2")
    target = ("--app", APP, "--source", "staging")

    started = swap_slots(emulator, *target, command=("preview", "start"))
    canceled = swap_slots(emulator, *target, command=("preview", "cancel"))
    restarted = swap_slots(emulator, *target, command=("preview", "start"))
    completed = swap_slots(emulator, *target, command=("preview", "complete"))

    assert "Outcome: PreviewStarted" in started.stderr, started.stderr
    assert "Outcome: PreviewCanceled" in canceled.stderr, canceled.stderr
    assert restarted.returncode == 0, restarted.stderr
    assert completed.returncode == 0 and "Outcome: Swapped" in completed.stderr, completed.stderr
    assert emulator.serving(APP, "production") == "v2"
    resets = [c["path"] for c in mutating_calls(emulator) if c["path"].endswith("resetSlotConfig")]
    assert [p.split("/sites/")[1] for p in resets] == [f"{APP}/slots/staging/resetSlotConfig"]


def production_rules(emulator: Emulator) -> list[dict[str, object]]:
    config = emulator.control(
        "POST", "config", {"app": APP, "slot": "production", "properties": {}}
    )
    return list((config["production"].get("experiments") or {}).get("rampUpRules") or [])


def test_route_sets_and_removes_a_slots_share_of_production_traffic(emulator: Emulator) -> None:
    done = swap_slots(
        emulator, "--app", APP, "--slot", "staging", "--percent", "10", command=("route",)
    )

    assert done.returncode == 0, done.stderr
    assert "now routes 10 % of its traffic to 'staging'" in done.stderr
    [rule] = production_rules(emulator)
    assert rule["reroutePercentage"] == 10 and rule["name"] == "staging"

    done = swap_slots(
        emulator, "--app", APP, "--slot", "staging", "--percent", "0", command=("route",)
    )

    assert done.returncode == 0, done.stderr
    assert "now routes 0 % of its traffic to 'staging'" in done.stderr
    assert production_rules(emulator) == []


def test_a_canary_from_a_terminal_stops_a_flaky_version(emulator: Emulator) -> None:
    # Failing half its requests: this emulator publishes no metrics minute within the canary, so
    # the task's own probes are the evidence. 12 s steps give them about 60 a step; a dozen (2.4 s
    # steps) was sometimes too little evidence to be sure on a loaded machine.
    emulator.deploy(APP, "staging", "v2", health="flaky:50")
    emulator.control("POST", "traffic", {"app": APP, "rate": 60, "seconds": 20})

    done = swap_slots(
        emulator,
        "--app", APP, "--source", "staging", "--health-check-path", "/health",
        "--healthy-after", "1", "--traffic-steps", "10,50", "--step-minutes", "0.2",
        "--min-requests", "5",
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    assert "Outcome: CanaryFailed" in done.stderr
    assert "The canary stopped the swap" in done.stderr
    assert "5xx on 'staging' more than 1 point above production's" in done.stderr
    assert production_rules(emulator) == []
    assert emulator.serving(APP, "production") == "v1"


def test_terminal_canary_options_are_checked(emulator: Emulator) -> None:
    done = swap_slots(emulator, "--app", APP, "--source", "staging", "--traffic-steps", "50,10")

    assert done.returncode == 1
    assert "--traffic-steps is '50,10'" in done.stderr
    assert mutating_calls(emulator) == []


def test_several_apps_all_or_nothing_from_a_terminal(start_emulator: StartEmulator) -> None:
    apps = ("web-weu", "web-eus", "web-sea")
    emulator = start_emulator(
        "--swap-seconds", "0.3", *(arg for app in apps for arg in ("--app", f"{app}:staging"))
    )
    for app in apps:
        emulator.deploy(app, "staging", "v2")
    emulator.deploy(apps[2], "staging", "v2", health="needs-setting:SLOT_NAME=staging")
    also = ("--also-app", apps[1], "--also-app", f"{GROUP}/{apps[2]}")

    done = swap_slots(emulator, "--app", apps[0], "--source", "staging", *also, *FAST_CHECKS)

    assert done.returncode == 1, done.stderr
    assert "Outcome: RolledBack" in done.stderr
    assert f"'{apps[2]}' failed verification" in done.stderr
    assert [emulator.serving(app, "production") for app in apps] == ["v1", "v1", "v1"]
    assert len(emulator.operations()) == 6


def test_also_app_is_refused_with_a_preview(emulator: Emulator) -> None:
    done = swap_slots(
        emulator,
        "--app",
        APP,
        "--source",
        "staging",
        "--also-app",
        "web-eus",
        command=("preview", "start"),
    )

    assert done.returncode == 1
    assert (
        "--also-app swaps several apps all or nothing with the 'Swap Slots' action" in done.stderr
    )
    assert mutating_calls(emulator) == []


def test_swap_writes_its_report_as_a_standalone_page(emulator: Emulator, tmp_path: Path) -> None:
    emulator.deploy(APP, "staging", "v2")
    page = tmp_path / "reports" / "release.html"

    done = swap_slots(emulator, "--app", APP, "--source", "staging", "--report", str(page))

    assert done.returncode == 0, done.stderr
    assert f"Report: {page}" in done.stderr
    html = page.read_text(encoding="utf-8")
    assert '"kind": "swap-slots-report"' in html and '"outcome": "Swapped"' in html
    assert "<script src=" not in html and "http://" not in html.split("<script>")[1]
    assert emulator.info["client_secret"] not in html
