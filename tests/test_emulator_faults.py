"""Scenarios: Azure's bad days on the emulator (throttling, dropped connections, 5xx, expired
tokens, failing swaps) and ARM's authentication errors, as azure-core and raw HTTP see them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import CsmSlotEntity

from tests.emulator_process import Emulator, emulator_for_sdk, web_client

GROUP = "rg-swap-demo"
TO_PRODUCTION = CsmSlotEntity(target_slot="production", preserve_vnet=True)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    apps = [
        arg
        for app in ("web-faults", "web-fails", "web-conflict")
        for arg in ("--app", f"{app}@{GROUP}")
    ]
    with emulator_for_sdk(
        tmp_path_factory.mktemp("emulator"),
        "--swap-seconds",
        "0.3",
        "--retry-after",
        "0",
        *apps,
    ) as running:
        yield running


@pytest.fixture
def client(emulator: Emulator) -> Iterator[WebSiteManagementClient]:
    yield web_client(emulator)
    emulator.clear_faults()


def statuses(emulator: Emulator, since: float, fragment: str) -> list[int]:
    return [entry["status"] for entry in emulator.requests(since) if fragment in entry["path"]]


@pytest.mark.parametrize(
    ("kind", "status"),
    [("throttle", 429), ("server-error", 500), ("unavailable", 503), ("drop", 0)],
)
def test_azure_core_retries_transient_faults(
    emulator: Emulator, client: WebSiteManagementClient, kind: str, status: int
) -> None:
    client.web_apps.get(GROUP, "web-faults")  # sign in first, so the fault hits ARM
    since = time.time()
    emulator.add_fault(kind, count=1, method="GET", path="/sites/web-faults$")

    site = client.web_apps.get(GROUP, "web-faults")

    assert site.name == "web-faults"
    assert statuses(emulator, since, "/sites/web-faults") == [status, 200]


def test_throttling_answers_like_arm(emulator: Emulator) -> None:
    emulator.add_fault("throttle", count=1, path="^/subscriptions$")

    response = requests.get(
        emulator.url + "subscriptions?api-version=2022-12-01", verify=emulator.ca_cert, timeout=5
    )

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "TooManyRequests"


def test_an_expired_token_surfaces_once_then_the_token_works_again(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    client.web_apps.get(GROUP, "web-faults")
    emulator.add_fault("expired-token", count=1)

    with pytest.raises(ClientAuthenticationError) as expired:
        client.web_apps.get(GROUP, "web-faults")

    assert expired.value.error is not None
    assert expired.value.error.code == "ExpiredAuthenticationToken"
    assert client.web_apps.get(GROUP, "web-faults").name == "web-faults"


def test_swap_fails_fault_ends_the_operation_with_azure_message(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    emulator.deploy("web-fails", "staging", "v2")
    emulator.add_fault("swap-fails", count=1)

    with pytest.raises(HttpResponseError) as failure:
        client.web_apps.begin_swap_slot(
            GROUP, "web-fails", "staging", TO_PRODUCTION, polling_interval=0.2
        ).result()

    assert failure.value.response is not None
    assert (
        "worker process in the 'staging' slot could not be started"
        in json.loads(failure.value.response.text())["Message"]
    )
    assert emulator.serving("web-fails", "production") == "v1"
    assert emulator.serving("web-fails", "staging") == "v2"
    [operation] = [o for o in emulator.operations() if o["app"] == "web-fails"]
    assert operation["outcome"] == "Failed"


def test_conflict_fault_refuses_the_swap_before_it_starts(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    emulator.add_fault("conflict", count=1)

    with pytest.raises(ResourceExistsError, match="another operation is in progress"):
        client.web_apps.begin_swap_slot(
            GROUP, "web-conflict", "staging", TO_PRODUCTION, polling_interval=0.2
        )

    assert [o for o in emulator.operations() if o["app"] == "web-conflict"] == []


def arm_get(emulator: Emulator, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return requests.get(
        f"{emulator.url}subscriptions/{emulator.subscription_id}?api-version=2022-12-01",
        headers=headers,
        verify=emulator.ca_cert,
        timeout=5,
    )


def token_for(emulator: Emulator, scope: str) -> str:
    response = requests.post(
        f"{emulator.url}{emulator.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "scope": scope,
        },
        verify=emulator.ca_cert,
        timeout=5,
    )
    token: str = response.json()["access_token"]
    return token


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "AuthenticationFailed"),
        ("Bearer not-a-jwt", "InvalidAuthenticationToken"),
        ("vault", "InvalidAuthenticationTokenAudience"),
    ],
)
def test_arm_refuses_missing_and_bad_tokens(
    emulator: Emulator, authorization: str | None, code: str
) -> None:
    if authorization == "vault":
        authorization = "Bearer " + token_for(emulator, "https://vault.azure.net/.default")

    response = arm_get(emulator, authorization)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_arm_accepts_its_own_token_and_knows_its_subscription(emulator: Emulator) -> None:
    token = token_for(emulator, emulator.arm_scope)

    response = arm_get(emulator, f"Bearer {token}")
    unknown = requests.get(
        f"{emulator.url}subscriptions/00000000-0000-0000-0000-000000000000?api-version=2022-12-01",
        headers={"Authorization": f"Bearer {token}"},
        verify=emulator.ca_cert,
        timeout=5,
    )

    assert response.json()["subscriptionId"] == emulator.subscription_id
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "SubscriptionNotFound"
