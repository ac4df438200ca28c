"""Runs the task from the built .vsix the way the Azure Pipelines agent does.

The agent unpacks the extension's task folder, exports INPUT_* for every input declared in *that*
task.json (defaults first, trimmed, aliases already mapped to names), the connection's ENDPOINT_*
and the SYSTEM_*/AGENT_* variables, then runs `node <taskdir>/<handler target>` with cwd set to
the work folder and stdin closed. Python here is a bare venv with only the standard library, so
the task must get by on what the .vsix brings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from filelock import FileLock

from runner.agent.local_agent import AgentLog, agent_environment
from tests.agent_releases import AGENT_CURRENT, AgentRelease
from tools import node_runtimes

__all__ = [
    "AgentLog",
    "InstalledTask",
    "bare_environment",
    "build_vsix",
    "emulator_environment",
    "input_variables",
    "install",
    "missing_tools",
    "node",
    "node_modules",
    "run",
    "start",
    "stdlib_python",
]

ROOT = Path(__file__).resolve().parent.parent
TASK_CONTRIBUTION = "ms.vss-distributed-task.task"


def node() -> Optional[str]:
    return shutil.which("node")


def missing_tools() -> Optional[str]:
    """Why the .vsix cannot be built or run here, or None."""
    if node() is None:
        return "node is not on PATH: the task's launcher and tfx need Node.js 20 or later"
    if not (ROOT / "node_modules" / ".bin" / "tfx").exists() and shutil.which("npm") is None:
        return "npm is not on PATH and tfx-cli is not installed (npm ci)"
    return None


def node_modules() -> Path:
    """node_modules with every devDependency of package.json (tfx, acorn): `npm ci` if not."""
    folder = ROOT / "node_modules"
    wanted = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]
    (ROOT / "build").mkdir(exist_ok=True)
    # Test workers may get here together on a fresh clone: one `npm ci` at a time.
    with FileLock(str(ROOT / "build" / "npm-ci.lock")):
        if not all((folder / name / "package.json").is_file() for name in wanted):
            npm = shutil.which("npm")
            assert npm, "npm is needed to install the devDependencies of package.json"
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, capture_output=True
            )
    return folder


def build_vsix() -> Path:
    """`npm ci` when a devDependency is missing, then tools/build_vsix.py; returns the .vsix."""
    node_modules()
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_vsix.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, f"build failed:\n{run.stdout}\n{run.stderr}"
    (vsix,) = (ROOT / "build" / "vsix").glob("*.vsix")
    return vsix


@dataclass(frozen=True)
class InstalledTask:
    """The task folder as the agent lays it out from the extension."""

    task_dir: Path
    manifest: dict[str, Any]

    @property
    def entry_point(self) -> Path:
        """What today's agent runs (Node20_1, or Node24 with its knob on: the same target)."""
        return self.task_dir / AGENT_CURRENT.pick(self.manifest)[1]

    def command(self, agent: AgentRelease) -> list[str]:
        """`<agent's node for the handler it picks> <taskdir>/<target>`; TaskRefused if none."""
        _handler, target, node_version = agent.pick(self.manifest)
        return [str(node_runtimes.runtime(node_version)), str(self.task_dir / target)]


def install(vsix: Path, destination: Path) -> InstalledTask:
    """Unpacks the extension and finds its task through the contribution, as the service does."""
    with zipfile.ZipFile(vsix) as archive:
        archive.extractall(destination)
    extension = json.loads((destination / "extension.vsomanifest").read_text(encoding="utf-8"))
    (folder,) = [
        c["properties"]["name"]
        for c in extension["contributions"]
        if c["type"] == TASK_CONTRIBUTION
    ]
    task_dir = destination / folder
    manifest = json.loads((task_dir / "task.json").read_text(encoding="utf-8"))
    return InstalledTask(task_dir, manifest)


def stdlib_python(destination: Path, base: Optional[str] = None) -> Path:
    """A venv of `base` (default: this Python) without pip or any package; its folder for PATH."""
    python = base or str(getattr(sys, "_base_executable", sys.executable))
    if not (destination / "pyvenv.cfg").exists():
        subprocess.run(
            [python, "-m", "venv", "--without-pip", str(destination)],
            check=True,
            capture_output=True,
        )
    return destination / ("Scripts" if os.name == "nt" else "bin")


def input_variables(manifest: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, str]:
    """INPUT_* for every declared input: its default, then the step's value (aliases mapped)."""
    declared = manifest["inputs"]
    by_alias = {a.lower(): i["name"] for i in declared for a in i.get("aliases", [])}
    by_name = {i["name"].lower(): i["name"] for i in declared}
    env = {f"INPUT_{i['name'].upper()}": str(i.get("defaultValue", "")).strip() for i in declared}
    for key, value in values.items():
        name = by_alias.get(key.lower()) or by_name.get(key.lower(), key)
        env[f"INPUT_{name.upper()}"] = str(value).strip()
    return env


def bare_environment(work_dir: Path, path: list[Path]) -> dict[str, str]:
    """SYSTEM_*/AGENT_* of a job, PATH limited to `path` and the system folders."""
    (work_dir / "_temp").mkdir(parents=True, exist_ok=True)
    env = {k: os.environ[k] for k in ("SYSTEMROOT", "HOME", "LANG") if k in os.environ}
    env.update(
        PATH=os.pathsep.join([*(str(p) for p in path), os.defpath.lstrip(os.pathsep)]),
        TF_BUILD="True",
        AGENT_TEMPDIRECTORY=str(work_dir / "_temp"),
        AGENT_TOOLSDIRECTORY=str(work_dir / "_tool"),
        AGENT_WORKFOLDER=str(work_dir),
        SYSTEM_DEFAULTWORKINGDIRECTORY=str(work_dir),
    )
    return env


def emulator_environment(
    task: InstalledTask,
    info: Mapping[str, Any],
    inputs: Mapping[str, str],
    work_dir: Path,
    path: list[Path],
    scheme: str = "secret",
    debug: bool = False,
) -> dict[str, str]:
    """A step's environment for a connection to the emulator, inputs from the unpacked task."""
    env = {
        k: v
        for k, v in agent_environment(info, {}, work_dir, scheme=scheme, debug=debug).items()
        if not k.startswith("INPUT_")
    }
    env.update(bare_environment(work_dir, path))
    env.update(
        input_variables(
            task.manifest, {"ConnectedServiceName": info["service_connection_id"], **inputs}
        )
    )
    return env


def start(
    task: InstalledTask, env: Mapping[str, str], cwd: Path, agent: AgentRelease = AGENT_CURRENT
) -> subprocess.Popen[str]:
    """Starts the step as `agent` would: its node, the handler's target, stdin closed, stdout and
    stderr read by the caller."""
    return subprocess.Popen(
        task.command(agent),
        env=dict(env),
        cwd=str(cwd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def run(
    task: InstalledTask,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = 120,
    agent: AgentRelease = AGENT_CURRENT,
) -> AgentLog:
    process = start(task, env, cwd, agent)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return AgentLog(stdout, stderr, process.returncode)
