"""`make demo`: releases on the local App Service emulator, no Azure subscription needed.

Part 1 starts the emulator, deploys v2 to staging, runs the Swap Slots task exactly as the Azure
Pipelines agent would (its environment, its service connection, its log), shows which version
each slot serves before and after, and stops everything. Part 2 shows the safety checks: the
health gate stops a broken build before any swap, and a build that is healthy in staging but
fails in production is swapped back on its own. Part 3 plays the deploy -> test -> swap stage
template twice: a healthy version is swapped in; an unhealthy one stops at Test. Part 4 plays
a canary twice, with user traffic: a version failing 20 % of its requests is stopped at 10 %,
a good one goes through 10 % and 50 % and is swapped in.

Each part's releases are also written as a report page with their pictures (the results tab's),
build/demo/part-<n>.html, and the demo says where.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from runner.agent.local_agent import agent_environment, parse_command, start_task
from runner.emulator.process import Emulator, start_emulator
from runner.rehearse import rehearse_on_emulator
from runner.report.document import REPORT_KIND
from runner.report.page import write_report_page

APP = "contoso-web"
GROUP = "rg-swap-demo"
PAGES = Path("build") / "demo"
Reports = list[dict[str, Any]]


def run_demo() -> int:
    say("Part 1: one Swap Slots step")
    swapped = swap_one_step()
    say("Part 2: the health gate and the automatic swap back")
    safe = safety_checks()
    say("Part 3: the deploy -> test -> swap stage template, played twice")
    with tempfile.TemporaryDirectory(prefix="swap-slots-rehearsal-") as temp:
        rehearsed = rehearse_on_emulator(Path(temp), lambda text: print("  " + text, flush=True))
        write_pages(3, "the stage template", attached_in(Path(temp)))
    say("Part 4: a canary, with user traffic: 10 % then 50 % of production's traffic first")
    canaried = canary()
    ok = swapped and safe and rehearsed and canaried
    say("Demo complete." if ok else "The demo did not end as expected.")
    return 0 if ok else 1


CHECKS = {"HealthCheckPath": "/health", "HealthCheckTimeoutInMinutes": "0.05", "HealthyAfter": "2"}


def safety_checks() -> bool:
    with tempfile.TemporaryDirectory(prefix="swap-slots-demo-") as temp:
        work = Path(temp)
        args = ("--swap-seconds", "1", "--health-check-path", "/health")
        with start_emulator(work / "emulator", *args) as emulator:
            info = emulator.info
            inputs = {
                "azureSubscription": info["service_connection_id"],
                "WebAppName": APP,
                "ResourceGroupName": GROUP,
                "SourceSlot": "staging",
                **CHECKS,
            }
            say("Deploying v2 to staging, a build that fails its health check...")
            emulator.deploy(APP, "staging", "v2", health="unhealthy")
            reports: Reports = []
            say("Running the task with HealthCheckPath: /health:")
            env = agent_environment(info, inputs, work / "a1")
            gate = run_task_streaming(env, work / "a1", reports)
            stopped = gate != 0 and not emulator.operations()
            show_slots(emulator, "After the gate")
            say("Deploying v3 to staging: healthy there, but it needs staging's slot setting...")
            emulator.deploy(APP, "staging", "v3", health="needs-setting:SLOT_NAME=staging")
            inputs["ExpectedVersion"] = "v3"
            say("Running the task with ExpectedVersion: v3 (RollbackOnFailure is on by default):")
            run_task_streaming(agent_environment(info, inputs, work / "a2"), work / "a2", reports)
            show_slots(emulator, "After the swap back")
            rolled_back = emulator.serving(APP, "production") == "v1"
    write_pages(2, "the health gate and the swap back", reports)
    ok = stopped and rolled_back
    say(
        "The broken build never reached production; the one that failed there was swapped back."
        if ok
        else "Part 2 did not end as expected."
    )
    return ok


def canary() -> bool:
    with tempfile.TemporaryDirectory(prefix="swap-slots-demo-") as temp:
        work = Path(temp)
        # Metrics minutes of a quarter second, so that 2-second steps have metrics to judge.
        args = ("--swap-seconds", "1", "--metrics-minute-seconds", "0.25")
        with start_emulator(work / "emulator", *args) as emulator:
            info = emulator.info
            inputs = {
                "azureSubscription": info["service_connection_id"],
                "WebAppName": APP,
                "ResourceGroupName": GROUP,
                "SourceSlot": "staging",
                "HealthCheckPath": "/health",
                "HealthyAfter": "1",
                "TrafficSteps": "10,50",
                "TrafficStepMinutes": str(2 / 60),
                "MinRequests": "10",
            }
            say("User traffic: 200 new clients a second on production, for 30 s.")
            emulator.control("POST", "traffic", {"app": APP, "rate": 200, "seconds": 30})
            say("Deploying v2 to staging: healthy at first sight, but it fails 20 % of requests...")
            emulator.deploy(APP, "staging", "v2", health="flaky:20")
            reports: Reports = []
            say("Running the task with TrafficSteps: 10,50 (2-second steps):")
            run_task_streaming(agent_environment(info, inputs, work / "c1"), work / "c1", reports)
            show_slots(emulator, "After the canary")
            stopped = emulator.serving(APP, "production") == "v1"
            say("Deploying v3 to staging, a good build...")
            emulator.deploy(APP, "staging", "v3")
            run_task_streaming(agent_environment(info, inputs, work / "c2"), work / "c2", reports)
            show_slots(emulator, "After the canary and the swap")
            through = emulator.serving(APP, "production") == "v3"
    write_pages(4, "the canary", reports)
    ok = stopped and through
    say(
        "The flaky build served a few users at 10 % and was stopped; the good one went through."
        if ok
        else "Part 4 did not end as expected."
    )
    return ok


def swap_one_step() -> bool:
    with tempfile.TemporaryDirectory(prefix="swap-slots-demo-") as temp:
        work = Path(temp)
        with start_emulator(work / "emulator") as emulator:
            info = emulator.info
            say(f"Local App Service emulator running at {info['url']}")
            show_slots(emulator, "Before the release")
            say("Deploying v2 to the staging slot (as AzureWebApp@1 would)...")
            emulator.deploy(APP, "staging", "v2")
            show_slots(emulator, "After the deployment")
            say("Running the Swap Slots task as the Azure Pipelines agent would:")
            inputs = {
                "azureSubscription": info["service_connection_id"],
                "WebAppName": APP,
                "ResourceGroupName": GROUP,
                "SourceSlot": "staging",
            }
            env = agent_environment(info, inputs, work / "agent")
            reports: Reports = []
            code = run_task_streaming(env, work / "agent", reports)
            show_slots(emulator, "After the swap")
            production = emulator.serving(APP, "production")
            staging = emulator.serving(APP, "staging")
    write_pages(1, "one Swap Slots step", reports)
    ok = code == 0 and production == "v2" and staging == "v1"
    say(
        "Production serves v2 and staging keeps v1, ready to swap back."
        if ok
        else f"Part 1 did not end as expected (task exit code {code})."
    )
    return ok


def run_task_streaming(env: dict[str, str], work: Path, reports: Reports) -> int:
    """Runs `python -m runner` and shows its log, commands rendered as the web UI would; the
    report it attaches joins `reports`."""
    process = start_task(env, work)
    assert process.stdout is not None
    for line in process.stdout:
        command = parse_command(line.rstrip("\n"))
        if command is not None and command.name == "task.addattachment":
            reports.append(json.loads(Path(command.data).read_text(encoding="utf-8")))
        shown = render(line.rstrip("\n"))
        if shown is not None:
            print("  | " + shown, flush=True)
    return process.wait()


def attached_in(work: Path) -> Reports:
    """The reports the task attached in the agent folders under `work`, oldest first."""
    found = []
    for path in sorted(work.rglob("_temp/*.json"), key=lambda p: p.stat().st_mtime):
        report = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(report, dict) and report.get("kind") == REPORT_KIND:
            found.append(report)
    return found


def write_pages(part: int, title: str, reports: Reports) -> None:
    page = PAGES / f"part-{part}.html"
    write_report_page(page, reports, f"Swap Slots demo, part {part}: {title}")
    say(f"Report of part {part}, with its pictures: {page}")


def render(line: str) -> Optional[str]:
    command = parse_command(line)
    if command is None:
        if line.startswith("##[group]"):
            return "> " + line[len("##[group]") :]
        return None if line.startswith("##[endgroup]") else line
    if command.name == "task.logissue":
        return f"{command.properties.get('type', 'issue').upper()}: {command.data}"
    if command.name == "task.complete":
        return f"Result: {command.properties.get('result')}"
    if command.name == "task.setvariable":
        return f"Output {command.properties.get('variable')} = {command.data}"
    return None  # setsecret, progress, summary: not shown in the log view


def show_slots(emulator: Emulator, title: str) -> None:
    production = emulator.serving(APP, "production")
    staging = emulator.serving(APP, "staging")
    say(f"{title}: production serves {production}, staging serves {staging}")


def say(text: str) -> None:
    print(f"== {text}", flush=True)


if __name__ == "__main__":
    sys.exit(run_demo())
