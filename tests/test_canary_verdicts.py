"""Scenarios: the canary's and the bake's verdicts (issue 16), run as the agent runs the task,
against the emulator with user traffic: a noisy version no worse than production passes again and
again; a slow version is stopped with its slowness named; a bad version is removed from users
long before its 5-minute step ends; a small app is judged with the default inputs; the bake swaps
back early; a canary outlives its access token; the health gate says which version it expected;
the summary shows each step's and the bake's evidence."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from runner.agent import local_agent
from runner.emulator.process import Emulator
from tests.agent import AgentLog, agent_environment, read_until, run_task
from tests.conftest import StartEmulator

APP, GROUP = "contoso-web", "rg-swap-demo"
# The inputs every scenario starts from; none of the verdict's own (MaxErrorRatePercent,
# MaxResponseTimeRatio, ResponseTimeMarginMs, MinRequests, InsufficientTraffic) is set here.
BASE = {
    "WebAppName": APP,
    "ResourceGroupName": GROUP,
    "SourceSlot": "staging",
    "HealthCheckPath": "/health",
    "HealthCheckTimeoutInMinutes": "0.05",
    "HealthyAfter": "1",
}
SUMMARY_COLUMNS = 7


def user_traffic(emulator: Emulator, rate: float, seconds: float) -> None:
    """`rate` new users a second for `seconds`, on production's address (routing rules apply)."""
    emulator.control("POST", "traffic", {"app": APP, "rate": rate, "seconds": seconds})


def rules(emulator: Emulator) -> list[dict[str, Any]]:
    """Production's routing rules now."""
    config = emulator.control(
        "POST", "config", {"app": APP, "slot": "production", "properties": {}}
    )
    return list((config["production"].get("experiments") or {}).get("rampUpRules") or [])


def run(emulator: Emulator, work: Path, **inputs: str) -> AgentLog:
    work.mkdir(parents=True, exist_ok=True)
    env = agent_environment(emulator.info, {**BASE, **inputs}, work)
    return run_task(env, work, timeout=240)


def swaps(emulator: Emulator) -> list[str]:
    """The outcomes of the swap operations Azure ran, in order."""
    return [str(op["outcome"]) for op in emulator.operations()]


def summary_rows(work: Path) -> dict[str, list[str]]:
    """The summary's evidence rows (each canary step's, the bake's) by their Watched cell."""
    text = "".join(p.read_text(encoding="utf-8") for p in work.rglob("swap-slots-*.md"))
    columns = "Watched | User requests | 5xx | Probes failed | Response time | Baseline | Verdict"
    assert f"| {columns} |" in text, text
    lines = text.splitlines()
    cells = [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in lines]
    return {
        row[0]: row
        for row in cells
        if len(row) == SUMMARY_COLUMNS and row[0].endswith("`") and row[0] != "Watched"
    }


def number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"no {pattern!r} in:\n{text}"
    return float(found.group(1))


# -- a. A noisy version no worse than production passes, run after run ----------------------------


def test_a_noisy_version_no_worse_than_production_passes_in_repeated_runs(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    # Every version fails 1.5 % of its requests at random, more than MaxErrorRatePercent (1):
    # the old rule (a step's 5xx rate over 1 %, or two failed probes) stopped one run in two.
    emulator = start_emulator(
        "--swap-seconds", "0.3", "--metrics-minute-seconds", "0.5", "--base-error-percent", "1.5"
    )
    logs = []
    for run_number, version in enumerate(["v2", "v3", "v4"], 1):
        emulator.deploy(APP, "staging", version)  # fails 1.5 % too: the emulator's base rate
        user_traffic(emulator, rate=150, seconds=25)
        # MinRequests is low only so that a slow machine's traffic cannot make it "too little".
        log = run(
            emulator,
            tmp_path / f"run{run_number}",
            TrafficSteps="10,50",
            TrafficStepMinutes="0.1",
            MinRequests="20",
        )
        logs.append(log)

        assert log.outputs.get("SwapOutcome") == "Swapped", f"run {run_number}:\n{log.text}"
        assert "Canary passed at 10 %, 50 %." in log.stdout
        assert emulator.serving(APP, "production") == version
        assert rules(emulator) == []
        assert swaps(emulator) == ["Succeeded"] * run_number
    # The noise was real: both sides failed some requests, and still no step failed.
    steps = [line for log in logs for line in log.stdout.splitlines() if ": passed: " in line]
    assert len(steps) == 6, steps
    for side in ("'staging'", "production"):
        probes = [number(rf"{side}: [^;]*? (\d+) of \d+ probes failed", s) for s in steps]
        users = [number(rf"{side}: 5xx ([\d.]+) % of", s) for s in steps]
        assert sum(probes) + sum(users) > 0, (side, steps)


# -- b. A version 100 times slower is stopped, its slowness named ---------------------------------


# Steps of 6 s are first judged after 1.2 s, before Azure has published two minutes of each
# side: on the probes' timings. Steps of 30 s are first judged after 6 s, on Azure's per-minute
# response times too.
STEP_MINUTES = {"judged first on the probes": "0.1", "judged on Azure's minutes too": "0.5"}


@pytest.mark.parametrize("step", STEP_MINUTES, ids=list(STEP_MINUTES))
def test_a_version_much_slower_than_production_is_stopped_with_its_slowness_named(
    start_emulator: StartEmulator, tmp_path: Path, step: str
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--metrics-minute-seconds", "0.5")
    emulator.deploy(APP, "staging", "v2", slower_ms=300)  # answers right, but 300 ms late
    user_traffic(emulator, rate=50, seconds=45)

    log = run(
        emulator,
        tmp_path,
        TrafficSteps="10,50",
        TrafficStepMinutes=STEP_MINUTES[step],
        MinRequests="20",
    )

    assert "Unexpected error" not in log.stdout, log.text
    assert log.outputs["SwapOutcome"] == "CanaryFailed", log.text
    assert log.result == "Failed"
    assert "Health gate passed" in log.stdout  # its answers are correct, only slow
    message = log.errors[-1]
    assert "The canary stopped the swap: the step at 10 % failed (" in message, message
    slow = r"response time (\d+) ms on 'staging' vs ([\d.]+) ms on production: more than 2 times"
    found = re.search(slow + " and 50 ms slower", message)
    assert found, message
    assert 250 <= float(found.group(1)) <= 1000, message
    assert float(found.group(2)) < 50, message
    assert "5xx on 'staging'" not in message  # not blamed on errors: it had none
    assert "Step at 50 %" not in log.stdout
    assert "Routing rule removed" in log.stdout
    assert rules(emulator) == []
    assert emulator.serving(APP, "production") == "v1" and swaps(emulator) == []
    row = summary_rows(tmp_path)["10 % to `staging`"]
    assert number(r"(\d+) ms", row[4]) >= 250 and row[6] == "failed", row


# -- c. A version failing half its requests is off users long before a 5-minute step ends ---------


class RuleWatch(threading.Thread):
    """Polls production's routing rules, as a user's browser would meet them: when a rule first
    appeared, and when it was gone again (the first poll without it)."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(daemon=True)
        self.emulator = emulator
        self.set_at: Optional[float] = None
        self.removed_at: Optional[float] = None
        self.error: Optional[BaseException] = None
        self.give_up = threading.Event()

    def run(self) -> None:
        try:
            while not self.give_up.is_set():
                present = bool(rules(self.emulator))
                now = time.monotonic()
                if present and self.set_at is None:
                    self.set_at = now
                elif not present and self.set_at is not None:
                    self.removed_at = now
                    return
                time.sleep(0.05)
        except BaseException as error:  # reported by the test
            self.error = error


def test_a_version_failing_half_its_requests_is_removed_from_users_within_150_s(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    # Azure's own minutes (60 s, published a minute late): the probes must see it first.
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2", health="flaky:50")
    user_traffic(emulator, rate=10, seconds=200)
    env = agent_environment(
        emulator.info, {**BASE, "TrafficSteps": "10,50", "TrafficStepMinutes": "5"}, tmp_path
    )
    watch = RuleWatch(emulator)
    watch.start()
    task = local_agent.start_task(env, tmp_path)
    try:
        out, _ = task.communicate(timeout=330)
    finally:
        if task.poll() is None:
            task.kill()
            task.communicate()
    watch.join(15)  # the task has ended: the watch's next poll finds the rule gone
    watch.give_up.set()

    log = AgentLog(out, "", task.returncode)
    assert watch.error is None, repr(watch.error)
    assert log.outputs["SwapOutcome"] == "CanaryFailed", log.text
    assert watch.set_at is not None, "the canary never set its rule"
    assert watch.removed_at is not None, "the rule was never removed"
    exposed = watch.removed_at - watch.set_at
    assert exposed < 150, f"users saw the failing version for {exposed:.0f} s\n{log.text}"
    message = log.errors[-1]
    assert "The canary stopped the swap: the step at 10 % failed (stopped after " in message
    stopped_after = number(r"stopped after (\d+) s of 300\)", message)
    assert stopped_after < 150, message
    assert "5xx on 'staging' more than 1 point above production's" in message
    failed_probes = number(r"'staging' [^;]*?(\d+) of \d+ probes failed; production", message)
    assert failed_probes > 0, message  # the probes saw it: Azure had published no minute yet
    assert f"Step at 10 %: failed after {stopped_after:.0f} s of 300" in log.warnings[-1]
    assert rules(emulator) == []
    assert emulator.serving(APP, "production") == "v1" and swaps(emulator) == []


# -- d. A small app (about 1 user request a second) with the default inputs -----------------------


@pytest.mark.parametrize(
    ("health", "outcome"), [("healthy", "Swapped"), ("flaky:30", "CanaryFailed")]
)
def test_a_small_app_is_judged_with_the_default_inputs(
    start_emulator: StartEmulator, tmp_path: Path, health: str, outcome: str
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--metrics-minute-seconds", "1")
    emulator.deploy(APP, "staging", "v2", health=health)
    user_traffic(emulator, rate=1, seconds=60)

    # The defaults: MinRequests 100, InsufficientTraffic fail, MaxErrorRatePercent 1. The step's
    # probes are the evidence a 1-request-a-second app lacks (a step of 30 s: the shortest
    # that the probes' pace, every 0.1 to 0.2 s in so short a step, fills with 100 requests).
    log = run(emulator, tmp_path, TrafficSteps="10", TrafficStepMinutes="0.5")

    assert log.outputs["SwapOutcome"] == outcome, log.text
    assert "too little traffic" not in log.text.lower(), log.text
    interval = number(r"pinned to it and to production every ([\d.]+) s", log.stdout)
    assert rules(emulator) == []
    if outcome == "Swapped":
        assert log.result == "Succeeded", log.text
        assert "Step at 10 %: passed: 'staging': 5xx 0.0 % of" in log.stdout
        assert "Canary passed at 10 %." in log.stdout
        assert emulator.serving(APP, "production") == "v2"
        assert swaps(emulator) == ["Succeeded"]
        row = summary_rows(tmp_path)["10 % to `staging`"]
        probes = number(r"^0 of (\d+)$", row[3])
        assert probes >= 0.6 * 30 / interval, (interval, row)  # probed at its pace, nearly
        assert probes + int(row[1]) >= 100 and row[6] == "passed", row
    else:
        message = log.errors[-1]
        assert "The canary stopped the swap: the step at 10 % failed (" in message, message
        assert "5xx on 'staging' more than 1 point above production's" in message
        assert emulator.serving(APP, "production") == "v1" and swaps(emulator) == []


# -- e. The bake swaps back, early, a version that degrades after the swap ------------------------


DEGRADED: dict[str, tuple[dict[str, Any], str]] = {
    "failing half its requests": (
        {"health": "flaky:50"},
        r"5xx on production more than 1 point above the old version's \(confidence ",
    ),
    "300 ms slower": (
        {"slower_ms": 300.0},
        r"response time (\d+) ms on production vs [\d.]+ ms on the old version: more than 2 "
        r"times and 50 ms slower \(confidence ",
    ),
}


@pytest.mark.parametrize("how", DEGRADED, ids=list(DEGRADED))
def test_the_bake_swaps_back_early_a_version_that_degrades_after_the_swap(
    start_emulator: StartEmulator, tmp_path: Path, how: str
) -> None:
    degraded, reason = DEGRADED[how]
    emulator = start_emulator("--swap-seconds", "0.3", "--metrics-minute-seconds", "1")
    emulator.deploy(APP, "staging", "v2")
    user_traffic(emulator, rate=50, seconds=60)
    time.sleep(3)  # the old version's own minutes before the swap: the bake's baseline
    env = agent_environment(emulator.info, {**BASE, "BakeMinutes": "0.5"}, tmp_path)
    task = local_agent.start_task(env, tmp_path)
    seen = read_until(task, "Baking:")  # swapped and verified: the bake begins
    assert task.poll() is None, seen
    # Now in production, the new version starts failing half of its requests, or slows down.
    emulator.deploy(APP, "production", "v2", **degraded)

    rest, _ = task.communicate(timeout=90)

    log = AgentLog(seen + rest, "", task.returncode)
    assert log.outputs["SwapOutcome"] == "RolledBack", log.text
    assert log.result == "Failed"
    assert re.search("Production degraded during the bake: " + reason, log.stdout), log.text
    message = log.errors[-1]
    assert re.search(r"'production' degraded during the bake \(" + reason, message), message
    assert number(r"stopped after (\d+) s of 30\b", message) < 30, message
    assert "The previous version is live again" in message
    assert emulator.serving(APP, "production") == "v1"
    assert swaps(emulator) == ["Succeeded", "Succeeded"]
    row = summary_rows(tmp_path)["bake: `production`"]
    assert row[6] == "failed" and row[5].startswith("the old version: 5xx"), row
    failed, probes = re.findall(r"\d+", row[3])
    if "health" in degraded:
        assert 0 < int(failed) < int(probes), row
    else:
        assert int(failed) == 0 and number(r"(\d+) ms", row[4]) >= 250, row


# -- f. A canary that outlives its access token ---------------------------------------------------


def test_a_canary_outliving_its_access_token_gets_new_ones(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    lifetime = 6
    emulator = start_emulator(
        "--swap-seconds",
        "0.3",
        "--metrics-minute-seconds",
        "0.5",
        "--token-lifetime-seconds",
        str(lifetime),
    )
    emulator.deploy(APP, "staging", "v2")
    user_traffic(emulator, rate=100, seconds=40)
    started = time.time()

    # Two steps of 9 s: the canary alone lasts three tokens' lives.
    log = run(emulator, tmp_path, TrafficSteps="10,50", TrafficStepMinutes="0.15", MinRequests="20")

    assert log.outputs["SwapOutcome"] == "Swapped", log.text
    assert "Canary passed at 10 %, 50 %." in log.stdout
    assert emulator.serving(APP, "production") == "v2"
    calls = [r for r in emulator.requests() if r["server"] == "main" and r["time"] >= started]
    tokens = sorted(r["time"] for r in calls if str(r["path"]).endswith("/token"))
    arm = [r for r in calls if str(r["path"]).startswith("/subscriptions/")]
    assert len(tokens) >= 3, tokens
    assert tokens[-1] - tokens[0] > 2 * lifetime, tokens
    assert [r for r in arm if r["status"] == 401] == []
    # The metrics read and the rule's removal late in the canary, long after the first token.
    late = [r for r in arm if r["time"] > tokens[0] + 2 * lifetime]
    assert any("metrics" in str(r["path"]).lower() and r["status"] == 200 for r in late), late
    assert any(r["method"] == "PATCH" and r["status"] == 200 for r in late), late


# -- g. The health gate names the version it expected ---------------------------------------------


@pytest.mark.parametrize(
    ("health", "said"),
    [
        ("healthy", "serves version v2, not the expected v9"),
        ("unhealthy", "was not healthy"),
    ],
)
def test_the_health_gate_says_which_version_it_expected(
    start_emulator: StartEmulator, tmp_path: Path, health: str, said: str
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2", health=health)

    log = run(emulator, tmp_path, ExpectedVersion="v9", TrafficSteps="10")

    assert log.outputs["SwapOutcome"] == "NotStarted", log.text
    message = log.errors[-1]
    host = emulator.slot_url(APP, "staging").rstrip("/")
    assert f"The health gate stopped the swap: 'staging' ({host}/health) {said} (" in message, (
        message
    )
    if health == "healthy":
        assert "was not healthy" not in message  # it answered 200: the version was wrong
        assert "last answer HTTP 200, version v2)" in message
    assert "No swap was sent." in message
    assert "Routing" not in log.stdout  # no canary step began
    assert rules(emulator) == [] and swaps(emulator) == []
    assert emulator.serving(APP, "production") == "v1"


# -- h. The summary shows each step's and the bake's evidence -------------------------------------


def test_the_summary_shows_each_steps_and_the_bakes_evidence(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    emulator = start_emulator("--swap-seconds", "0.3", "--metrics-minute-seconds", "0.25")
    emulator.deploy(APP, "staging", "v2")
    user_traffic(emulator, rate=150, seconds=30)

    log = run(
        emulator,
        tmp_path,
        TrafficSteps="10,50",
        TrafficStepMinutes="0.04",
        BakeMinutes="0.05",
        MinRequests="5",
    )

    assert log.outputs["SwapOutcome"] == "Swapped", log.text
    rows = summary_rows(tmp_path)
    assert list(rows) == ["10 % to `staging`", "50 % to `staging`", "bake: `production`"], rows
    lines = {
        "10 % to `staging`": "Step at 10 %: passed: ",
        "50 % to `staging`": "Step at 50 %: passed: ",
        "bake: `production`": "Bake passed: ",
    }
    for name, row in rows.items():
        _, requests, rate, probes, response, baseline, verdict = row
        # The row shows what the log's verdict was made on.
        [line] = [line for line in log.stdout.splitlines() if line.startswith(lines[name])]
        watched = "production" if name.startswith("bake") else "'staging'"
        assert f"{watched}: 5xx {rate} of {requests} user requests, {probes} probes failed" in (
            line
        ), (row, line)
        assert int(requests) > 0 and rate == "0.0 %", row
        assert re.fullmatch(r"0 of [1-9]\d*", probes), row
        assert re.fullmatch(r"[\d.]+ ms", response), row
        base = "the old version" if name.startswith("bake") else "production"
        assert re.fullmatch(
            rf"{base}: 5xx 0\.0 %, 0 of [1-9]\d* probes failed, [\d.]+ ms", baseline
        ), row
        assert verdict == "passed", row


def test_a_step_judged_on_probes_alone_shows_its_unknown_rates_as_unknown(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    # Azure's own minutes (60 s, published a minute late): none is published within the step.
    emulator = start_emulator("--swap-seconds", "0.3")
    emulator.deploy(APP, "staging", "v2")

    log = run(emulator, tmp_path, TrafficSteps="10", TrafficStepMinutes="0.05", MinRequests="5")

    assert log.outputs["SwapOutcome"] == "Swapped", log.text
    assert "Step at 10 %: passed: 'staging': no published minute, 0 of " in log.stdout
    row = summary_rows(tmp_path)["10 % to `staging`"]
    assert row[1:3] == ["—", "—"], row  # user requests and their 5xx rate: unknown, not 0
    assert re.fullmatch(r"0 of [1-9]\d*", row[3]) and row[6] == "passed", row
    # The baseline's rate is as unknown as the slot's: "—", not "— %".
    assert re.fullmatch(r"production: 5xx —, 0 of [1-9]\d* probes failed, [\d.]+ ms", row[5]), row
