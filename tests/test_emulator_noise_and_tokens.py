"""Scenarios: the emulator's options for the canary's verdicts (issue 16), seen through the
unmodified Azure SDK and plain HTTP: `--base-error-percent` makes every version fail that share
of its requests at random (Azure Monitor's Http5xx shows it), a deployment's own
`error_percent` overrides it, and `--token-lifetime-seconds` sets the access tokens' lifetime,
after which Resource Manager refuses a token with 401 ExpiredAuthenticationToken."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import pytest
import requests
from azure.mgmt.monitor import MonitorManagementClient

from runner.emulator.command import add_subcommands
from tests.emulator_process import Emulator, emulator_for_sdk, monitor_client
from tests.test_emulator_metrics import points_of, resource_id, timespan

GROUP = "rg-swap-demo"
APP = "web-noisy"
BASE_ERROR_PERCENT = 10.0
MINUTE = 0.25  # seconds; published one such minute after it ends
LIFETIME = 3  # seconds


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"),
        "--app",
        f"{APP}@{GROUP}:staging,qa",
        "--metrics-minute-seconds",
        str(MINUTE),
        "--base-error-percent",
        str(BASE_ERROR_PERCENT),
        "--seed",
        "11",
    ) as running:
        yield running


def served(emulator: Emulator, slot: str, times: int) -> list[int]:
    """The statuses of `times` requests to the slot's site, on one connection."""
    with requests.Session() as session:
        url = emulator.slot_url(APP, slot)
        return [
            session.get(url, verify=emulator.ca_cert, timeout=5).status_code for _ in range(times)
        ]


def monitor_totals(monitor: MonitorManagementClient, slot: str, start: float) -> dict[str, float]:
    time.sleep(MINUTE * 2 + 0.3)  # the last minute ends and is published
    result = monitor.metrics.list(
        resource_id(APP, slot),
        timespan=timespan(start - 1, time.time()),
        interval="PT1M",
        metricnames="Requests,Http5xx",
        aggregation="Total",
    )
    return {
        metric.name.value: sum(p.total or 0 for p in points_of(metric)) for metric in result.value
    }


def test_every_version_fails_the_base_share_of_its_requests_at_random(noisy: Emulator) -> None:
    monitor = monitor_client(noisy)
    noisy.deploy(APP, "staging", "v2")  # no error_percent of its own: the emulator's base rate
    start = time.time()

    seeded = served(noisy, "production", 600)  # the seeded v1
    deployed = served(noisy, "staging", 600)
    totals = {slot: monitor_totals(monitor, slot, start) for slot in ("production", "staging")}

    for statuses in (seeded, deployed):
        assert set(statuses) == {200, 500}, statuses
        # 10 % of 600: 60, within four standard deviations (7.3 each).
        assert 30 <= statuses.count(500) <= 90, statuses.count(500)
        failures = [n for n, status in enumerate(statuses) if status == 500]
        assert failures != list(range(9, 600, 10)), "at random, not every tenth request"
    assert totals["production"] == {"Requests": 600, "Http5xx": seeded.count(500)}
    assert totals["staging"] == {"Requests": 600, "Http5xx": deployed.count(500)}


def test_a_deployments_own_error_percent_overrides_the_base_share(noisy: Emulator) -> None:
    noisy.deploy(APP, "qa", "v3", error_percent=0)
    clean = served(noisy, "qa", 200)
    noisy.deploy(APP, "qa", "v4", error_percent=50)
    half = served(noisy, "qa", 400)

    assert clean == [200] * 200
    assert 140 <= half.count(500) <= 260, half.count(500)  # 200, within 6 standard deviations


def test_the_base_error_percent_must_be_a_percentage(noisy: Emulator) -> None:
    refused = requests.post(
        f"{noisy.url}_emulator/deploy",
        json={"app": APP, "slot": "qa", "version": "v5", "error_percent": 101},
        verify=noisy.ca_cert,
        timeout=5,
    )

    assert refused.status_code == 400
    assert "error_percent must be a number from 0 to 100" in refused.text


def test_emulator_deploy_takes_a_slower_version_and_its_error_share(noisy: Emulator) -> None:
    parser = argparse.ArgumentParser(prog="swap-slots")
    add_subcommands(parser.add_subparsers(dest="command"))
    common = ["emulator-deploy", "--url", noisy.url, "--ca-cert", noisy.ca_cert]
    common += ["--app", APP, "--slot", "qa", "--version", "v6"]
    deploy = parser.parse_args([*common, "--slower-ms", "200", "--error-percent", "0"])

    assert deploy.handler(deploy) == 0
    with requests.Session() as session:
        started = time.monotonic()
        answers = [
            session.get(noisy.slot_url(APP, "qa"), verify=noisy.ca_cert, timeout=5)
            for _ in range(5)
        ]
        took = time.monotonic() - started

    assert [a.status_code for a in answers] == [200] * 5  # its own 0 %, not the base 10 %
    assert {a.headers["X-App-Version"] for a in answers} == {"v6"}
    assert took >= 5 * 0.2
    for wrong in (["--error-percent", "101"], ["--slower-ms", "-1"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*common, *wrong])


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"), "--token-lifetime-seconds", str(LIFETIME)
    ) as running:
        yield running


def token_form(emulator: Emulator, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        **fields,
    }


def list_sites(emulator: Emulator, token: str) -> requests.Response:
    return requests.get(
        f"{emulator.url}subscriptions/{emulator.subscription_id}/providers/Microsoft.Web/sites",
        params={"api-version": "2024-04-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=emulator.ca_cert,
        timeout=5,
    )


def test_entra_issues_tokens_of_the_lifetime_asked_for(short_lived: Emulator) -> None:
    emulator = short_lived
    v2 = requests.post(
        f"{emulator.url}{emulator.tenant_id}/oauth2/v2.0/token",
        data=token_form(emulator, scope=emulator.arm_scope),
        verify=emulator.ca_cert,
        timeout=5,
    )
    v1 = requests.post(
        f"{emulator.url}{emulator.tenant_id}/oauth2/token",
        data=token_form(emulator, resource=emulator.arm_audience),
        verify=emulator.ca_cert,
        timeout=5,
    )

    assert v2.status_code == 200 and v2.json()["expires_in"] == LIFETIME, v2.text
    assert v1.status_code == 200 and v1.json()["expires_in"] == str(LIFETIME), v1.text
    assert int(v1.json()["expires_on"]) - int(v1.json()["not_before"]) == LIFETIME


def test_resource_manager_refuses_an_expired_token(short_lived: Emulator) -> None:
    emulator = short_lived
    token = requests.post(
        f"{emulator.url}{emulator.tenant_id}/oauth2/v2.0/token",
        data=token_form(emulator, scope=emulator.arm_scope),
        verify=emulator.ca_cert,
        timeout=5,
    ).json()["access_token"]

    fresh = list_sites(emulator, token)
    time.sleep(LIFETIME + 1.5)
    expired = list_sites(emulator, token)

    assert fresh.status_code == 200, fresh.text
    assert expired.status_code == 401, expired.text
    error = expired.json()["error"]
    assert error["code"] == "ExpiredAuthenticationToken"
    assert "is earlier than current UTC time" in error["message"]
    assert expired.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
