"""Scenarios: the emulator's Entra ID, Azure DevOps OIDC and managed identity endpoints accept
azure-identity's credentials unchanged, and refuse bad ones the way Entra does."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    AzurePipelinesCredential,
    CertificateCredential,
    ManagedIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.emulator_process import (
    Emulator,
    emulator_for_sdk,
    secret_credential,
    start_emulator,
    web_client,
)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with emulator_for_sdk(tmp_path_factory.mktemp("emulator")) as running:
        yield running


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def token_form(emulator: Emulator, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        **fields,
    }


def lists_the_app(emulator: Emulator, credential: Any) -> None:
    client = web_client(emulator, credential)
    assert [site.name for site in client.web_apps.list()] == ["contoso-web"]


def test_openid_configuration_points_at_the_emulator(emulator: Emulator) -> None:
    base = f"{emulator.url}{emulator.tenant_id}"

    v2 = requests.get(f"{base}/v2.0/.well-known/openid-configuration", timeout=5).json()
    v1 = requests.get(f"{base}/.well-known/openid-configuration", timeout=5).json()
    keys = requests.get(v2["jwks_uri"], timeout=5).json()

    assert v2["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert v2["issuer"] == f"{base}/v2.0"
    assert v2["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert v1["token_endpoint"] == f"{base}/oauth2/token"
    assert keys["keys"][0]["kty"] == "RSA"


def test_v1_token_endpoint_answers_like_entra_with_a_trailing_slash(emulator: Emulator) -> None:
    form = token_form(emulator, resource=emulator.arm_audience)

    response = requests.post(
        f"{emulator.url}{emulator.tenant_id}/oauth2/token/", data=form, timeout=5
    )

    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3600"
    assert claims(body["access_token"])["aud"] == emulator.arm_audience


def test_client_secret_credential_reaches_arm(emulator: Emulator) -> None:
    credential = secret_credential(emulator)

    token = credential.get_token(emulator.arm_scope)

    assert claims(token.token)["appid"] == emulator.client_id
    assert claims(token.token)["tid"] == emulator.tenant_id
    lists_the_app(emulator, credential)


def test_wrong_secret_is_refused_with_entra_error(emulator: Emulator) -> None:
    response = requests.post(
        f"{emulator.url}{emulator.tenant_id}/oauth2/v2.0/token",
        data=token_form(emulator, client_secret="nope", scope=emulator.arm_scope),
        timeout=5,
    )
    credential = secret_credential(emulator, "nope")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"].startswith("AADSTS7000215: Invalid client secret")
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token(emulator.arm_scope)


@pytest.mark.parametrize(
    ("tenant", "client", "code"),
    [
        ("99999999-0000-4000-8000-000000000000", None, "AADSTS90002"),
        (None, "99999999-0000-4000-8000-000000000000", "AADSTS700016"),
    ],
)
def test_unknown_tenant_or_client_is_refused(
    emulator: Emulator, tenant: str | None, client: str | None, code: str
) -> None:
    form = token_form(emulator, scope=emulator.arm_scope, client_id=client or emulator.client_id)

    response = requests.post(
        f"{emulator.url}{tenant or emulator.tenant_id}/oauth2/v2.0/token", data=form, timeout=5
    )

    assert response.status_code == 400
    assert response.json()["error_description"].startswith(code)


def test_certificate_credential_signs_in_with_the_issued_certificate(emulator: Emulator) -> None:
    credential = CertificateCredential(
        emulator.tenant_id,
        emulator.client_id,
        emulator.client_certificate,
        authority=emulator.url,
        disable_instance_discovery=True,
    )

    token = credential.get_token(emulator.arm_scope)

    assert claims(token.token)["appidacr"] == "2"
    lists_the_app(emulator, credential)


def test_another_certificate_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    other = start_emulator(tmp_path / "other")  # a different PKI, so a different certificate
    other.stop()
    credential = CertificateCredential(
        emulator.tenant_id,
        emulator.client_id,
        other.client_certificate,
        authority=emulator.url,
        disable_instance_discovery=True,
    )

    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        credential.get_token(emulator.arm_scope)


def test_azure_pipelines_credential_federates_the_devops_oidc_token(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", emulator.info["oidc_request_uri"])
    credential = AzurePipelinesCredential(
        tenant_id=emulator.tenant_id,
        client_id=emulator.client_id,
        service_connection_id=emulator.info["service_connection_id"],
        system_access_token=emulator.info["system_access_token"],
        authority=emulator.url,
        disable_instance_discovery=True,
    )

    token = credential.get_token(emulator.arm_scope)

    assert claims(token.token)["aud"] == emulator.arm_audience
    lists_the_app(emulator, credential)


@pytest.mark.parametrize(
    ("token", "connection", "status"),
    [("wrong-token", None, 401), (None, "99999999-0000-4000-8000-000000000000", 404)],
)
def test_devops_oidc_endpoint_checks_token_and_connection(
    emulator: Emulator, token: str | None, connection: str | None, status: int
) -> None:
    response = requests.post(
        emulator.info["oidc_request_uri"],
        params={
            "api-version": "7.1",
            "serviceConnectionId": connection or emulator.info["service_connection_id"],
        },
        headers={"Authorization": f"Bearer {token or emulator.info['system_access_token']}"},
        timeout=5,
    )

    assert response.status_code == status


def test_managed_identity_credential_uses_the_app_service_endpoint(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", emulator.info["msi_endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", emulator.info["msi_header"])
    credential = ManagedIdentityCredential()

    token = credential.get_token(emulator.arm_scope)

    assert claims(token.token)["appid"] == emulator.info["msi_client_id"]
    lists_the_app(emulator, credential)
    user_assigned = ManagedIdentityCredential(client_id=emulator.info["msi_client_id"])
    assert user_assigned.get_token(emulator.arm_scope).token


def test_managed_identity_endpoint_refuses_a_wrong_header(emulator: Emulator) -> None:
    response = requests.get(
        emulator.info["msi_endpoint"],
        params={"api-version": "2019-08-01", "resource": emulator.arm_audience},
        headers={"X-IDENTITY-HEADER": "wrong"},
        timeout=5,
    )

    assert response.status_code == 401


def test_no_client_asked_for_public_instance_discovery(emulator: Emulator) -> None:
    # Every credential of this module is configured for a private authority; one signs in here
    # too, as pytest-xdist may run this test on a worker where no other test of it ran.
    secret_credential(emulator).get_token(emulator.arm_scope)
    paths = [entry["path"].lower() for entry in emulator.requests()]

    assert any(path.endswith("/oauth2/v2.0/token") for path in paths)
    assert "/common/discovery/instance" not in paths


def test_arm_accepts_a_token_for_its_own_url(emulator: Emulator) -> None:
    """Outside Azure Stack, Microsoft's task asks Entra for the connection's ARM URL itself, as
    real ARM accepts `https://management.azure.com/`."""
    subscriptions = f"{emulator.url}subscriptions?api-version=2022-12-01"
    answers = {}
    for resource in (emulator.url, "https://management.azure.com/", "https://vault.azure.net"):
        form = token_form(emulator, resource=resource)
        token = requests.post(
            f"{emulator.url}{emulator.tenant_id}/oauth2/token/", data=form, timeout=5
        ).json()["access_token"]
        answer = requests.get(
            subscriptions, headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        answers[resource] = (answer.status_code, answer.json().get("error", {}).get("code"))

    assert answers == {
        emulator.url: (200, None),
        "https://management.azure.com/": (200, None),
        "https://vault.azure.net": (401, "InvalidAuthenticationTokenAudience"),
    }


def test_client_assertion_with_a_plain_base64_thumbprint_signs_in(emulator: Emulator) -> None:
    """Microsoft's pipeline tasks put the SHA-1 thumbprint in `x5t` as plain base64 ('+', '/',
    '='), sign the assertion for the v1 endpoint and post it with a trailing slash."""
    pem = Path(emulator.client_certificate).read_bytes()
    certificate = x509.load_pem_x509_certificate(pem)
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    der = certificate.public_bytes(serialization.Encoding.DER)
    x5t = base64.b64encode(hashlib.sha1(der).digest()).decode()
    header = {"alg": "RS256", "typ": "JWT", "x5t": x5t}
    now = int(time.time())
    endpoint = f"{emulator.url}{emulator.tenant_id}/oauth2/token"
    body: dict[str, Any] = {"aud": endpoint, "iss": emulator.client_id, "sub": emulator.client_id}
    body.update(jti="0.5", nbf=now - 1000, exp=now + 8640000)
    signing_input = ".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in (header, body)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    assertion = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()

    response = requests.post(
        endpoint + "/",
        data={
            "resource": emulator.url,
            "client_id": emulator.client_id,
            "grant_type": "client_credentials",
            "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
        timeout=5,
    )

    assert response.status_code == 200, response.text
    assert claims(response.json()["access_token"])["appidacr"] == "2"
