"""Entra ID (Azure AD) for one tenant and one service principal: discovery, keys and tokens.

The service principal can prove itself with its secret, with the emulator-issued client
certificate (a signed client assertion), or with a federated token from the emulator's Azure
DevOps OIDC endpoint (workload identity federation) or its GitHub Actions one. Errors carry
Entra's AADSTS codes and text.
"""

from __future__ import annotations

import datetime
import hmac
import uuid
from typing import Any, Callable

from runner.emulator.certificates import Pki, thumbprint_sha1, thumbprint_sha256
from runner.emulator.entra import tokens
from runner.emulator.entra.openid import openid_document
from runner.emulator.routing import Router
from runner.emulator.settings import (
    ARM_AUDIENCE,
    CLIENT_ID,
    FEDERATION_AUDIENCE,
    FEDERATION_ISSUER,
    FEDERATION_SUBJECT,
    GITHUB_ISSUER,
    GITHUB_SUBJECT,
    SERVICE_PRINCIPAL_OBJECT_ID,
    TENANT_ID,
)
from runner.emulator.wire import HttpError, Params, Request, Response

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The service principal's federated credentials: (issuer, subject, audience).
FEDERATED_CREDENTIALS = (
    (FEDERATION_ISSUER, FEDERATION_SUBJECT, FEDERATION_AUDIENCE),
    (GITHUB_ISSUER, GITHUB_SUBJECT, FEDERATION_AUDIENCE),
)


class Entra:
    def __init__(
        self,
        url: str,
        pki: Pki,
        client_secret: str,
        clock: Callable[[], float],
        client_secret_expired: bool = False,
        token_lifetime: int = tokens.ACCESS_TOKEN_LIFETIME,
    ) -> None:
        self._client_secret_expired = client_secret_expired
        self.token_lifetime = token_lifetime
        self.url = url  # ends with "/"
        self._pki = pki
        self._client_secret = client_secret
        self._clock = clock
        self._x5t = thumbprint_sha1(pki.client_certificate)
        self._x5t_s256 = thumbprint_sha256(pki.client_certificate)
        self.key_id = tokens.key_id(pki.signing_key.public_key())

    def add_routes(self, router: Router) -> None:
        router.add("GET", "/{tenant}/v2.0/.well-known/openid-configuration", self._openid_v2)
        router.add("GET", "/{tenant}/.well-known/openid-configuration", self._openid_v1)
        router.add("GET", "/{tenant}/discovery/v2.0/keys", self._keys)
        router.add("GET", "/{tenant}/discovery/keys", self._keys)
        router.add("POST", "/{tenant}/oauth2/v2.0/token", self._token_v2)
        router.add("POST", "/{tenant}/oauth2/token", self._token_v1)
        router.add("GET", "/common/discovery/instance", self._instance_discovery)

    # -- tokens the emulator issues ----------------------------------------------------------

    def issue(self, audience: str, app_id: str, object_id: str, method: str) -> str:
        """An access token shaped like the v1 tokens Entra issues for ARM."""
        now = int(self._clock())
        # Entra puts the resource's registered identifier in `aud`, whichever way the scope
        # spelled it ("https://management.core.windows.net//.default" or without the slash).
        if audience.rstrip("/") == ARM_AUDIENCE.rstrip("/"):
            audience = ARM_AUDIENCE
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{TENANT_ID}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime,
            "appid": app_id,
            "appidacr": method,  # "1" secret, "2" certificate or federated assertion
            "idp": f"https://sts.windows.net/{TENANT_ID}/",
            "idtyp": "app",
            "oid": object_id,
            "sub": object_id,
            "tid": TENANT_ID,
            "uti": tokens.new_token_id(),
            "ver": "1.0",
        }
        return tokens.sign(claims, self._pki.signing_key)

    def verify_own(self, token: str) -> tokens.Jwt:
        """A token this emulator signed (signature only; the caller checks claims)."""
        jwt = tokens.parse(token)
        if jwt.header.get("kid") != self.key_id:
            raise tokens.TokenError("The token was not issued by this emulator.")
        tokens.verify_signature(jwt, self._pki.signing_key.public_key())
        return jwt

    # -- discovery ---------------------------------------------------------------------------

    def _openid_v2(self, request: Request, params: Params) -> Response:
        base = self._tenant_base(params["tenant"])
        return Response.json(
            200,
            openid_document(
                base,
                "/v2.0",
                issuer=f"{base}/v2.0",
                extra={
                    "response_types_supported": [
                        "code",
                        "id_token",
                        "code id_token",
                        "id_token token",
                    ],
                    "scopes_supported": ["openid", "profile", "email", "offline_access"],
                    "request_uri_parameter_supported": False,
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "http_logout_supported": True,
                    "frontchannel_logout_supported": True,
                    "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
                },
            ),
        )

    def _openid_v1(self, request: Request, params: Params) -> Response:
        base = self._tenant_base(params["tenant"])
        return Response.json(
            200,
            openid_document(
                base,
                "",
                issuer=f"https://sts.windows.net/{TENANT_ID}/",
                extra={
                    "response_types_supported": [
                        "code",
                        "id_token",
                        "code id_token",
                        "token id_token",
                    ],
                    "scopes_supported": ["openid"],
                },
            ),
        )

    def _keys(self, request: Request, params: Params) -> Response:
        self._tenant_base(params["tenant"])
        return Response.json(200, {"keys": [tokens.jwk(self._pki.signing_key.public_key())]})

    def _instance_discovery(self, request: Request, params: Params) -> Response:
        # Clients configured for a private authority must never come here; tests check the log.
        host = self.url.split("/")[2]
        return Response.json(
            200,
            {
                "tenant_discovery_endpoint": (
                    f"{self.url}{TENANT_ID}/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [
                    {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
                ],
            },
        )

    # -- the token endpoints -----------------------------------------------------------------

    def _token_v2(self, request: Request, params: Params) -> Response:
        form = request.form()
        endpoint = f"{self._tenant_base(params['tenant'])}/oauth2/v2.0/token"
        scopes = [s for s in form.get("scope", "").split() if s.endswith("/.default")]
        if not scopes:
            raise self._error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope', '')} is not "
                "valid. Client credential flows must have a scope value with "
                "/.default suffixed to the resource identifier (application ID URI).",
            )
        audience = scopes[0][: -len("/.default")]
        method = self._authenticate_client(request, form, endpoint)
        token = self.issue(audience, CLIENT_ID, SERVICE_PRINCIPAL_OBJECT_ID, method)
        lifetime = self.token_lifetime
        return Response.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            },
        )

    def _token_v1(self, request: Request, params: Params) -> Response:
        form = request.form()
        endpoint = f"{self._tenant_base(params['tenant'])}/oauth2/token"
        resource = form.get("resource", "")
        if not resource:
            raise self._error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'resource'.",
            )
        method = self._authenticate_client(request, form, endpoint)
        token = self.issue(resource, CLIENT_ID, SERVICE_PRINCIPAL_OBJECT_ID, method)
        now, lifetime = int(self._clock()), self.token_lifetime
        # The v1 endpoint answers numbers as strings.
        return Response.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": str(lifetime),
                "ext_expires_in": str(lifetime),
                "expires_on": str(now + lifetime),
                "not_before": str(now),
                "resource": resource,
                "access_token": token,
            },
        )

    def _authenticate_client(self, request: Request, form: dict[str, str], endpoint: str) -> str:
        if form.get("grant_type") != "client_credentials":
            raise self._error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.",
            )
        client_id = form.get("client_id", "")
        if client_id.lower() != CLIENT_ID:
            raise self._error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the "
                f"directory '{TENANT_ID}'. This can happen if the application has "
                "not been installed by the administrator of the tenant or consented "
                "to by any user in the tenant. You may have sent your authentication "
                "request to the wrong tenant.",
            )
        if "client_secret" in form:
            if not hmac.compare_digest(form["client_secret"], self._client_secret):
                raise self._error(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in "
                    "the request is the client secret value, not the client secret "
                    f"ID, for a secret added to app '{CLIENT_ID}'.",
                )
            if self._client_secret_expired:
                raise self._error(
                    401,
                    "invalid_client",
                    7000222,
                    f"The provided client secret keys for app '{CLIENT_ID}' are expired. "
                    "Visit the Azure portal to create new keys for your app or consider "
                    "using certificate credentials for added security.",
                )
            return "1"
        if form.get("client_assertion_type") == JWT_BEARER and form.get("client_assertion"):
            self._check_assertion(form["client_assertion"], endpoint)
            return "2"
        raise self._error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: "
            "'client_assertion' or 'client_secret'.",
        )

    def _check_assertion(self, assertion: str, endpoint: str) -> None:
        try:
            jwt = tokens.parse(assertion)
        except tokens.TokenError as error:
            raise self._error(
                401, "invalid_client", 50027, f"JWT token is invalid: {error}"
            ) from None
        x5t = _thumbprint(jwt.header.get("x5t"))
        x5t_s256 = _thumbprint(jwt.header.get("x5t#S256"))
        if x5t == self._x5t or x5t_s256 == self._x5t_s256:
            self._check_certificate_assertion(jwt, endpoint)
        elif jwt.header.get("kid") == self.key_id:
            self._check_federated_assertion(jwt)
        else:
            raise self._error(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion "
                f"is not registered on application. [Reason - The key was not found., "
                f"Thumbprint of key used by client: '{jwt.header.get('x5t', '')}']",
            )

    def _check_signed_and_current(self, jwt: tokens.Jwt, public_key: Any, failure: str) -> None:
        try:
            tokens.verify_signature(jwt, public_key)
            tokens.check_lifetime(jwt, self._clock())
        except tokens.TokenExpired:
            raise self._error(
                400,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            ) from None
        except tokens.TokenError as error:
            raise self._error(401, "invalid_client", 700027, f"{failure}{error}") from None

    def _check_certificate_assertion(self, jwt: tokens.Jwt, endpoint: str) -> None:
        self._check_signed_and_current(
            jwt,
            self._pki.client_certificate.public_key(),
            "Client assertion failed signature validation. ",
        )
        audience = str(jwt.claims.get("aud", "")).rstrip("/")
        if audience.lower() != endpoint.lower():
            raise self._error(
                401,
                "invalid_client",
                700016,
                f"The audience '{audience}' of the client assertion is not the "
                f"token endpoint '{endpoint}'.",
            )
        if str(jwt.claims.get("iss", "")).lower() != CLIENT_ID:
            raise self._error(
                401,
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            )

    def _check_federated_assertion(self, jwt: tokens.Jwt) -> None:
        self._check_signed_and_current(jwt, self._pki.signing_key.public_key(), "")
        claims = jwt.claims
        if (claims.get("iss"), claims.get("sub"), claims.get("aud")) not in FEDERATED_CREDENTIALS:
            raise self._error(
                400,
                "invalid_request",
                70021,
                "No matching federated identity record found for presented "
                f"assertion. Assertion Issuer: '{claims.get('iss')}'. Assertion "
                f"Subject: '{claims.get('sub')}'. Assertion Audience: "
                f"'{claims.get('aud')}'.",
            )

    def _tenant_base(self, tenant: str) -> str:
        if tenant.lower() != TENANT_ID:
            raise self._error(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
            )
        return f"{self.url}{TENANT_ID}"

    def _error(self, status: int, error: str, code: int, description: str) -> HttpError:
        trace, correlation = uuid.uuid4(), uuid.uuid4()
        stamp = datetime.datetime.fromtimestamp(self._clock(), datetime.timezone.utc)
        timestamp = stamp.strftime("%Y-%m-%d %H:%M:%SZ")
        body: dict[str, Any] = {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
            f"Correlation ID: {correlation} Timestamp: {timestamp}",
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": str(trace),
            "correlation_id": str(correlation),
            "error_uri": f"{self.url}error?code={code}",
        }
        return HttpError.json(status, body)


def _thumbprint(value: Any) -> bytes | None:
    """A certificate thumbprint from a JWS header. The JWS spec says base64url without padding;
    MSAL pads it, and Microsoft's pipeline tasks send plain base64 ('+', '/', '='): Entra takes
    all three, so decode whichever it is."""
    if not isinstance(value, str) or not value:
        return None
    text = value.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        return tokens.b64url_decode(text)
    except ValueError:
        return None
