"""Azure Stack Hub: a connection that names only ARM learns its authority and token audience
from the hub's own metadata, as Microsoft's tasks do (azure-arm-rest's `_updateAzureStackData`)."""

from __future__ import annotations

from typing import Any

import requests

from runner.azure.connection import Cloud
from runner.errors import UserError
from runner.network import NetworkSettings, network_failure

METADATA_API_VERSION = "2015-01-01"


def discover_endpoints(cloud: Cloud, network: NetworkSettings) -> Cloud:
    """`cloud` with `authentication.loginEndpoint` and `authentication.audiences[0]` of its ARM."""
    url = f"{cloud.arm_url}metadata/endpoints?api-version={METADATA_API_VERSION}"
    fill_in = (
        "Check the service connection's Azure Stack Hub URL, or give the connection its authority "
        "and audience (environmentAuthorityUrl, activeDirectoryServiceEndpointResourceId)."
    )
    with network.session() as session:
        try:
            response = session.get(url, headers={"Accept": "application/json"}, timeout=30)
        except requests.RequestException as error:
            raise network_failure(error, network) or UserError(
                f"Could not read Azure Stack Hub's endpoints from {url}: {error}. {fill_in}"
            ) from None
    authentication: Any = None
    if response.ok:
        try:
            authentication = response.json().get("authentication")
        except (ValueError, AttributeError):
            authentication = None
    if not isinstance(authentication, dict):
        raise UserError(
            f"Azure Stack Hub's endpoints could not be read from {url} (HTTP "
            f"{response.status_code}, no 'authentication' in the answer). {fill_in}"
        )
    login = str(authentication.get("loginEndpoint") or "")
    audiences = authentication.get("audiences")
    audience = str(audiences[0]) if isinstance(audiences, list) and audiences else cloud.audience
    if not login or not audience:
        raise UserError(
            f"Azure Stack Hub's endpoints at {url} name no "
            f"{'login endpoint' if not login else 'token audience'}. {fill_in}"
        )
    # Microsoft's task takes the login endpoint even when the connection has an authority.
    authority = login if login.endswith("/") else login + "/"
    return cloud._replace(authority=authority, audience=audience)
