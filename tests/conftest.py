"""Fixtures: the local App Service emulator as a real HTTPS server in its own process; the
extension built once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from filelock import FileLock

from runner.emulator.process import Emulator
from runner.emulator.process import start_emulator as start_emulator_process
from tests import vsix_harness as harness
from tools import node_runtimes

StartEmulator = Callable[..., Emulator]


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for every emulator of the run, so certificates are made once."""
    return tmp_path_factory.mktemp("emulator")


@pytest.fixture
def start_emulator(pki_dir: Path) -> Iterator[StartEmulator]:
    started: list[Emulator] = []

    def start(*args: str) -> Emulator:
        emulator = start_emulator_process(pki_dir, *args)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(start_emulator: StartEmulator) -> Emulator:
    """The default emulator: contoso-web (production + staging, both v1), 0.5 s swaps."""
    return start_emulator("--swap-seconds", "0.5")


MUTATING = ("POST", "PUT", "PATCH", "DELETE")
READ_ONLY_POSTS = ("/list", "/slotsdiffs", "/publishxml")


def mutating_calls(emulator: Emulator) -> list[dict[str, Any]]:
    """Requests that could have changed something in (emulated) Azure Resource Manager."""
    return [
        call
        for call in emulator.requests()
        if call["method"] in MUTATING
        and str(call["path"]).lower().startswith("/subscriptions/")
        and not str(call["path"]).lower().endswith(READ_ONLY_POSTS)
    ]


def reads_before_the_swaps(emulator: Emulator) -> list[dict[str, Any]]:
    """The ARM requests that arrived before the first swap was sent, in order of arrival."""
    arm = [r for r in emulator.requests() if str(r["path"]).startswith("/subscriptions/")]
    first_swap = min(r["time"] for r in arm if str(r["path"]).endswith("/slotsswap"))
    return sorted((r for r in arm if r["time"] < first_swap), key=lambda r: float(r["time"]))


def assert_refused_before_any_change(log: Any, emulator: Emulator, expected: str) -> None:
    """Bad input: one clear error naming it, NotStarted, and no mutating call reached Azure."""
    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    assert expected in log.errors[0] and "Nothing was changed in Azure" in log.errors[0]
    assert mutating_calls(emulator) == []


@pytest.fixture(scope="session")
def vsix(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """build/vsix/*.vsix, built once per test run (tools/build_vsix.py). Under pytest-xdist the
    first worker to ask builds it and the others wait for it: one build folder, one build."""
    if worker_id == "master":
        return harness.build_vsix()
    run_dir = tmp_path_factory.getbasetemp().parent  # shared by this run's workers only
    built = run_dir / "vsix-built"
    with FileLock(str(run_dir / "vsix.lock")):
        if not built.is_file():
            built.write_text(str(harness.build_vsix()), encoding="utf-8")
    return Path(built.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def task(vsix: Path, tmp_path_factory: pytest.TempPathFactory) -> harness.InstalledTask:
    """The task folder unpacked from the .vsix as the agent lays it out."""
    return harness.install(vsix, tmp_path_factory.mktemp("extension"))


def agent_node(version: str) -> str:
    """A node of `version`'s major version (tools/node_runtimes.py). Where it cannot be had the
    test is skipped, except in CI, whose machine must run every Node an agent runs."""
    try:
        return str(node_runtimes.runtime(version))
    except node_runtimes.NodeUnavailable as err:
        if os.environ.get("CI"):
            pytest.fail(f"Node {version}: {err}")
        pytest.skip(f"Node {version}: {err}")
