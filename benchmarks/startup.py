"""Start-up of the task from the built .vsix: node launcher start -> the runner's first connection
to Azure, cold (no .pyc, as on an agent's first run of this task version) and warm (.pyc written
by an earlier run). Also prints the .vsix size. Budget: 1 s (median).

    python benchmarks/startup.py [--runs 7] [--vsix build/vsix/x.vsix]

"Azure" is a local TCP listener named as both the Resource Manager and the Entra endpoint: it
notes when the first connection arrives; what follows (TLS, the token request) is not measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.local_agent import connection_env  # noqa: E402
from tests import vsix_harness as harness  # noqa: E402

BUDGET_SECONDS = 1.0
CONNECTION_ID = "8d7c5a3e-1b2f-4c6d-9e0a-112233445566"
INPUTS = {
    "ConnectedServiceName": CONNECTION_ID,
    "WebAppName": "contoso-web",
    "ResourceGroupName": "rg-swap-demo",
    "SourceSlot": "staging",
}


class FirstConnection:
    """A listener that records the moment of its first accepted connection."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.arrived = threading.Event()
        self.at = 0.0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        connection, _ = self.server.accept()
        self.at = time.perf_counter()
        self.arrived.set()
        connection.close()

    def close(self) -> None:
        self.server.close()


def step_environment(
    work: Path, python_bin: Path, task: harness.InstalledTask, port: int
) -> dict[str, str]:
    url = f"https://127.0.0.1:{port}/"
    info = {
        "tenant_id": "72f988bf-0000-0000-0000-000000000001",
        "client_id": "app-id",
        "client_secret": "not-a-secret",
        "subscription_id": "00000000-0000-0000-0000-0000000000aa",
        "url": url,
        "arm_audience": url,
    }
    env = harness.bare_environment(work, [python_bin])
    env.update(connection_env(info, "secret", CONNECTION_ID))
    env.update(harness.input_variables(task.manifest, INPUTS))
    return env


def time_to_first_request(task: harness.InstalledTask, python_bin: Path, work: Path) -> float:
    listener = FirstConnection()
    env = step_environment(work, python_bin, task, listener.port)
    node = harness.node()
    assert node
    started = time.perf_counter()
    process = subprocess.Popen(
        [node, str(task.entry_point)],
        env=env,
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        if not listener.arrived.wait(60):
            raise RuntimeError("the task made no request within 60 s")
        return listener.at - started
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        listener.close()


def measure(
    task: harness.InstalledTask, python_bin: Path, scratch: Path, runs: int
) -> dict[str, list[float]]:
    cold: list[float] = []
    warm: list[float] = []
    for run in range(runs):
        # A fresh copy has no __pycache__: the agent's first run of this task version.
        copy = scratch / f"task-{run}"
        shutil.copytree(task.task_dir, copy, copy_function=os.link)
        fresh = harness.InstalledTask(copy, task.manifest)
        work = scratch / f"work-{run}"
        work.mkdir()
        cold.append(time_to_first_request(fresh, python_bin, work))
        warm.append(time_to_first_request(fresh, python_bin, work))
    return {"cold (no .pyc)": cold, "warm (.pyc present)": warm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--vsix", type=Path, help="a built .vsix (default: build it now)")
    args = parser.parse_args()
    vsix = args.vsix or harness.build_vsix()
    print(f"{vsix.name}: {vsix.stat().st_size / 1e6:.1f} MB ({vsix.stat().st_size} bytes)")
    with tempfile.TemporaryDirectory() as temp:
        scratch = Path(temp)
        task = harness.install(vsix, scratch / "extension")
        python_bin = harness.stdlib_python(scratch / "python")
        results = measure(task, python_bin, scratch, args.runs)
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"launcher start -> first request to Azure, Python {version}, {args.runs} runs:")
    worst = 0.0
    for name, times in results.items():
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"  {name:20} median {median:.3f} s  (min {min(times):.3f}, max {max(times):.3f})")
    print(f"budget {BUDGET_SECONDS:.1f} s: {'met' if worst <= BUDGET_SECONDS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
