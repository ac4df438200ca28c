"""How fast a bad canary is stopped, end to end. Prints medians; not a test.

A version failing 20 % of its requests (`flaky:20`) passes the health gate; the task, run as the
agent runs it, routes 10 % of production's user traffic (200 new clients a second) to it in
2-second steps (metrics minutes of 0.25 s). Figures, from the moments the task's log lines arrive
and the emulator's own state (polled every 20 ms):

- step start -> the step's verdict (target: within one step + 2 s);
- the verdict -> the rule gone from production's config (target: within 1 s);
- the requests the step was judged on (user requests in Azure Monitor's published minutes,
  and the task's probes of the slot).

Usage: python -m benchmarks.canary [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from runner.agent.local_agent import agent_environment, start_task
from runner.emulator.process import Emulator, start_emulator

APP = "contoso-web"
STEP_SECONDS = 2.0
CLIENTS_A_SECOND = 200


def rules(emulator: Emulator) -> list[Any]:
    config = emulator.control(
        "POST", "config", {"app": APP, "slot": "production", "properties": {}}
    )
    return list((config["production"].get("experiments") or {}).get("rampUpRules") or [])


def one_run(work: Path) -> tuple[float, float, int]:
    with start_emulator(work / "emulator", "--metrics-minute-seconds", "0.25") as emulator:
        emulator.deploy(APP, "staging", "v2", health="flaky:20")
        traffic = {"app": APP, "rate": CLIENTS_A_SECOND, "seconds": 30}
        emulator.control("POST", "traffic", traffic)
        inputs = {
            "WebAppName": APP,
            "SourceSlot": "staging",
            "HealthCheckPath": "/health",
            "HealthyAfter": "1",
            "TrafficSteps": "10,50",
            "TrafficStepMinutes": str(STEP_SECONDS / 60),
            "MinRequests": "5",
        }
        task_dir = work / "task"
        task_dir.mkdir()
        task = start_task(agent_environment(emulator.info, inputs, task_dir), task_dir)
        assert task.stdout is not None
        seen_rule = threading.Event()
        gone_at: list[float] = []

        def watch() -> None:
            while task.poll() is None or not gone_at:
                present = bool(rules(emulator))
                if present:
                    seen_rule.set()
                elif seen_rule.is_set():
                    gone_at.append(time.monotonic())
                    return
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = decided = 0.0
        requests = 0
        for line in task.stdout:
            if line.startswith("Routing 10 %"):
                started = time.monotonic()
            line = line.replace("%AZP25", "%")  # a warning's text, as the agent decodes it
            if "Step at 10 %: failed" in line:
                decided = time.monotonic()
                judged = re.search(
                    r"'staging' 5xx [\d.]+ % of (\d+) user requests, \d+ of (\d+) probes", line
                )
                requests = int(judged.group(1)) + int(judged.group(2)) if judged else 0
        task.wait()
        watcher.join(timeout=5)
        if not (started and decided and gone_at):
            raise SystemExit("the canary was not stopped at 10 %")
        return decided - started, gone_at[0] - decided, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    stopped, removed, judged = [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as work:
            step, gone, requests = one_run(Path(work))
        stopped.append(step)
        removed.append(gone)
        judged.append(requests)
        print(
            f"run {run + 1}: verdict {step:.2f} s after the step began, on {requests} requests "
            f"to the slot; rule gone {gone:.2f} s later"
        )
    step = statistics.median(stopped)
    gone = statistics.median(removed)
    print(
        f"Bad canary (20 % errors), {STEP_SECONDS:g} s steps, {CLIENTS_A_SECOND} new clients a "
        f"second: stopped {step:.2f} s after the step began (target <= {STEP_SECONDS + 2:g} s), "
        f"judged on {statistics.median(judged):g} requests; rule gone {gone:.2f} s after the "
        f"verdict (target <= 1 s); medians of {args.runs}"
    )


if __name__ == "__main__":
    main()
