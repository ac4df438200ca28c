"""Scenarios: each run of the task attaches its report (a JSON document, docs/report.md), the
agent uploads it to the build, and the build's REST API lists and reads it back, as the results
tab does; the run summary links the tab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from runner.agent.local_agent import AgentJob, upload_attachments
from runner.emulator.process import Emulator
from tests.agent import AgentLog, agent_environment, run_task
from tests.conftest import StartEmulator

APP, GROUP = "contoso-web", "rg-swap-demo"
INPUTS = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}
CHECKS = {"HealthCheckPath": "/health", "HealthCheckTimeoutInMinutes": "0.05", "HealthyAfter": "1"}
REPORT_TYPE = "swap-slots-report"


def run_step(emulator: Emulator, work: Path, build: dict[str, Any], **inputs: str) -> AgentLog:
    env = agent_environment(emulator.info, {**INPUTS, **inputs}, work)
    env.update(
        SYSTEM_COLLECTIONURI="https://dev.azure.com/emulator-org/",
        SYSTEM_TEAMPROJECT="web",
        SYSTEM_HOSTTYPE="build",
        BUILD_BUILDID=str(build["id"]),
    )
    return run_task(env, work)


def devops_get(
    emulator: Emulator, path: str, accept: str = "application/json"
) -> requests.Response:
    info = emulator.info
    answer = requests.get(
        f"{info['devops_url']}/{info['devops_project']}/_apis/{path}",
        headers={
            "Authorization": f"Bearer {info['system_access_token']}",
            "Accept": f"{accept};api-version=7.2-preview.2",
        },
        verify=info["ca_cert"],
        timeout=10,
    )
    answer.raise_for_status()
    return answer


def attached_reports(emulator: Emulator, build_id: int) -> list[dict[str, Any]]:
    """What a results tab reads: the list by type, then each attachment by its link."""
    listed = devops_get(emulator, f"build/builds/{build_id}/attachments/{REPORT_TYPE}").json()
    reports = []
    for item in listed["value"]:
        href = item["_links"]["self"]["href"]
        timeline, record, _, kind, name = href.split("/")[-5:]
        path = f"build/builds/{build_id}/{timeline}/{record}/attachments/{kind}/{name}"
        reports.append(json.loads(devops_get(emulator, path, "application/octet-stream").content))
    return reports


def test_a_swap_attaches_its_report_and_the_build_serves_it(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.5", "--health-check-path", "/health")
    emulator.deploy(APP, "staging", "v2")
    build = emulator.control("POST", "devops/builds")

    log = run_step(emulator, tmp_path, build, **CHECKS, ExpectedVersion="v2")

    assert log.result == "Succeeded", log.text
    assert [c.properties["type"] for c in log.attachments] == [REPORT_TYPE]
    job = AgentJob(build["planId"], build["timelineId"], "4b6a2c58-0000-4000-8000-000000000001")
    assert upload_attachments(log, emulator.info, job) == [log.attachments[0].properties["name"]]
    [report] = attached_reports(emulator, build["id"])
    assert (report["kind"], report["version"], report["outcome"]) == (REPORT_TYPE, 1, "Swapped")
    kinds = [phase["kind"] for phase in report["timeline"]]
    assert kinds == ["plan", "plan", "gate", "swap", "verification"], kinds
    assert all(p["startedAt"] <= p["endedAt"] for p in report["timeline"])
    [app] = report["apps"]
    assert (app["app"], app["sourceSlot"], app["targetSlot"]) == (APP, "staging", "production")
    assert [(v["slot"], v["version"]) for v in app["before"]] == [
        ("production", "v1"),
        ("staging", "v2"),
    ]
    assert [(v["slot"], v["version"]) for v in app["after"]] == [
        ("production", "v2"),
        ("staging", "v1"),
    ]
    assert [s["kind"] for s in app["swaps"]] == ["swap"] and app["swaps"][0]["seconds"] > 0
    assert [c["label"] for c in app["checks"]] == ["gate: staging", "verify: production"]
    probes = app["probes"]
    assert {p["slot"] for p in probes} == {"staging", "production"}
    assert all(p["status"] == 200 and p["ms"] >= 0 and p["at"] for p in probes)
    assert app["traffic"] == []
    text = json.dumps(report)
    for secret in (emulator.client_secret, emulator.info["system_access_token"]):
        assert secret not in text


def test_the_run_summary_links_the_tab_and_keeps_its_tables(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.5")
    emulator.deploy(APP, "staging", "v2")
    build = emulator.control("POST", "devops/builds")

    log = run_step(emulator, tmp_path, build)

    [summary] = [c for c in log.commands if c.name == "task.uploadsummary"]
    text = Path(summary.data).read_text(encoding="utf-8")
    tab = (
        "https://dev.azure.com/emulator-org/web/_build/results?buildId="
        f"{build['id']}&view=swap-slots.swap-slots.swap-slots-build-tab"
    )
    assert text.startswith(f"[Pictures of this release: the Swap Slots tab]({tab})"), text
    assert "| Slot | Before | After |" in text


def test_several_steps_in_one_run_each_attach_their_report(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.5")
    build = emulator.control("POST", "devops/builds")
    for step, version in enumerate(("v2", "v3"), 1):
        emulator.deploy(APP, "staging", version)
        log = run_step(emulator, tmp_path / f"step{step}", build)
        record = f"4b6a2c58-0000-4000-8000-00000000000{step}"
        upload_attachments(
            log, emulator.info, AgentJob(build["planId"], build["timelineId"], record)
        )

    reports = attached_reports(emulator, build["id"])

    assert [r["apps"][0]["after"][0]["version"] for r in reports] == ["v2", "v3"]
    listed = devops_get(
        emulator,
        f"build/builds/{build['id']}/attachments/{REPORT_TYPE}",
        "application/json;noArrayWrap=true",
    ).json()
    assert isinstance(listed, list) and len(listed) == 2  # as the web extension client asks


def test_a_canary_and_a_bake_have_their_sections(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator(
        "--swap-seconds", "0.3", "--metrics-minute-seconds", "0.25", "--seed", "7"
    )
    emulator.deploy(APP, "staging", "v2")
    emulator.control("POST", "traffic", {"app": APP, "rate": 150, "seconds": 30})
    build = emulator.control("POST", "devops/builds")

    log = run_step(
        emulator, tmp_path, build, **CHECKS,
        TrafficSteps="10,50", TrafficStepMinutes="0.04", MinRequests="5", BakeMinutes="0.03",
    )  # fmt: skip

    assert log.outputs["SwapOutcome"] == "Swapped", log.text
    job = AgentJob(build["planId"], build["timelineId"], "4b6a2c58-0000-4000-8000-000000000009")
    upload_attachments(log, emulator.info, job)
    [report] = attached_reports(emulator, build["id"])
    kinds = [phase["kind"] for phase in report["timeline"]]
    assert kinds == ["plan", "plan", "gate", "canary-step", "canary-step", "swap", "verification",
                     "bake"], kinds  # fmt: skip
    steps = report["apps"][0]["traffic"]
    assert [(s["kind"], s["percent"], s["verdict"]) for s in steps] == [
        ("canary-step", 10, "passed"),
        ("canary-step", 50, "passed"),
        ("bake", None, "passed"),
    ]
    limits = {"maxErrorRatePercent": 1.0, "maxResponseTimeRatio": 2.0, "responseTimeMarginMs": 50.0}
    for section in steps:
        assert section["limits"] == limits
        assert section["startedAt"] < section["endedAt"] and section["stoppedEarly"] is False
        assert section["perMinute"] is True
        minutes = section["watched"]["minutes"]
        assert minutes and all(m["start"] >= section["startedAt"] for m in minutes[:1])
        assert sum(m["requests"] for m in minutes) > 0
        assert all(m["responseMs"] is None or m["responseMs"] >= 0 for m in minutes)
        probes = section["watched"]["probes"]
        assert probes["count"] > 0 and probes["medianMs"] > 0
        assert section["baseline"]["probes"]["count"] > 0
    assert steps[0]["watched"]["label"] == "staging"
    assert steps[0]["baseline"]["label"] == "production"
    assert abs(steps[0]["plannedSeconds"] - 0.04 * 60) < 1e-9
    assert steps[2]["watched"]["label"] == "production"
    assert steps[2]["baseline"]["label"] == "the old version"
    assert steps[2]["baseline"]["minutes"]  # the old version's minutes before the swap
