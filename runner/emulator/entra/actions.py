"""GitHub Actions' OIDC token endpoint, as a job with `permissions: id-token: write` sees it:
`GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with `Authorization: Bearer
$ACTIONS_ID_TOKEN_REQUEST_TOKEN` answers `{"value": "<jwt>"}`, a token Entra accepts as a
federated credential (issuer https://token.actions.githubusercontent.com)."""

from __future__ import annotations

import hmac
import uuid
from typing import Callable

from runner.emulator.certificates import Pki
from runner.emulator.entra import tokens
from runner.emulator.routing import Router
from runner.emulator.settings import (
    GITHUB_ISSUER,
    GITHUB_REPOSITORY,
    GITHUB_SUBJECT,
    JOB_ID,
    PLAN_ID,
)
from runner.emulator.wire import HttpError, Params, Request, Response

ID_TOKEN_TEMPLATE = "/_actions/_apis/distributedtask/hubs/Actions/plans/{plan}/jobs/{job}/idtoken"
ID_TOKEN_LIFETIME = 300  # GitHub's tokens live 5 minutes


def id_token_request_url(url: str) -> str:
    """What the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL (it already has a query)."""
    return (
        f"{url}_actions/_apis/distributedtask/hubs/Actions/plans/{PLAN_ID}/jobs/{JOB_ID}/"
        "idtoken?api-version=2.0"
    )


class ActionsTokens:
    def __init__(self, pki: Pki, request_token: str, clock: Callable[[], float]) -> None:
        self._pki = pki
        self._request_token = request_token
        self._clock = clock

    def add_routes(self, router: Router) -> None:
        router.add("GET", ID_TOKEN_TEMPLATE, self._id_token)

    def _id_token(self, request: Request, params: Params) -> Response:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token, self._request_token):
            raise HttpError.json(401, {"message": "Unauthorized: the request token is not valid"})
        if not request.param("api-version"):
            raise HttpError.json(400, {"message": "The API version is not specified."})
        owner = GITHUB_REPOSITORY.split("/")[0]
        now = int(self._clock())
        claims = {
            "jti": str(uuid.uuid4()),
            "sub": GITHUB_SUBJECT,
            # Without `audience` GitHub uses the repository owner's URL.
            "aud": request.param("audience") or f"https://github.com/{owner}",
            "iss": GITHUB_ISSUER,
            "repository": GITHUB_REPOSITORY,
            "repository_owner": owner,
            "environment": "production",
            "ref": "refs/heads/main",
            "nbf": now,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
        }
        return Response.json(200, {"value": tokens.sign(claims, self._pki.signing_key)})
