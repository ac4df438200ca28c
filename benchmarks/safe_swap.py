"""What the health gate and the swap back cost. Prints medians; not a test.

- Health gate: a healthy slot, `HealthyAfter` 3, probes 1 s apart (target <= 2.2 s): the gate
  as the task runs it, timed around the call.
- Rollback: from the log's "Verification failed" line to production serving the old version
  again, against the swap's own duration (target <= one swap + 1 s). The task runs as the agent
  runs it, on a build healthy in staging and failing in production, with 3 s swaps.
- Several apps: the task swapping 10 apps together (AdditionalWebApps), process start to exit,
  against the same task swapping one of them, runs interleaved on one emulator with 3 s swaps
  (target: 10 apps <= 1.2 x one app).

Usage: python -m benchmarks.safe_swap [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from runner.agent.local_agent import agent_environment, start_task
from runner.cancellation import Cancellation
from runner.emulator.process import Emulator, start_emulator
from runner.probes import SlotProbes
from runner.release.health_gate import HealthRules, wait_until_healthy
from runner.terminal.terminal_log import TerminalLog

APP = "contoso-web"
SWAP_SECONDS = 3.0


def gate_seconds(emulator: Emulator) -> float:
    os.environ["REQUESTS_CA_BUNDLE"] = emulator.ca_cert
    rules = HealthRules("/health", "HealthCheckPath", 3, 60.0, None)
    started = time.monotonic()
    log = TerminalLog(io.StringIO())  # the figure is the gate's time, not the printing's
    url = emulator.slot_url(APP, "staging")
    probes = SlotProbes(requests.Session())
    check = wait_until_healthy("gate", url, rules, Cancellation(), log, probes)
    seconds = time.monotonic() - started
    if not check.passed:
        raise SystemExit(f"the gate did not pass: {check.summary()}")
    return seconds


def rollback_seconds(emulator: Emulator, work: Path) -> tuple[float, float]:
    """Runs a release that must be swapped back; returns (verification failed -> production on
    the old version, the first swap's duration as the emulator ran it)."""
    emulator.deploy(APP, "staging", "v2", health="needs-setting:SLOT_NAME=staging")
    inputs = {
        "WebAppName": APP,
        "SourceSlot": "staging",
        "HealthCheckPath": "/health",
        "HealthCheckTimeoutInMinutes": "0.03",
        "HealthyAfter": "1",
    }
    task = start_task(agent_environment(emulator.info, inputs, work), work)
    assert task.stdout is not None
    failed_at: list[float] = []
    back_at: list[float] = []

    def watch_production() -> None:
        while not back_at and task.poll() is None:
            if failed_at and emulator.serving(APP, "production") == "v1":
                back_at.append(time.monotonic())
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_production, daemon=True)
    watcher.start()
    lines = []
    for line in task.stdout:
        lines.append(line)
        if line.startswith("Verification failed") and not failed_at:
            failed_at.append(time.monotonic())
    task.wait()
    watcher.join(5)
    if not (failed_at and back_at):
        raise SystemExit("the release was not swapped back:\n" + "".join(lines))
    first = emulator.operations()[0]
    swap = float(first["finished_at"]) - float(first["accepted_at"])
    return back_at[0] - failed_at[0], swap


SEVERAL = 10


def several_apps_seconds(emulator: Emulator, work: Path, count: int) -> tuple[float, float]:
    """The task swapping the first `count` apps together (no health checks: the swaps alone),
    process start to exit; and the emulator's span from the first swap accepted to the last
    one done."""
    names = [f"web-{number:02}" for number in range(SEVERAL)][:count]
    inputs = {"WebAppName": names[0], "SourceSlot": "staging"}
    if count > 1:
        inputs["AdditionalWebApps"] = "\n".join(names[1:])
    known = len(emulator.operations())
    started = time.monotonic()
    task = start_task(agent_environment(emulator.info, inputs, work), work)
    out, _ = task.communicate()
    seconds = time.monotonic() - started
    if task.returncode != 0:
        raise SystemExit(f"the swap of {count} apps failed:\n{out}")
    operations = emulator.operations()[known:]
    span = max(float(op["finished_at"]) for op in operations) - min(
        float(op["accepted_at"]) for op in operations
    )
    return seconds, span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        with start_emulator(work / "gate", "--health-check-path", "/health") as emulator:
            gates = [gate_seconds(emulator) for _ in range(runs)]
        rollbacks: list[float] = []
        swaps: list[float] = []
        for run in range(runs):
            args = ("--swap-seconds", str(SWAP_SECONDS), "--health-check-path", "/health")
            with start_emulator(work / "pki", *args) as emulator:
                back, swap = rollback_seconds(emulator, work / f"run{run}")
            rollbacks.append(back)
            swaps.append(swap)
        seeded = [arg for n in range(SEVERAL) for arg in ("--app", f"web-{n:02}:staging")]
        one: list[tuple[float, float]] = []
        many: list[tuple[float, float]] = []
        with start_emulator(work / "pki", "--swap-seconds", str(SWAP_SECONDS), *seeded) as em:
            for run in range(runs):
                one.append(several_apps_seconds(em, work / f"one{run}", 1))
                many.append(several_apps_seconds(em, work / f"many{run}", SEVERAL))
    print("\nHealth gate, healthy slot, HealthyAfter 3, 1 s between probes (target <= 2.2 s)")
    _row("gate", gates)
    swap = statistics.median(swaps)
    print(
        f"\nRollback: verification failed -> production on the old version "
        f"(target <= one swap + 1 s = {swap + 1:.1f} s)"
    )
    _row("swap back", rollbacks)
    _row("one swap", swaps)
    ratio = statistics.median(m[0] for m in many) / statistics.median(o[0] for o in one)
    print(
        f"\n{SEVERAL} apps swapped together vs one app, {SWAP_SECONDS:g} s swaps, the task's "
        f"whole run (target <= 1.2 x one app): {ratio:.2f} x"
    )
    _row("1 app", [o[0] for o in one])
    _row(f"{SEVERAL} apps", [m[0] for m in many])
    print("  in the emulator, first swap accepted -> last swap done:")
    _row("1 app", [o[1] for o in one])
    _row(f"{SEVERAL} apps", [m[1] for m in many])


def _row(name: str, values: list[float]) -> None:
    runs = ", ".join(f"{v:.3f}" for v in values)
    print(f"  {name:10}  median {statistics.median(values):6.3f} s   runs: {runs}")


if __name__ == "__main__":
    main()
