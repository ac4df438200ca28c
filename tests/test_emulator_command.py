"""Scenarios: the emulator as a command: its ready line, seeding, state file, command-line
faults, `emulator-deploy`, a clean stop, and what az and Microsoft's task read from it."""

from __future__ import annotations

import argparse
import base64
import signal
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from runner.emulator.command import add_subcommands
from tests.emulator_process import Emulator, start_emulator

READY_KEYS = {
    "url",
    "ca_cert",
    "tenant_id",
    "client_id",
    "client_secret",
    "client_certificate",
    "subscription_id",
    "resource_group",
    "system_access_token",
    "oidc_request_uri",
    "service_connection_id",
    "msi_endpoint",
    "msi_header",
    "arm_audience",
    "apps",
}


def arm(
    emulator: Emulator, method: str, path: str, body: Optional[dict[str, Any]] = None
) -> requests.Response:
    """An ARM call with a token from the v1 endpoint, as Microsoft's task makes them."""
    token = requests.post(
        f"{emulator.url}{emulator.tenant_id}/oauth2/token/",
        data={
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "resource": emulator.arm_audience,
        },
        verify=emulator.ca_cert,
        timeout=5,
    ).json()["access_token"]
    separator = "&" if "?" in path else "?"
    return requests.request(
        method,
        f"{emulator.url}{path}{separator}api-version=2016-08-01",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
        verify=emulator.ca_cert,
        timeout=5,
    )


def site_path(emulator: Emulator, app: str, group: str = "rg-swap-demo") -> str:
    return (
        f"subscriptions/{emulator.subscription_id}/resourceGroups/{group}"
        f"/providers/Microsoft.Web/sites/{app}"
    )


def test_ready_line_describes_everything_and_sigint_stops_cleanly(tmp_path: Path) -> None:
    emulator = start_emulator(tmp_path)

    info = emulator.info
    assert set(info) >= READY_KEYS
    assert info["url"].startswith("https://127.0.0.1:") and info["url"].endswith("/")
    assert Path(info["ca_cert"]).is_file()
    assert "PRIVATE KEY" in Path(info["client_certificate"]).read_text()
    [app] = info["apps"]
    assert (app["name"], app["resource_group"]) == ("contoso-web", "rg-swap-demo")
    assert set(app["slots"]) == {"production", "staging"}
    assert emulator.serving("contoso-web", "production") == "v1"
    emulator.process.send_signal(signal.SIGINT)
    assert emulator.process.wait(timeout=10) == 0


def test_apps_can_be_seeded_in_several_groups_with_extra_slots(tmp_path: Path) -> None:
    with start_emulator(
        tmp_path, "--app", "shop@rg-east:staging,qa", "--app", "shop@rg-west", "--app", "api"
    ) as emulator:
        seeded = {
            (a["name"], a["resource_group"]): sorted(a["slots"]) for a in emulator.info["apps"]
        }
        everywhere = arm(
            emulator,
            "GET",
            f"subscriptions/{emulator.subscription_id}/providers/Microsoft.Web/sites",
        )
        east = arm(
            emulator,
            "GET",
            f"subscriptions/{emulator.subscription_id}/resourceGroups/"
            "rg-east/providers/Microsoft.Web/sites",
        )
        emulator.deploy("shop", "qa", "v7", resource_group="rg-east")

        assert seeded == {
            ("shop", "rg-east"): ["production", "qa", "staging"],
            ("shop", "rg-west"): ["production", "staging"],
            ("api", "rg-swap-demo"): ["production", "staging"],
        }
        groups = sorted(s["properties"]["resourceGroup"] for s in everywhere.json()["value"])
        assert groups == ["rg-east", "rg-swap-demo", "rg-west"]
        assert [s["name"] for s in east.json()["value"]] == ["shop"]
        assert emulator.serving("shop", "qa", "rg-east") == "v7"


def test_state_file_keeps_the_slots_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    options = ("--state-file", str(state), "--swap-seconds", "0", "--retry-after", "none")
    with start_emulator(tmp_path, *options) as first:
        first.deploy("contoso-web", "staging", "v2")
        accepted = arm(
            first,
            "POST",
            site_path(first, "contoso-web") + "/slotsswap",
            body={"targetSlot": "staging", "preserveVnet": True},
        )
        assert accepted.status_code == 202
        assert "Retry-After" not in accepted.headers
        assert first.serving("contoso-web", "production") == "v2"

    with start_emulator(tmp_path, *options) as second:
        assert second.serving("contoso-web", "production") == "v2"
        assert second.serving("contoso-web", "staging") == "v1"
        assert [o["outcome"] for o in second.operations()] == ["Succeeded"]


def test_command_line_faults_are_armed_from_the_start(tmp_path: Path) -> None:
    with start_emulator(tmp_path, "--fault", "unavailable:2:/sites/contoso-web$") as emulator:
        statuses = [
            arm(emulator, "GET", site_path(emulator, "contoso-web")).status_code for _ in range(3)
        ]

        assert statuses == [503, 503, 200]


def test_command_line_faults_can_be_scoped_to_one_app(tmp_path: Path) -> None:
    with start_emulator(
        tmp_path,
        "--app",
        "web-a",
        "--app",
        "web-b",
        "--fault",
        "unavailable@web-b:2:/sites/",
    ) as emulator:
        statuses = {
            app: [arm(emulator, "GET", site_path(emulator, app)).status_code for _ in range(3)]
            for app in ("web-a", "web-b")
        }

        assert statuses == {"web-a": [200, 200, 200], "web-b": [503, 503, 200]}


def test_emulator_deploy_command_takes_a_needed_setting_and_a_warm_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="swap-slots")
    add_subcommands(parser.add_subparsers(dest="command"))
    with start_emulator(tmp_path, "--health-check-path", "/healthz") as emulator:
        common = ["emulator-deploy", "--url", emulator.url, "--ca-cert", emulator.ca_cert]
        common += ["--app", "contoso-web", "--version", "v2"]
        needs = parser.parse_args(
            [*common, "--slot", "staging", "--health", "needs-setting:SLOT_NAME=staging"]
        )
        slow = parser.parse_args([*common, "--slot", "production", "--warmup-seconds", "30"])

        assert needs.handler(needs) == 0 and slow.handler(slow) == 0
        assert "Deployed v2 (needs-setting:SLOT_NAME=staging)" in capsys.readouterr().out
        health = requests.get(
            emulator.slot_url("contoso-web", "staging") + "healthz",
            verify=emulator.ca_cert,
            timeout=5,
        )
        assert (health.status_code, health.text) == (200, "Healthy")
        assert emulator.serving("contoso-web", "production") == "down"  # still starting
        with pytest.raises(SystemExit):
            parser.parse_args([*common, "--slot", "qa", "--health", "needs-setting:"])


def test_emulator_deploy_command_deploys_to_a_running_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="swap-slots")
    add_subcommands(parser.add_subparsers(dest="command"))
    with start_emulator(tmp_path) as emulator:
        args = parser.parse_args(
            [
                "emulator-deploy",
                "--url",
                emulator.url,
                "--ca-cert",
                emulator.ca_cert,
                "--app",
                "contoso-web",
                "--slot",
                "staging",
                "--version",
                "v2",
                "--health",
                "broken",
            ]
        )
        unknown = parser.parse_args(
            [
                "emulator-deploy",
                "--url",
                emulator.url,
                "--ca-cert",
                emulator.ca_cert,
                "--app",
                "nope",
                "--slot",
                "staging",
                "--version",
                "v2",
            ]
        )

        assert args.handler(args) == 0
        assert "Deployed v2 (broken) to contoso-web/staging" in capsys.readouterr().out
        assert emulator.serving("contoso-web", "staging") == "down"
        assert unknown.handler(unknown) == 1
        assert "no app named 'nope'" in capsys.readouterr().err


def test_emulator_slot_command_stops_and_starts_a_slot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="swap-slots")
    add_subcommands(parser.add_subparsers(dest="command"))
    with start_emulator(tmp_path) as emulator:
        common = ["--url", emulator.url, "--ca-cert", emulator.ca_cert, "--app", "contoso-web"]
        stop = parser.parse_args(["emulator-slot", "stop", *common, "--slot", "staging"])
        start = parser.parse_args(["emulator-slot", "start", *common, "--slot", "staging"])
        unknown = parser.parse_args(["emulator-slot", "stop", *common, "--slot", "qa"])

        assert stop.handler(stop) == 0
        assert "contoso-web/staging is Stopped." in capsys.readouterr().out
        assert emulator.serving("contoso-web", "staging") == "down"
        assert start.handler(start) == 0
        assert emulator.serving("contoso-web", "staging") == "v1"
        assert unknown.handler(unknown) == 1
        assert "has no slot 'qa'" in capsys.readouterr().err


def test_what_az_and_microsofts_task_read_besides_the_swap(tmp_path: Path) -> None:
    with start_emulator(tmp_path) as emulator:
        metadata = requests.get(
            emulator.url + "/metadata/endpoints?api-version=2022-09-01",
            verify=emulator.ca_cert,
            timeout=5,
        ).json()
        subscriptions = arm(emulator, "GET", "subscriptions").json()["value"]
        site = arm(emulator, "GET", site_path(emulator, "contoso-web") + "/")
        credentials = arm(
            emulator,
            "POST",
            site_path(emulator, "CONTOSO-WEB") + "/slots/staging/config/publishingcredentials/list",
        ).json()
        policy = arm(
            emulator,
            "GET",
            site_path(emulator, "contoso-web") + "/basicPublishingCredentialsPolicies/scm",
        ).json()
        profile = arm(
            emulator,
            "POST",
            site_path(emulator, "contoso-web") + "/publishxml",
            body={"format": "WebDeploy"},
        ).text
        properties = credentials["properties"]
        scm = properties["scmUri"].replace(
            f"{properties['publishingUserName']}:{properties['publishingPassword']}@", ""
        )
        basic = base64.b64encode(
            f"{properties['publishingUserName']}:{properties['publishingPassword']}".encode()
        )
        kudu = requests.put(
            f"{scm}/api/deployments/abc123",
            json={"status": 4, "message": "swapped", "deployer": "VSTS", "author": "ci"},
            headers={"Authorization": f"Basic {basic.decode()}"},
            verify=emulator.ca_cert,
            timeout=5,
        )

        assert metadata["authentication"]["loginEndpoint"] == emulator.url
        assert metadata["authentication"]["audiences"][0] == emulator.arm_audience
        assert metadata["resourceManager"] == emulator.url
        assert subscriptions[0]["tenantId"] == emulator.tenant_id
        assert site.json()["name"] == "contoso-web"
        assert policy["properties"]["allow"] is True
        assert f'destinationAppUrl="{emulator.slot_url("contoso-web", "production")[:-1]}"' in (
            profile
        )
        assert kudu.status_code == 200
        assert kudu.json()["message"] == "swapped"


def test_the_resource_list_finds_a_site_by_type_and_name(tmp_path: Path) -> None:
    """Microsoft's task learns an app's resource group this way before a swap with preview."""
    with start_emulator(
        tmp_path, "--app", "contoso-web@rg-one:staging", "--app", "contoso-api@rg-two"
    ) as emulator:
        resources = f"subscriptions/{emulator.subscription_id}/resources"

        def listed(query: str) -> list[str]:
            answer = arm(emulator, "GET", f"{resources}?{query}api-version=2016-07-01")
            assert answer.status_code == 200, answer.text
            return [resource["id"] for resource in answer.json()["value"]]

        site = listed("$filter=resourceType EQ 'Microsoft.Web%2FSites' AND name EQ 'contoso-web'&")
        slots = listed("$filter=resourceType eq 'Microsoft.Web/sites/slots'&")
        everything = listed("")
        unknown = listed("$filter=resourceType eq 'Microsoft.Web/sites' and name eq 'nope'&")
        bad = arm(
            emulator, "GET", f"{resources}?$filter=startswith(name,'c')&api-version=2021-04-01"
        )

        assert site == ["/" + site_path(emulator, "contoso-web", "rg-one")]
        assert slots == [
            "/" + site_path(emulator, app, group) + "/slots/staging"
            for app, group in (("contoso-web", "rg-one"), ("contoso-api", "rg-two"))
        ]
        assert len(everything) == 4 and unknown == []
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, "InvalidFilterInQueryString")
        (first,) = arm(emulator, "GET", f"{resources}?api-version=2016-07-01").json()["value"][:1]
        assert set(first) >= {"id", "name", "type", "kind", "location"}


def kudu_site(emulator: Emulator, slot_path: str) -> tuple[str, dict[str, str]]:
    """A slot's Kudu base URL (credentials taken out) and its Basic auth header."""
    properties = arm(
        emulator,
        "POST",
        site_path(emulator, "contoso-web") + slot_path + "/config/publishingcredentials/list",
    ).json()["properties"]
    user, password = properties["publishingUserName"], properties["publishingPassword"]
    scm = properties["scmUri"].replace(f"{user}:{password}@", "")
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    return scm, {"Authorization": f"Basic {basic}"}


def test_kudu_keeps_a_deployment_log_per_slot_as_microsofts_task_writes_it(
    tmp_path: Path,
) -> None:
    # After a swap AzureAppServiceManage@0 PUTs one record with the same id to each slot's Kudu,
    # and prints the `url` Kudu answers.
    record = {
        "id": "1201795663883497",
        "active": False,
        "status": 4,
        "message": '{"type":"SlotSwap","sourceSlot":"staging","targetSlot":"production"}',
        "author": "ci",
        "deployer": "VSTS",
        "details": "",
    }
    with start_emulator(tmp_path) as emulator:
        staging, staging_auth = kudu_site(emulator, "/slots/staging")
        production, production_auth = kudu_site(emulator, "")

        def kudu(
            method: str, url: str, auth: dict[str, str], body: Optional[dict[str, Any]] = None
        ) -> requests.Response:
            return requests.request(
                method, url, json=body, headers=auth, verify=emulator.ca_cert, timeout=5
            )

        first = kudu("PUT", f"{staging}/api/deployments/{record['id']}", staging_auth, record)
        other_slot = kudu(
            "PUT", f"{production}/api/deployments/{record['id']}", production_auth, record
        )
        again = kudu("PUT", f"{staging}/api/deployments/{record['id']}", staging_auth, record)
        failed = kudu(
            "PUT", f"{staging}/api/deployments/second", staging_auth, {**record, "status": 3}
        )
        incomplete = kudu(
            "PUT", f"{staging}/api/deployments/third", staging_auth, {"status": 4, "message": "m"}
        )
        wrong_password = kudu("PUT", f"{staging}/api/deployments/fourth", production_auth, record)
        listed = kudu("GET", f"{staging}/api/deployments", staging_auth).json()
        fetched = kudu("GET", first.json()["url"], staging_auth)
        unknown = kudu("GET", f"{staging}/api/deployments/nope", staging_auth)

    assert first.status_code == 200
    result = first.json()
    assert result["url"] == f"{staging}/api/deployments/{record['id']}"
    assert result["log_url"] == result["url"] + "/log"
    assert (result["id"], result["status"], result["message"]) == (
        record["id"],
        4,
        record["message"],
    )
    assert (result["author"], result["deployer"], result["complete"]) == ("ci", "VSTS", True)
    assert result["active"] is False
    assert result["received_time"].endswith("Z")
    assert other_slot.status_code == 200
    assert again.status_code == 409
    assert again.json()["Message"] == f"Deployment with id '{record['id']}' exists"
    assert failed.status_code == 200
    assert failed.json()["status"] == 3
    assert incomplete.status_code == 400
    assert "deployer, author" in incomplete.json()["Message"]
    assert wrong_password.status_code == 401
    assert [entry["id"] for entry in listed] == ["second", record["id"]]
    assert fetched.status_code == 200
    assert fetched.json() == result
    assert unknown.status_code == 404
