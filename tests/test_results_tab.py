"""Scenarios in a real browser: headless Chromium loads the "Swap Slots" tab inside a test host
page that plays Azure DevOps (the SDK's handshake, the build or the classic release stage, the
location of the REST API), and
the tab reads the reports the task attached from the emulator's Azure DevOps, as the service
serves them. Each kind of release is checked for what a person sees, in the light and the dark
theme; screenshots are kept under build/screenshots/. The terminal's standalone page is drawn by
the same renderer and checked the same way.

Needs Chromium (Debian's `chromium` package) and `npm ci` (playwright-core, esbuild).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from runner.agent.local_agent import AgentJob, AgentLog, start_task, upload_attachments
from runner.emulator.process import Emulator
from runner.emulator.process import start_emulator as start_emulator_process
from runner.report.page import report_page
from tests.agent import agent_environment, read_until, run_task

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SWAP_SLOTS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "screenshots"
FIXTURE = ROOT / "tests" / "fixtures" / "reports" / "canary-and-bake.json"
APP, OTHERS, GROUP = "contoso-web", ("web-eus", "web-sea"), "rg-swap-demo"
CHECKS = {"HealthCheckPath": "/health", "HealthCheckTimeoutInMinutes": "0.05", "HealthyAfter": "1"}
CANARY = {"TrafficSteps": "10,50", "TrafficStepMinutes": "0.04", "MinRequests": "5"}
CANARY.update(BakeMinutes="0.1")
THEMES = ("light", "dark")
PICTURES = {  # file, and the figure it shows (none: the first screenful)
    ("canary-run", "light"): ("tab-bake-light.jpg", "figure.ss-traffic >> nth=2"),
    ("rolled-back", "dark"): ("tab-rolled-back-dark.jpg", ""),
}
PROJECT_ID = "50000000-0000-4000-8000-000000000005"  # the emulator's project

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and (ROOT / "node_modules" / "playwright-core").is_dir())
    and not os.environ.get("SWAP_SLOTS_REQUIRE_BROWSER"),  # .ci/run: fail rather than skip
    reason="needs Chromium (apt-get install chromium) and npm ci",
)


# A report with only what every version has, and one from a later version with fields unknown
# here: both are drawn, the later one with a note.
OTHER_VERSIONS = [
    {
        "kind": "swap-slots-report",
        "version": 1,
        "outcome": "NotStarted",
        "message": "The health gate stopped the swap.",
        "apps": [{"app": "old-web", "outcome": "NotStarted", "sourceSlot": "staging"}],
    },
    {
        "kind": "swap-slots-report",
        "version": 2,
        "outcome": "Swapped",
        "message": "Swapped.",
        "startedAt": "2026-12-04T09:00:00.000Z",
        "endedAt": "2026-12-04T09:00:09.000Z",
        "timeline": [{"kind": "warm-up", "title": "Warm-up", "startedAt": None}],
        "apps": [
            {
                "app": "new-web",
                "outcome": "Swapped",
                "targetSlot": "production",
                "before": [{"slot": "production", "served": "v1", "version": "v1", "status": 200}],
                "after": [{"slot": "production", "served": "v2", "version": "v2", "status": 200}],
                "traffic": [{"kind": "canary-step", "percent": 5, "verdict": "passed"}],
                "somethingNew": {"x": 1},
            }
        ],
    },
]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def attach(emulator: Emulator, log: AgentLog, record: int) -> int:
    """A build whose job's step attached what `log` says, uploaded as the agent does."""
    build = emulator.control("POST", "devops/builds")
    job = AgentJob(build["planId"], build["timelineId"], f"4b6a2c58-0000-4000-8000-{record:012d}")
    assert upload_attachments(log, emulator.info, job), log.text
    return int(build["id"])


def attached_file(path: Path) -> AgentLog:
    """The log line a task prints to attach `path`."""
    line = f"##vso[task.addattachment type=swap-slots-report;name={path.name}]{path}"
    return AgentLog(line, "", 0)


def classic_release(emulator: Emulator, log: AgentLog) -> dict[str, Any]:
    """A classic release stage whose deployment's step attached what `log` says: the
    `releaseEnvironment` the tab's configuration carries there."""
    stage = emulator.control("POST", "devops/releases")
    job = AgentJob(stage["planId"], stage["timelineId"], "4b6a2c58-0000-4000-8000-0000000000e1")
    assert upload_attachments(log, emulator.info, job), log.text
    return {
        "releaseId": stage["releaseId"],
        "id": stage["environmentId"],
        "deploySteps": [
            {"attempt": stage["attempt"], "releaseDeployPhases": [{"runPlanId": stage["planId"]}]}
        ],
    }


def releases(emulator: Emulator, work: Path) -> dict[str, Any]:
    """One build per kind of release, each with the report its step attached; and a classic
    release stage with the first one's."""

    def step(name: str, **inputs: str) -> AgentLog:
        env = agent_environment(emulator.info, {**inputs, "SourceSlot": "staging"}, work / name)
        return run_task(env, work / name)

    builds: dict[str, Any] = {}
    emulator.deploy(APP, "staging", "v2")
    swapped = step("swapped", WebAppName=APP, **CHECKS, ExpectedVersion="v2")
    assert swapped.outputs["SwapOutcome"] == "Swapped", swapped.text
    builds["swapped"] = attach(emulator, swapped, 1)
    builds["classic-release"] = classic_release(emulator, swapped)

    emulator.deploy(APP, "staging", "v3", health="needs-setting:SLOT_NAME=staging")
    rolled_back = step("rolled-back", WebAppName=APP, **CHECKS, ExpectedVersion="v3")
    assert rolled_back.outputs["SwapOutcome"] == "RolledBack", rolled_back.text
    builds["rolled-back"] = attach(emulator, rolled_back, 2)

    emulator.deploy(APP, "staging", "v4", health="unhealthy")
    env = agent_environment(
        emulator.info,
        {"WebAppName": APP, "SourceSlot": "staging", **CHECKS, "HealthCheckTimeoutInMinutes": "1"},
        work / "canceled",
    )
    task = start_task(env, work / "canceled")
    early = read_until(task, "Waiting until")
    task.send_signal(signal.SIGINT)
    rest, _ = task.communicate(timeout=30)
    canceled = AgentLog(early + rest, "", task.returncode)
    assert canceled.outputs["SwapOutcome"] == "Canceled", canceled.text
    builds["canceled"] = attach(emulator, canceled, 3)

    for app in (APP, *OTHERS):
        emulator.deploy(app, "staging", "v5")
    several = step(
        "several-apps",
        WebAppName=APP,
        AdditionalWebApps="\n".join(OTHERS),
        HealthCheckPath="/health",
        HealthCheckTimeoutInMinutes="0.05",
        HealthyAfter="1",
    )
    builds["several-apps"] = attach(emulator, several, 4)

    builds["canary-and-bake"] = attach(emulator, attached_file(FIXTURE), 5)

    # A real canary and bake: two steps pass, then the new version fails half its requests in
    # production and the bake swaps it back.
    emulator.deploy(APP, "staging", "v6")
    emulator.control("POST", "traffic", {"app": APP, "rate": 150, "seconds": 40})
    inputs = {"WebAppName": APP, "SourceSlot": "staging", **CHECKS, **CANARY}
    env = agent_environment(emulator.info, inputs, work / "canary-run")
    task = start_task(env, work / "canary-run")
    early = read_until(task, "Baking:")
    emulator.deploy(APP, "production", "v6", health="flaky:50")
    rest, _ = task.communicate(timeout=60)
    canary = AgentLog(early + rest, "", task.returncode)
    assert canary.outputs["SwapOutcome"] == "RolledBack", canary.text
    builds["canary-run"] = attach(emulator, canary, 6)
    return builds


@pytest.fixture(scope="session")
def seen(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[tuple[str, str], Any]:
    """What the browser showed in each scenario. Under pytest-xdist the first worker to ask
    drives the browser and the others read what it saw: one set of screenshots, one run."""
    if worker_id == "master":
        views = drive_the_tab(tmp_path_factory.mktemp("results-tab"))
    else:
        run_dir = tmp_path_factory.getbasetemp().parent  # shared by this run's workers only
        done = run_dir / "results-tab-seen.json"
        with FileLock(str(run_dir / "results-tab.lock")):
            if not done.is_file():
                views = drive_the_tab(tmp_path_factory.mktemp("results-tab"))
                done.write_text(json.dumps(views), encoding="utf-8")
        views = json.loads(done.read_text(encoding="utf-8"))
    return {(view["name"], view["theme"]): view for view in views}


def drive_the_tab(work: Path) -> list[dict[str, Any]]:
    """Every scenario, in both themes, through tests/browser/drive.mjs."""
    tab = work / "tab"
    subprocess.run(["node", str(ROOT / "web" / "build.mjs"), str(tab)], check=True, timeout=120)
    pages = work / "pages"
    pages.mkdir()
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    (pages / "canary-and-bake.html").write_text(report_page([fixture], "Swap Slots"), "utf-8")
    (pages / "other-versions.html").write_text(report_page(OTHER_VERSIONS, "Swap Slots"), "utf-8")
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)

    apps = [arg for app in (APP, *OTHERS) for arg in ("--app", f"{app}:staging")]
    emulator = start_emulator_process(
        work / "emulator",
        *("--swap-seconds", "0.5", "--health-check-path", "/health", "--seed", "7"),
        *("--metrics-minute-seconds", "0.5", *apps),
    )
    host, host_url = serve(ROOT / "tests" / "browser")
    extension, extension_url = serve(tab)
    try:
        builds = releases(emulator, work)
        info = emulator.info
        scenarios: list[dict[str, Any]] = [
            {
                "name": name,
                "theme": theme,
                **(
                    {"releaseEnvironment": build} if isinstance(build, dict) else {"buildId": build}
                ),
            }
            for name, build in builds.items()
            for theme in THEMES
        ]
        for scenario in scenarios:  # `make pictures` copies these to images/
            picture = PICTURES.get((scenario["name"], scenario["theme"]))
            if picture:
                scenario.update(picture=str(SCREENSHOTS / picture[0]), pictureOf=picture[1])
        scenarios += [
            {"name": f"page-{name}", "theme": theme, "pageUrl": (pages / f"{name}.html").as_uri()}
            for name in ("canary-and-bake", "other-versions")
            for theme in THEMES
        ]
        plan = {
            "chromium": CHROMIUM,
            "hostUrl": f"{host_url}/host.html",
            "extensionUrl": f"{extension_url}/tab.html",
            "devopsUrl": info["devops_url"],
            "token": info["system_access_token"],
            "project": {
                "id": "50000000-0000-4000-8000-000000000005",
                "name": info["devops_project"],
            },
            "screenshots": str(SCREENSHOTS),
            "scenarios": scenarios,
        }
        (work / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        driven = subprocess.run(
            ["node", str(ROOT / "tests" / "browser" / "drive.mjs"), str(work / "plan.json")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert driven.returncode == 0, driven.stderr
        views: list[dict[str, Any]] = json.loads(driven.stdout)
        return views
    finally:
        host.shutdown()
        extension.shutdown()
        emulator.stop()


def both(seen: dict[tuple[str, str], Any], name: str) -> list[Any]:
    found = [seen[(name, theme)] for theme in THEMES]
    for view in found:
        assert view["drawn"] and not view["problems"], view
        assert Path(view["screenshot"]).stat().st_size > 10_000
    return found


def test_a_swapped_release_shows_the_new_version_live(seen: dict[tuple[str, str], Any]) -> None:
    for view in both(seen, "swapped"):
        text = view["text"]
        assert "Swapped contoso-web" in text
        assert "Production served v1 before and v2 at the end." in text
        assert (view["runs"], view["apps"], view["timelines"], view["probeStrips"]) == (1, 1, 1, 1)
        assert "gate: staging" in text and "verify: production" in text
        assert view["trafficFigures"] == 0
        assert "loaded" in view["hostEvents"]


def test_a_rolled_back_release_shows_the_swap_back(seen: dict[tuple[str, str], Any]) -> None:
    for view in both(seen, "rolled-back"):
        text = view["text"]
        assert "RolledBack contoso-web" in text
        assert "Production served v2 before and v2 at the end." in text
        assert "swap back" in text and "Swap back" in text
        assert "failed verification" in text


def test_a_canceled_release_says_nothing_changed(seen: dict[tuple[str, str], Any]) -> None:
    for view in both(seen, "canceled"):
        text = view["text"]
        assert "Canceled contoso-web" in text
        assert "Canceled (SIGINT) during the health gate" in text
        assert "canceled" in text  # the gate's result in its table


def test_several_apps_have_one_section_each(seen: dict[tuple[str, str], Any]) -> None:
    for view in both(seen, "several-apps"):
        assert view["apps"] == 3 and view["timelines"] == 3
        for app in (APP, *OTHERS):
            assert f"Swapped {app}" in view["text"]
        assert view["text"].count("and v5 at the end.") == 3


def test_each_canary_step_and_the_bake_have_their_charts(
    seen: dict[tuple[str, str], Any],
) -> None:
    for name in ("canary-and-bake", "page-canary-and-bake"):
        for view in both(seen, name):
            text = view["text"]
            assert view["trafficFigures"] == 3
            assert view["trafficCharts"] == [
                "5xx rate per minute, Canary step at 10 %",
                "Response time per minute, Canary step at 10 %",
                "5xx rate per minute, Canary step at 50 %",
                "Response time per minute, Canary step at 50 %",
                "5xx rate per minute, Bake",
                "Response time per minute, Bake",
            ]
            assert "Canary step at 10 %: passed" in text
            assert "Bake: failed" in text and "stopped early" in text
            assert "09:12:12" in text  # the bake's first minute, a row of its table
            assert "10.3 %" in text  # the bake's third minute: 131 of 1270 requests failed


def test_a_real_canary_and_bake_are_drawn_minute_by_minute(
    seen: dict[tuple[str, str], Any],
) -> None:
    for view in both(seen, "canary-run"):
        text = view["text"]
        assert view["trafficFigures"] == 3
        assert view["trafficCharts"][::2] == [
            "5xx rate per minute, Canary step at 10 %",
            "5xx rate per minute, Canary step at 50 %",
            "5xx rate per minute, Bake",
        ]
        assert "Canary step at 10 %: passed" in text and "Canary step at 50 %: passed" in text
        assert "Bake: failed" in text and "stopped early" in text
        assert "staging against production" in text
        assert "production against the old version" in text
        assert "points over production" in text  # the 5xx limit, relative to the baseline
        assert "Swapped back" in text or "RolledBack" in text


def test_the_tab_follows_the_theme(seen: dict[tuple[str, str], Any]) -> None:
    light, dark = seen[("swapped", "light")], seen[("swapped", "dark")]
    assert (light["dataTheme"], dark["dataTheme"]) == ("light", "dark")
    assert light["background"] == "rgb(255, 255, 255)"
    assert dark["background"] == "rgb(32, 31, 30)"
    page_dark = seen[("page-canary-and-bake", "dark")]
    assert page_dark["background"] == "rgb(30, 30, 30)"  # the page follows the system setting


def test_a_report_of_another_version_is_still_drawn(seen: dict[tuple[str, str], Any]) -> None:
    for view in both(seen, "page-other-versions"):
        text = view["text"]
        assert view["runs"] == 2
        assert "NotStarted old-web" in text and "Swapped new-web" in text
        assert "This report is version 2; this page knows version 1" in text
        assert "Production served v1 before and v2 at the end." in text
        assert "Canary step at 5 %: passed" in text


def test_a_classic_release_stage_shows_its_report(seen: dict[tuple[str, str], Any]) -> None:
    for view in both(seen, "classic-release"):
        assert "Swapped contoso-web" in view["text"]
        assert "Production served v1 before and v2 at the end." in view["text"]
        assert "loaded" in view["hostEvents"]
