"""Who is calling: a personal access token (Basic, any user name), the job's access token, or an
Entra token for Azure DevOps (the resource `499b84ac-…`) issued by the emulator's Entra.

Refusals look like the service's: no or unknown credentials are a 401 with the service's
challenge headers and no JSON body; the job's token may read and preview but not create
(403, `AccessCheckException`), as a build service identity without extra permissions.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from enum import Enum
from typing import Any, Callable

from runner.emulator.entra import tokens
from runner.emulator.entra.tenant import Entra
from runner.emulator.settings import ORGANIZATION, TENANT_ID
from runner.emulator.wire import HttpError, Request, Response

from .catalog import DEVOPS_PAT, DEVOPS_RESOURCE


class Caller(Enum):
    PERSON = "person"  # a PAT or an Entra token: the organization's administrator
    JOB = "job"  # System.AccessToken: the project's build service


def wrapped_exception(status: int, type_key: str, message: str, namespace: str = "") -> HttpError:
    """The service's error body, which the client raises as AzureDevOpsServiceError."""
    prefix = namespace or "Microsoft.TeamFoundation"
    return HttpError.json(
        status,
        {
            "$id": "1",
            "innerException": None,
            "message": message,
            "typeName": f"{prefix}.{type_key}, {prefix}",
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000,
        },
    )


class Access:
    def __init__(
        self, url: str, entra: Entra, system_access_token: str, clock: Callable[[], float]
    ) -> None:
        self._url = url
        self._entra = entra
        self._system_access_token = system_access_token
        self._clock = clock

    def caller(self, request: Request) -> Caller:
        scheme, _, credential = (request.header("Authorization") or "").partition(" ")
        credential = credential.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credential, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise self._unauthorized() from None
            secret = decoded.partition(":")[2]
            if hmac.compare_digest(secret, DEVOPS_PAT):
                return Caller.PERSON
            if hmac.compare_digest(secret, self._system_access_token):
                return Caller.JOB
        elif scheme.lower() == "bearer":
            if hmac.compare_digest(credential, self._system_access_token):
                return Caller.JOB
            if self._is_devops_token(credential):
                return Caller.PERSON
        raise self._unauthorized()

    def refuse_job_write(self, request: Request, what: str) -> None:
        raise wrapped_exception(
            403,
            "AccessCheckException",
            f"Access denied. {ORGANIZATION} Build Service ({ORGANIZATION}) needs Create "
            f"permissions for {what} to perform the action. For more information, contact the "
            "Azure DevOps Server administrator.",
            "Microsoft.VisualStudio.Services.Security",
        )

    def _is_devops_token(self, token: str) -> bool:
        try:
            jwt = self._entra.verify_own(token)
            tokens.check_lifetime(jwt, self._clock())
        except tokens.TokenError:
            return False
        audience = str(jwt.claims.get("aud", "")).rstrip("/").lower()
        return audience in (DEVOPS_RESOURCE, f"api://{DEVOPS_RESOURCE}")

    def _unauthorized(self) -> HttpError:
        headers: dict[str, Any] = {
            "Content-Type": "text/plain; charset=utf-8",
            "WWW-Authenticate": f"Bearer authorization_uri={self._url}{TENANT_ID}, "
            f'Basic realm="{self._url}", TFS-Federated',
            "X-TFS-FedAuthRealm": self._url,
            "X-VSS-ResourceTenant": TENANT_ID,
        }
        body = b"Access Denied: the personal access token or bearer token is not valid."
        return HttpError(Response(401, body, headers))
