"""Scenarios: the emulator's GitHub Actions OIDC endpoint, and its Entra ID trusting the token as
a federated credential, through azure-identity unchanged."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential

from tests.emulator_process import Emulator, emulator_for_sdk, web_client


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with emulator_for_sdk(tmp_path_factory.mktemp("emulator")) as running:
        yield running


def id_token(emulator: Emulator, audience: str | None, token: str | None = None) -> Any:
    params = {"audience": audience} if audience else {}
    return requests.get(
        emulator.info["actions_id_token_request_url"],
        params=params,
        headers={
            "Authorization": f"Bearer {token or emulator.info['actions_id_token_request_token']}"
        },
        timeout=5,
    )


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def credential(emulator: Emulator, audience: str | None) -> ClientAssertionCredential:
    return ClientAssertionCredential(
        emulator.tenant_id,
        emulator.client_id,
        lambda: str(id_token(emulator, audience).json()["value"]),
        authority=emulator.url,
        disable_instance_discovery=True,
    )


def test_the_jobs_token_is_shaped_as_githubs_and_entra_exchanges_it(emulator: Emulator) -> None:
    answer = id_token(emulator, "api://AzureADTokenExchange")

    assert answer.status_code == 200
    issued = claims(answer.json()["value"])
    assert issued["iss"] == "https://token.actions.githubusercontent.com"
    assert issued["sub"] == emulator.info["github_federated_subject"]
    assert issued["aud"] == "api://AzureADTokenExchange"
    assert issued["repository"] == "contoso/contoso-web"
    client = web_client(emulator, credential(emulator, "api://AzureADTokenExchange"))
    assert [site.name for site in client.web_apps.list()] == ["contoso-web"]


def test_a_token_for_another_audience_is_not_a_federated_credential(emulator: Emulator) -> None:
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        credential(emulator, None).get_token(emulator.arm_scope)


def test_a_wrong_request_token_is_refused(emulator: Emulator) -> None:
    assert id_token(emulator, "api://AzureADTokenExchange", "wrong-token").status_code == 401
