"""A few cells of benchmarks.canary_judge run end to end: the task, run as the agent runs it,
against the emulator with user traffic, in compressed time; and the simulation of the same
cells with the same timing, to show that the simulation behaves as the task does. Prints a
table; not a test.

Time is compressed 25 times: each step lasts 12 s and a metrics minute 2.4 s (so a step is 5
metrics minutes, as in a 5-minute step), published one minute late. Users: 40 new clients a
second, one request each; the emulator's versions fail at random (`--base-error-percent`,
`error_percent`) or answer slower (`slower_ms`).

Usage: python -m benchmarks.canary_end_to_end [--runs 3] [--releases 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks.canary_judge import Cell, Outcome, Release, run_new
from runner.agent.local_agent import AgentLog, agent_environment, start_task
from runner.emulator.process import Emulator, start_emulator
from runner.request import Tolerance

APP = "contoso-web"
STEP_SECONDS = 12.0
MINUTE_SECONDS = 2.4
CLIENTS_A_SECOND = 40.0
# A 12 s step has 60 probes of the slot (one each 0.2 s) and a few dozen user requests: the
# default 100 would be too little evidence here, though never in a 5-minute step.
MIN_REQUESTS = 50


class EndToEndCell(NamedTuple):
    cell: Cell
    base_percent: float
    staging: dict[str, Any]  # deploy options of the new version
    production: dict[str, Any]  # deploy options of the old one


CELLS = (
    EndToEndCell(Cell(0.02, CLIENTS_A_SECOND, "same", 0.0, 1.0), 2.0, {}, {}),
    EndToEndCell(
        Cell(0.02, CLIENTS_A_SECOND, "+30 pt", 0.30, 1.0), 2.0, {"error_percent": 32.0}, {}
    ),
    EndToEndCell(
        Cell(0.0, CLIENTS_A_SECOND, "x3", 0.0, 3.0),
        0.0,
        {"slower_ms": 180.0},
        {"slower_ms": 60.0},
    ),
)


def rules(emulator: Emulator) -> list[Any]:
    config = emulator.control(
        "POST", "config", {"app": APP, "slot": "production", "properties": {}}
    )
    return list((config["production"].get("experiments") or {}).get("rampUpRules") or [])


def one_run(cell: EndToEndCell, work: Path, seed: int) -> Outcome:
    options = [
        "--metrics-minute-seconds",
        str(MINUTE_SECONDS),
        "--base-error-percent",
        str(cell.base_percent),
        "--swap-seconds",
        "0.3",
        "--seed",
        str(seed),
    ]
    with start_emulator(work / "emulator", *options) as emulator:
        if cell.production:
            emulator.deploy(APP, "production", "v1", **cell.production)
        emulator.deploy(APP, "staging", "v2", **cell.staging)
        seconds = 2 * STEP_SECONDS + 20
        emulator.control(
            "POST", "traffic", {"app": APP, "rate": CLIENTS_A_SECOND, "seconds": seconds}
        )
        inputs = {
            "WebAppName": APP,
            "SourceSlot": "staging",
            "HealthCheckPath": "/",
            "HealthyAfter": "1",
            "TrafficSteps": "10,50",
            "TrafficStepMinutes": str(STEP_SECONDS / 60),
            "MinRequests": str(MIN_REQUESTS),
        }
        task_dir = work / "task"
        task_dir.mkdir()
        task = start_task(agent_environment(emulator.info, inputs, task_dir), task_dir)
        times: list[float] = []

        def watch() -> None:
            while task.poll() is None and len(times) < 2:
                present = bool(rules(emulator))
                if present != bool(times):  # the rule set, then removed
                    times.append(time.monotonic())
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        out, _ = task.communicate(timeout=300)
        watcher.join(timeout=5)
        log = AgentLog(out, "", task.returncode)
        stopped = log.outputs.get("SwapOutcome") == "CanaryFailed"
        removal = times[1] - times[0] if stopped and len(times) == 2 else None
        return Outcome(stopped, removal)


def simulated(cell: Cell, releases: int, seed: int) -> list[Outcome]:
    outcomes = []
    for number in range(releases):
        dice = random.Random(seed * 1_000_003 + number)
        release = Release(cell, dice, minute=MINUTE_SECONDS, delays=(1,))
        tolerance = Tolerance(min_requests=MIN_REQUESTS)
        outcomes.append(run_new(cell, 0, STEP_SECONDS, release, tolerance))
    return outcomes


def _describe(outcomes: list[Outcome]) -> str:
    stopped = sum(o.stopped for o in outcomes)
    times = [o.seconds for o in outcomes if o.seconds is not None]
    median = f", median {statistics.median(times):.1f} s to removal" if times else ""
    return f"stopped {stopped} of {len(outcomes)}{median}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=3, help="end-to-end runs a cell")
    parser.add_argument("--releases", type=int, default=200, help="simulated releases a cell")
    args = parser.parse_args()
    print(
        f"Canary 10 %, 50 %; {STEP_SECONDS:g} s steps, metrics minutes of {MINUTE_SECONDS:g} s "
        f"published a minute late, {CLIENTS_A_SECOND:g} users a second"
    )
    print()
    print("| 5xx before | change | the task on the emulator | the simulation |")
    print("|---|---|---|---|")
    for number, cell in enumerate(CELLS):
        runs: list[Outcome] = []
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as work:
                runs.append(one_run(cell, Path(work), seed=100 * number + run))
        model = simulated(cell.cell, args.releases, seed=number + 1)
        print(
            f"| {100 * cell.cell.base:g} % | {cell.cell.change} | {_describe(runs)} | "
            f"{_describe(model)} |"
        )


if __name__ == "__main__":
    main()
