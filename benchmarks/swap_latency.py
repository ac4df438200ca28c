"""How soon does the task notice that Azure finished the swap? Prints medians; not a test.

With a 3 s server-side swap and no `Retry-After` header, the time from the operation's end (as
the emulator records it) to the task's exit (target <= 2 s; the SDK's default 30 s poll interval
notices it up to 30 s late). The whole swap, cold and warm, is `benchmarks.cold_swap`.

Usage: python -m benchmarks.swap_latency [--runs 7] [--sdk-reference-without-retry-after]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.cold_swap import SDK_SCRIPT
from runner.agent.local_agent import agent_environment, run_task
from runner.emulator.process import Emulator, start_emulator

APP, GROUP = "contoso-web", "rg-swap-demo"


def swap_once(emulator: Emulator, work: Path) -> float:
    """Runs the task once; returns the wall-clock time (time.time()) at which it exited."""
    inputs = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}
    env = agent_environment(emulator.info, inputs, work)
    log = run_task(env, work)
    ended = time.time()
    if log.exit_code != 0:
        raise SystemExit(f"the task failed:\n{log.text}")
    return ended


def run_sdk(emulator: Emulator) -> float:
    info = emulator.info
    args = [info[k] for k in ("url", "tenant_id", "client_id", "client_secret")]
    args += [info["subscription_id"], info["arm_audience"]]
    env = {"REQUESTS_CA_BUNDLE": info["ca_cert"], "PATH": ""}
    subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT, *args], env=env, check=True, stdin=subprocess.DEVNULL
    )
    return time.time()


def notice_lag(emulator: Emulator, ended: float) -> float:
    last = emulator.operations()[-1]
    return ended - float(last["finished_at"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--sdk-reference-without-retry-after",
        action="store_true",
        help="also time the SDK with no Retry-After (about 30 s a run)",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        with start_emulator(work / "b", "--swap-seconds", "3", "--retry-after", "none") as emu:
            lags = [notice_lag(emu, swap_once(emu, work)) for _ in range(options.runs)]
            sdk_lags = (
                [notice_lag(emu, run_sdk(emu)) for _ in range(2)]
                if options.sdk_reference_without_retry_after
                else []
            )
    print("\n3 s swap, no Retry-After — operation end to exit (target <= 2 s)")
    _row("swap-slots task", lags)
    if sdk_lags:
        _row("azure-mgmt-web SDK", sdk_lags)


def _row(name: str, values: list[float]) -> None:
    runs = ", ".join(f"{v:.3f}" for v in values)
    print(f"  {name:18}  median {statistics.median(values):6.3f} s   runs: {runs}")


if __name__ == "__main__":
    main()
