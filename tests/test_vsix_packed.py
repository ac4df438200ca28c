"""The first job on a self-hosted agent, from the built .vsix: its packages unpacked, then a swap.

Only Linux x64 runs here, and its bundle ships unpacked (hosted agents start every job from a
fresh task folder). So these tests pack this machine's folders with the build's own packing
(tools/packed_bundle.py), in a copy of the installed task, and run the task as the agent does:
what a Linux arm64 or macOS agent does with the archive the .vsix ships for it.
"""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import vsix_harness as harness
from tests.conftest import StartEmulator
from tools import packed_bundle

_missing = harness.missing_tools()
pytestmark = [
    pytest.mark.skipif(_missing is not None, reason=_missing or ""),
    pytest.mark.skipif(sysconfig.get_platform() != "linux-x86_64", reason="the bundle runs here"),
]
APP, GROUP = "contoso-web", "rg-swap-demo"
SWAP = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}
THIS_MACHINE = "linux_x86_64"
UNPACKED = "Unpacked this agent's Python packages (linux_x86_64) into the task folder in "


def link_or_copy(source: str, target: str) -> None:
    """Hard links, except the index, which packing rewrites (a link would rewrite the original)."""
    if Path(source).name == "index.json":
        shutil.copyfile(source, target)
    else:
        os.link(source, target)


@pytest.fixture
def packed_task(task: harness.InstalledTask, tmp_path: Path) -> harness.InstalledTask:
    """The installed task with this machine's own folders packed, as Linux arm64's are."""
    copy = tmp_path / "task"
    shutil.copytree(task.task_dir, copy, copy_function=link_or_copy)
    lib = copy / "python" / "lib"
    index = json.loads((lib / "index.json").read_text(encoding="utf-8"))
    packed_bundle.pack(lib, index, [THIS_MACHINE], archive=f"packed-{THIS_MACHINE}.tar.xz")
    return harness.InstalledTask(copy, task.manifest)


def own_folders(task: harness.InstalledTask) -> list[Path]:
    lib = task.task_dir / "python" / "lib"
    return [lib / f for f in sorted(os.listdir(lib)) if f.endswith(THIS_MACHINE)]


@pytest.fixture
def python_bin(tmp_path: Path) -> Path:
    return harness.stdlib_python(tmp_path / "venv")


def test_the_first_job_unpacks_the_packages_then_swaps_and_the_next_uses_them(
    start_emulator: StartEmulator,
    packed_task: harness.InstalledTask,
    python_bin: Path,
    tmp_path: Path,
) -> None:
    assert own_folders(packed_task) == []
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")
    first_work, second_work = tmp_path / "job1", tmp_path / "job2"
    env = harness.emulator_environment(packed_task, emulator.info, SWAP, first_work, [python_bin])

    first = harness.run(packed_task, env, first_work)

    assert first.exit_code == 0 and first.result == "Succeeded", first.text
    assert UNPACKED in first.stdout and "Installing" not in first.stdout
    assert emulator.serving(APP, "production") == "v2"
    # Only what this Python needs: cryptography, and cffi's backend built for it.
    assert len(own_folders(packed_task)) == 2

    emulator.deploy(APP, "staging", "v3")
    env = harness.emulator_environment(packed_task, emulator.info, SWAP, second_work, [python_bin])
    second = harness.run(packed_task, env, second_work)

    assert second.exit_code == 0 and second.result == "Succeeded", second.text
    assert "Unpacked" not in second.stdout
    assert emulator.serving(APP, "production") == "v3"


def test_two_first_jobs_at_once_on_one_agent_both_swap(
    start_emulator: StartEmulator,
    packed_task: harness.InstalledTask,
    python_bin: Path,
    tmp_path: Path,
) -> None:
    emulators = [start_emulator("--swap-seconds", "0.3") for _ in range(2)]  # one per job
    for emulator in emulators:
        emulator.deploy(APP, "staging", "v2")

    def job(number: int) -> harness.AgentLog:
        work = tmp_path / f"job{number}"
        info = emulators[number].info
        env = harness.emulator_environment(packed_task, info, SWAP, work, [python_bin])
        return harness.run(packed_task, env, work)

    with ThreadPoolExecutor(2) as pool:
        logs = list(pool.map(job, range(2)))

    # Both start from missing folders; each unpacks or finds the other's, and both run.
    assert all(log.exit_code == 0 for log in logs), [log.text for log in logs]
    assert any(UNPACKED in log.stdout for log in logs)
    assert [e.serving(APP, "production") for e in emulators] == ["v2", "v2"]
    assert len(own_folders(packed_task)) == 2
    assert not [p for p in (packed_task.task_dir / "python" / "lib").iterdir() if p.name[0] == "."]
