"""The two token sources a pipeline agent has besides a secret: Azure DevOps' OIDC endpoint
(workload identity federation) and App Service's managed identity endpoint."""

from __future__ import annotations

import hmac
import uuid
from typing import Callable

from runner.emulator.certificates import Pki
from runner.emulator.entra import tokens
from runner.emulator.entra.tenant import Entra
from runner.emulator.routing import Router
from runner.emulator.settings import (
    FEDERATION_AUDIENCE,
    FEDERATION_ISSUER,
    FEDERATION_SUBJECT,
    JOB_ID,
    MSI_CLIENT_ID,
    MSI_PRINCIPAL_ID,
    ORGANIZATION,
    PLAN_ID,
    PROJECT_ID,
    SERVICE_CONNECTION_ID,
)
from runner.emulator.wire import HttpError, Params, Request, Response

OIDC_TEMPLATE = (
    "/{org}/{project}/_apis/distributedtask/hubs/{hub}/plans/{plan}/jobs/{job}/oidctoken"
)
MSI_PATH = "/msi/token"
OIDC_TOKEN_LIFETIME = 600


def oidc_request_uri(url: str) -> str:
    """What the agent puts in SYSTEM_OIDCREQUESTURI for a job."""
    return (
        f"{url}{ORGANIZATION}/{PROJECT_ID}/_apis/distributedtask/hubs/build/plans/"
        f"{PLAN_ID}/jobs/{JOB_ID}/oidctoken"
    )


class Workload:
    def __init__(
        self,
        entra: Entra,
        pki: Pki,
        system_access_token: str,
        msi_header: str,
        clock: Callable[[], float],
    ) -> None:
        self._entra = entra
        self._pki = pki
        self._system_access_token = system_access_token
        self._msi_header = msi_header
        self._clock = clock

    def add_routes(self, router: Router) -> None:
        router.add("POST", OIDC_TEMPLATE, self._oidc_token)
        router.add("GET", MSI_PATH, self._msi_token)

    def _oidc_token(self, request: Request, params: Params) -> Response:
        authorization = request.header("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token, self._system_access_token):
            raise _devops_error(
                401,
                "UnauthorizedRequestException",
                "TF400813: The user '' is not authorized to access this resource.",
            )
        if not request.param("api-version"):
            raise _devops_error(
                400,
                "VssVersionNotSpecifiedException",
                "The API version for this request is not specified.",
            )
        if params["org"].lower() != ORGANIZATION:
            raise _devops_error(
                404,
                "OrganizationNotFoundException",
                f"The organization '{params['org']}' was not found.",
            )
        connection = request.param("serviceConnectionId") or ""
        if connection.lower() != SERVICE_CONNECTION_ID:
            raise _devops_error(
                404,
                "ServiceEndpointNotFoundException",
                f"Service connection with id '{connection}' was not found or "
                "you do not have permission to use it.",
            )
        now = int(self._clock())
        claims = {
            "jti": str(uuid.uuid4()),
            "sub": FEDERATION_SUBJECT,
            "aud": FEDERATION_AUDIENCE,
            "iss": FEDERATION_ISSUER,
            "nbf": now,
            "iat": now,
            "exp": now + OIDC_TOKEN_LIFETIME,
        }
        return Response.json(200, {"oidcToken": tokens.sign(claims, self._pki.signing_key)})

    def _msi_token(self, request: Request, params: Params) -> Response:
        if not hmac.compare_digest(request.header("X-IDENTITY-HEADER") or "", self._msi_header):
            raise HttpError.json(
                401,
                {
                    "statusCode": 401,
                    "message": "The X-IDENTITY-HEADER header is missing or "
                    "does not match IDENTITY_HEADER.",
                },
            )
        if request.param("api-version") != "2019-08-01":
            raise HttpError.json(
                400, {"statusCode": 400, "message": "api-version must be 2019-08-01."}
            )
        resource = request.param("resource")
        if not resource:
            raise HttpError.json(
                400, {"statusCode": 400, "message": "The resource parameter is required."}
            )
        client_id, object_id = request.param("client_id"), request.param("object_id")
        if (client_id and client_id.lower() != MSI_CLIENT_ID) or (
            object_id and object_id.lower() != MSI_PRINCIPAL_ID
        ):
            raise HttpError.json(
                400,
                {
                    "statusCode": 400,
                    "message": "No User Assigned or Delegated Managed Identity "
                    "found for specified ClientId/ResourceId/"
                    "PrincipalId.",
                },
            )
        audience = resource[: -len("/.default")] if resource.endswith("/.default") else resource
        token = self._entra.issue(audience, MSI_CLIENT_ID, MSI_PRINCIPAL_ID, "2")
        expires_on = int(self._clock()) + tokens.ACCESS_TOKEN_LIFETIME
        return Response.json(
            200,
            {
                "access_token": token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": MSI_CLIENT_ID,
            },
        )


def _devops_error(status: int, type_key: str, message: str) -> HttpError:
    return HttpError.json(
        status,
        {
            "$id": "1",
            "innerException": None,
            "message": message,
            "typeName": f"Microsoft.TeamFoundation.{type_key}",
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000,
        },
    )
