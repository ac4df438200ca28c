"""Credentials for a connection, through azure-identity, for the connection's own cloud."""

from __future__ import annotations

from typing import Any, Optional

import requests
from azure import identity
from azure.core.pipeline.transport import RequestsTransport

from runner.azure.connection import ActionsTokenSource, Connection, OidcSource, Scheme
from runner.errors import UserError
from runner.log import Log
from runner.network import NetworkSettings, network_failure


class RegisteringCredential:
    """Wraps a credential so that every token it hands out is masked in the log at once."""

    def __init__(self, inner: Any, log: Log) -> None:
        self._inner = inner
        self._log = log

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        token = self._inner.get_token(*scopes, **kwargs)
        self._log.add_secret(token.token)
        return token

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def credential_for(
    connection: Connection, log: Log, network: NetworkSettings
) -> RegisteringCredential:
    """Builds the azure-identity credential for `connection`; no network call yet."""
    cloud = connection.cloud
    # Entra (and the managed identity endpoint) through the host's proxy and certificates.
    transport = RequestsTransport(session=network.session(), session_owner=False)
    options: dict[str, Any] = {"authority": cloud.authority, "transport": transport}
    if not cloud.is_known_public_authority:
        # A private authority (Azure Stack, the local emulator) must not leak calls to
        # login.microsoftonline.com for instance discovery.
        options["disable_instance_discovery"] = True
    scheme = connection.scheme
    inner: Any
    if scheme is Scheme.SERVICE_PRINCIPAL_SECRET:
        inner = identity.ClientSecretCredential(
            connection.tenant_id, connection.client_id, connection.client_secret, **options
        )
    elif scheme is Scheme.SERVICE_PRINCIPAL_CERTIFICATE:
        inner = identity.CertificateCredential(
            connection.tenant_id,
            connection.client_id,
            certificate_data=connection.certificate_pem.encode(),
            **options,
        )
    elif scheme is Scheme.WORKLOAD_IDENTITY:
        assert connection.oidc is not None
        oidc = connection.oidc
        inner = identity.ClientAssertionCredential(
            connection.tenant_id,
            connection.client_id,
            lambda: _pipeline_oidc_token(oidc, log, network),
            **options,
        )
    elif scheme is Scheme.GITHUB_OIDC:
        assert connection.actions_oidc is not None
        source = connection.actions_oidc
        inner = identity.ClientAssertionCredential(
            connection.tenant_id,
            connection.client_id,
            lambda: _actions_oidc_token(source, log, network),
            **options,
        )
    elif scheme is Scheme.AZURE_CLI:
        # `az account get-access-token` in a child process: azure/login's session, its cloud.
        inner = identity.AzureCliCredential(tenant_id=connection.tenant_id)
    elif scheme is Scheme.MANAGED_IDENTITY:
        inner = identity.ManagedIdentityCredential(
            client_id=connection.client_id or None, transport=transport
        )
    else:
        inner = identity.DefaultAzureCredential(**options)
    return RegisteringCredential(inner, log)


def _pipeline_oidc_token(oidc: OidcSource, log: Log, network: NetworkSettings) -> str:
    """Asks Azure DevOps for this job's OIDC token for the service connection."""
    url = oidc.request_uri.rstrip("/")
    try:
        with network.session() as session:
            response = session.post(
                url,
                params={"api-version": "7.1", "serviceConnectionId": oidc.service_connection_id},
                headers={
                    "Authorization": "Bearer " + oidc.system_access_token,
                    "Content-Type": "application/json",
                },
                timeout=30,
            )
    except requests.RequestException as error:
        raise network_failure(error, network) or UserError(
            f"Could not reach Azure DevOps for the OIDC token ({url}): {error}"
        ) from None
    token: Optional[str] = None
    if response.ok:
        try:
            token = response.json().get("oidcToken")
        except ValueError:
            token = None
    if not token:
        raise UserError(
            f"Azure DevOps did not issue an OIDC token for service connection "
            f"'{oidc.service_connection_id}' (HTTP {response.status_code}). Check that the "
            "connection uses workload identity federation and that this pipeline may use it."
        )
    log.add_secret(token)
    return str(token)


ACTIONS_AUDIENCE = "api://AzureADTokenExchange"  # what Entra expects of a federated credential


def _actions_oidc_token(source: ActionsTokenSource, log: Log, network: NetworkSettings) -> str:
    """Asks the GitHub Actions runtime for this job's OIDC token, for Entra's token exchange."""
    url = source.request_url
    try:
        with network.session() as session:
            response = session.get(
                url,
                params={"audience": ACTIONS_AUDIENCE},
                headers={"Authorization": "Bearer " + source.request_token},
                timeout=30,
            )
    except requests.RequestException as error:
        raise network_failure(error, network) or UserError(
            f"Could not reach GitHub for the job's OIDC token ({url.split('?')[0]}): {error}"
        ) from None
    token: Optional[str] = None
    if response.ok:
        try:
            token = response.json().get("value")
        except (ValueError, AttributeError):
            token = None
    if not token:
        raise UserError(
            f"GitHub did not issue an OIDC token for this job (HTTP {response.status_code}). "
            "Check that the job has `permissions: id-token: write`."
        )
    log.add_secret(token)
    return str(token)
