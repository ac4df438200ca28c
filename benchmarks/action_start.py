"""How fast the GitHub action starts on a fresh runner, and what its packages cost.

action.yml is a composite action: the runner fetches this repository, the action installs
action-requirements.txt with pip into a folder that actions/cache keeps per runner image, Python
and version, then runs `python -m runner.github.action`. This prints, against the emulator:

  install   pip install --target of the three packages (a cache miss: the first job, or a new
            version), from this machine's package index; a hosted runner reaches PyPI
  start     process start to the first request the action sends (the job's OIDC token), and to
            its first Resource Manager request: the action's own start-up, cold (the repository
            just fetched: no bytecode for runner/) and warm (bytecode from an earlier run)
  swap      process start to exit for a whole swap (1 s server-side swap, Retry-After: 1)

    python -m benchmarks.action_start [--runs 7] [--python python3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runner.emulator.process import Emulator, start_emulator
from tests.github_runner import action_environment

REPO = Path(__file__).resolve().parent.parent
APP = "contoso-web"


def install(python: str, target: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            *(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *(
                "--no-cache-dir",
                "--target",
                str(target),
                "-r",
                str(REPO / "action-requirements.txt"),
            ),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def fetched_copy(folder: Path) -> Path:
    """The repository's runner/ as the runner fetches it: sources only."""
    action = folder / "action"
    shutil.rmtree(action, ignore_errors=True)
    shutil.copytree(
        REPO / "runner", action / "runner", ignore=shutil.ignore_patterns("__pycache__")
    )
    return action


def one_run(
    python: str, emulator: Emulator, folder: Path, action: Path, packages: Path, run: int
) -> tuple[float, float, float]:
    step = folder / f"step-{run}"
    step.mkdir()
    env = action_environment(emulator.info, {"app-name": APP, "slot": "staging"}, step)
    env["PYTHONPATH"] = os.pathsep.join([str(action), str(packages)])
    started_wall, started = time.time(), time.monotonic()
    done = subprocess.run(
        [python, "-s", "-m", "runner.github.action"],
        env=env,
        cwd=step,
        capture_output=True,
        text=True,
        timeout=120,
    )
    total = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"the action failed:\n{done.stdout}\n{done.stderr}")
    calls = [c for c in emulator.requests(since=started_wall) if not c["path"].startswith("/_")]
    calls += [c for c in emulator.requests(since=started_wall) if "/idtoken" in c["path"]]
    first = min(float(c["time"]) for c in calls) - started_wall
    arm = [c for c in calls if str(c["path"]).lower().startswith("/subscriptions/")]
    first_arm = min(float(c["time"]) for c in arm) - started_wall
    return first, first_arm, total


def _runner_python() -> str:
    """The python3 on PATH, as action.yml finds it (resolved past shims such as pyenv's)."""
    found = shutil.which("python3") or sys.executable
    asked = [found, "-c", "import sys; print(sys.executable)"]
    return subprocess.run(asked, capture_output=True, text=True, check=True).stdout.strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=_runner_python())
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="swap-slots-action-") as temp:
        folder = Path(temp)
        packages = folder / "packages"
        installed = install(args.python, packages)
        print(f"install   pip install of action-requirements.txt: {installed:.2f} s")
        with start_emulator(folder / "emulator", "--swap-seconds", "1") as emulator:
            emulator.deploy(APP, "staging", "v2")
            figures: dict[str, list[tuple[float, float, float]]] = {"cold": [], "warm": []}
            for run in range(args.runs):
                # Interleaved, so both see the same machine load.
                action = fetched_copy(folder)
                figures["cold"].append(
                    one_run(args.python, emulator, folder, action, packages, run)
                )
                figures["warm"].append(
                    one_run(args.python, emulator, folder, action, packages, run + args.runs)
                )
        print(f"medians of {args.runs} runs, seconds from process start ({args.python}):")
        print("          first request   first ARM request   whole swap")
        for name, runs in figures.items():
            first, arm, total = (statistics.median(column) for column in zip(*runs))
            print(f"{name:8}  {first:13.2f}   {arm:17.2f}   {total:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
