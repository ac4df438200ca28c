"""Credentials for Azure DevOps, looked for as `az devops` looks: a personal access token in
AZURE_DEVOPS_EXT_PAT, else the job's SYSTEM_ACCESSTOKEN (inside a pipeline), else an Entra token
for Azure DevOps from DefaultAzureCredential. The token itself is never shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from runner.errors import UserError

DEVOPS_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"
_PUBLIC_AUTHORITIES = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
)


class DevOpsCredentials(NamedTuple):
    msrest_credentials: Any  # msrest's Basic or bearer authentication
    source: str  # where they came from, for messages: never the token


def find_credentials(environ: Mapping[str, str]) -> DevOpsCredentials:
    from msrest.authentication import BasicAuthentication, BasicTokenAuthentication

    pat = environ.get("AZURE_DEVOPS_EXT_PAT", "").strip()
    if pat:
        return DevOpsCredentials(
            BasicAuthentication("", pat), "the personal access token in AZURE_DEVOPS_EXT_PAT"
        )
    job_token = environ.get("SYSTEM_ACCESSTOKEN", "").strip()
    if job_token:
        return DevOpsCredentials(
            BasicAuthentication("", job_token), "the job's access token in SYSTEM_ACCESSTOKEN"
        )
    token = _entra_token(environ)
    return DevOpsCredentials(
        BasicTokenAuthentication({"access_token": token}),
        "an Entra token from your Azure login (DefaultAzureCredential)",
    )


def _entra_token(environ: Mapping[str, str]) -> str:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    options: dict[str, Any] = {}
    authority = environ.get("AZURE_AUTHORITY_HOST", "")
    if authority and (urlsplit(authority).hostname or "") not in _PUBLIC_AUTHORITIES:
        # A private authority must not send instance discovery to login.microsoftonline.com.
        options["disable_instance_discovery"] = True
    credential = DefaultAzureCredential(**options)
    try:
        return str(credential.get_token(DEVOPS_SCOPE).token)
    except ClientAuthenticationError as error:
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise UserError(
            "No credentials for Azure DevOps: set AZURE_DEVOPS_EXT_PAT to a personal access token "
            "(the README lists its scopes), or map SYSTEM_ACCESSTOKEN in a pipeline, or sign in "
            "to Azure (az login) so that DefaultAzureCredential can get a token for Azure DevOps. "
            f"Azure said: {first_line}"
        ) from None
    finally:
        credential.close()
