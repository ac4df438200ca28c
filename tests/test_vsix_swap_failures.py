"""Scenarios from the .vsix, as the agent runs the task (its node, the launcher, the bundled
packages): the pre-flight refuses a stopped slot before any swap request, a swap Azure fails
ends with Azure's words and the fix, and the warm-up settings are in the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.emulator.process import Emulator
from tests import vsix_harness as harness
from tests.conftest import StartEmulator, mutating_calls

APP, GROUP = "contoso-web", "rg-swap-demo"
SWAP = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}

_missing = harness.missing_tools()
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="session")
def python_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return harness.stdlib_python(tmp_path_factory.mktemp("python") / "venv")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def swap_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if str(r["path"]).endswith("/slotsswap")]


def test_a_stopped_source_is_refused_before_any_swap_request(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")
    emulator.stop_slot(APP, "staging")
    env = harness.emulator_environment(task, emulator.info, SWAP, work, [python_bin])

    log = harness.run(task, env, work)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "NotStarted"
    assert "The source slot 'staging'" in log.errors[0] and "is Stopped" in log.errors[0]
    assert "az webapp start" in log.errors[0] and "--slot staging" in log.errors[0]
    assert swap_requests(emulator) == [] and mutating_calls(emulator) == []


def test_a_failed_warm_up_ends_with_azures_words_and_the_fix(
    start_emulator: StartEmulator, task: harness.InstalledTask, python_bin: Path, work: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2", health="broken")
    env = harness.emulator_environment(task, emulator.info, SWAP, work, [python_bin])

    log = harness.run(task, env, work)

    assert log.result == "Failed", log.text
    assert log.outputs["SwapOutcome"] == "Failed"
    assert "Azure warm-up:  pings /, accepts any status (none set)" in log.stdout
    error = log.errors[0]
    assert "slot did not respond to http ping. (ColdStartFailed) (HTTP 417)" in error
    assert error.index("(HTTP 417)") < error.index("Likely cause:") < error.index("Fix:")
    assert "WEBSITE_SWAP_WARMUP_PING_PATH" in error.split("Fix:")[1]
    assert emulator.serving(APP, "production") == "v1"
