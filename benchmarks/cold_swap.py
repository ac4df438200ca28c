"""The whole swap as a hosted agent runs it, cold, next to the alternatives, in one interleaved run.

A Microsoft-hosted agent is a fresh machine for every job: it unpacks the task and runs it with
no bytecode of its own making. Each figure is process start to exit, against the emulator with a
3 s server-side swap and `Retry-After: 1`, the task run from the built .vsix by node with a
standard-library-only Python (as the agent runs it):

  floor            a bare urllib script: token, swap POST, polls (nothing to import)
  ours, warm       the task folder run once before (bytecode written by that run)
  ours, cold       the task folder freshly unpacked from the .vsix for this run
  azure-mgmt-web   a script with the SDK's defaults (its packages compiled by pip at install)
  Microsoft's task AzureAppServiceManage@0, Swap Slots, when SWAP_SLOTS_MS_TASK_DIR names a
                   built copy of it (see tests/test_emulator_ms_task.py), run as the agent runs it

    python -m benchmarks.cold_swap [--runs 7] [--vsix build/vsix/x.vsix] [--arm-latency 0.1]
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
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

from runner.emulator.process import Emulator, start_emulator
from tests import vsix_harness as harness

APP, GROUP = "contoso-web", "rg-swap-demo"
SWAP = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}
MUST_LEAD_SECONDS = 0.05  # the cold task must beat the SDK script by this much
AIM_OVER_FLOOR_SECONDS = 0.15

FLOOR_SCRIPT = """
import json, ssl, sys, time, urllib.parse, urllib.request
url, tenant, client, secret, sub, audience, ca = sys.argv[1:8]
context = ssl.create_default_context(cafile=ca)
def call(method, address, data=None, headers=None):
    request = urllib.request.Request(address, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, context=context) as response:
        return response.status, dict(response.headers), response.read()
form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client,
    "client_secret": secret, "scope": audience.rstrip("/") + "/.default"}).encode()
token = json.loads(call("POST", f"{url}{tenant}/oauth2/v2.0/token", form)[2])["access_token"]
auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
site = f"{url}subscriptions/{sub}/resourceGroups/rg-swap-demo/providers/Microsoft.Web/sites/"
body = json.dumps({"targetSlot": "staging", "preserveVnet": False}).encode()
status, headers, _ = call("POST", site + "contoso-web/slotsswap?api-version=2025-05-01", body, auth)
location = headers.get("Location")
while status == 202:
    time.sleep(float(headers.get("Retry-After", 1)))
    status, headers, _ = call("GET", location, None, auth)
"""

SDK_SCRIPT = """
import sys
from azure.identity import ClientSecretCredential
from azure.mgmt.web import WebSiteManagementClient
url, tenant, client, secret, sub, audience = sys.argv[1:7]
credential = ClientSecretCredential(tenant, client, secret, authority=url,
                                    disable_instance_discovery=True)
client = WebSiteManagementClient(credential, sub, base_url=url,
                                 credential_scopes=[audience.rstrip("/") + "/.default"])
client.web_apps.begin_swap_slot_with_production(
    "rg-swap-demo", "contoso-web", {"targetSlot": "staging", "preserveVnet": False}).result()
"""


class Contestants:
    """Everything that swaps, each as a callable that swaps once and returns its seconds."""

    def __init__(self, emulator: Emulator, vsix: Path, scratch: Path) -> None:
        self.emulator = emulator
        self.scratch = scratch
        self.pristine = harness.install(vsix, scratch / "extension")
        self.python_bin = harness.stdlib_python(scratch / "python")
        self.warm = self.fresh_task("warm")
        self.copies = 0

    def fresh_task(self, name: str) -> harness.InstalledTask:
        """The task folder as the agent unpacks it: a new copy, no bytecode of its own."""
        copy = self.scratch / f"task-{name}"
        shutil.copytree(self.pristine.task_dir, copy, copy_function=os.link)
        return harness.InstalledTask(copy, self.pristine.manifest)

    def run_task(self, task: harness.InstalledTask) -> float:
        work = self.scratch / f"work-{time.monotonic_ns()}"
        work.mkdir()
        env = harness.emulator_environment(task, self.emulator.info, SWAP, work, [self.python_bin])
        started = time.perf_counter()
        log = harness.run(task, env, work)
        seconds = time.perf_counter() - started
        if log.exit_code != 0:
            raise SystemExit(f"the task failed:\n{log.text}\n{log.stderr}")
        return seconds

    def ours_warm(self) -> float:
        return self.run_task(self.warm)

    def ours_cold(self) -> float:
        self.copies += 1
        return self.run_task(self.fresh_task(f"cold-{self.copies}"))

    def script(self, python: str, text: str, extra: list[str], env: Mapping[str, str]) -> float:
        info = self.emulator.info
        args = [info[k] for k in ("url", "tenant_id", "client_id", "client_secret")]
        args += [info["subscription_id"], info["arm_audience"], *extra]
        started = time.perf_counter()
        subprocess.run(
            [python, "-c", text, *args], env=dict(env), check=True, stdin=subprocess.DEVNULL
        )
        return time.perf_counter() - started

    def floor(self) -> float:
        python = str(self.python_bin / "python")
        return self.script(python, FLOOR_SCRIPT, [self.emulator.ca_cert], {"PATH": ""})

    def sdk(self) -> float:
        env = {"REQUESTS_CA_BUNDLE": self.emulator.ca_cert, "PATH": ""}
        return self.script(sys.executable, SDK_SCRIPT, [], env)

    def microsoft_task(self, folder: Path) -> Callable[[], float]:
        from tests.ms_task_agent import MsTask, run_step

        task = MsTask(folder)
        node = harness.node()
        assert node, "node is needed to run Microsoft's task"
        step = {"Action": "Swap Slots", **SWAP, "SwapWithProduction": "true"}

        def run() -> float:
            work = self.scratch / f"ms-{time.monotonic_ns()}"
            started = time.perf_counter()
            log = run_step(task, node, self.emulator.info, work, step)
            seconds = time.perf_counter() - started
            if log.exit_code != 0 or set(log.results) - {"Succeeded"}:
                raise SystemExit(f"Microsoft's task failed:\n{log.text}")
            return seconds

        return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--vsix", type=Path, help="a built .vsix (default: build it now)")
    parser.add_argument(
        "--arm-latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="each ARM answer waits this long, as a round trip to Azure from an agent (0)",
    )
    options = parser.parse_args()
    vsix = options.vsix or harness.build_vsix()
    print(f"{vsix.name}: {vsix.stat().st_size / 1e6:.1f} MB ({vsix.stat().st_size} bytes)")
    with tempfile.TemporaryDirectory() as temp:
        scratch = Path(temp)
        settings = ["--swap-seconds", "3", "--retry-after", "1"]
        settings += ["--arm-latency", str(options.arm_latency)]
        with start_emulator(scratch / "emulator", *settings) as e:
            runners = Contestants(e, vsix, scratch)
            rows: dict[str, Callable[[], float]] = {
                "a bare urllib script (token, POST, polls): the floor": runners.floor,
                "SwapSlots from the .vsix, warm (bytecode from an earlier run)": runners.ours_warm,
                "SwapSlots from the .vsix, cold (freshly unpacked task folder)": runners.ours_cold,
                "an azure-mgmt-web script with SDK defaults": runners.sdk,
            }
            ms_folder = os.environ.get("SWAP_SLOTS_MS_TASK_DIR")
            if ms_folder:
                rows["Microsoft's AzureAppServiceManage@0, Swap Slots (node)"] = (
                    runners.microsoft_task(Path(ms_folder))
                )
            for run in rows.values():  # once each, untimed: the emulator and the OS caches
                run()
            times: dict[str, list[float]] = {name: [] for name in rows}
            for _ in range(options.runs):  # interleaved: drift in the machine's load hits all
                for name, run in rows.items():
                    times[name].append(run())
    report(times, options.runs, options.arm_latency)
    return 0


def report(times: dict[str, list[float]], runs: int, arm_latency: float) -> None:
    version = ".".join(map(str, sys.version_info[:3]))
    latency = f", {arm_latency:g} s per ARM answer" if arm_latency else ""
    print(
        f"\n3 s server-side swap, Retry-After: 1{latency}, process start to exit; Python "
        f"{version}; {runs} interleaved runs, medians:\n"
    )
    print(f"| {'':64} | seconds | runs |")
    print(f"|{'-' * 66}|---------|------|")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {name:64} | {medians[name]:7.3f} | {spread} |")
    names = list(times)
    floor, warm, cold, sdk = (medians[n] for n in names[:4])
    lead = sdk - cold
    verdict = "met" if lead >= MUST_LEAD_SECONDS else "MISSED"
    print(
        f"\nmust: cold {cold:.3f} s is {lead:+.3f} s ahead of the SDK script (>= 0.05): {verdict}"
    )
    over = cold - floor
    aim = "met" if over <= AIM_OVER_FLOOR_SECONDS else "not met"
    print(f"aim:  cold is {over:+.3f} s over the floor (<= {AIM_OVER_FLOOR_SECONDS}): {aim}")
    print(f"cold - warm: {cold - warm:+.3f} s")


if __name__ == "__main__":
    sys.exit(main())
