"""The OpenID Connect discovery document Entra publishes per tenant, in its v1 and v2 forms."""

from __future__ import annotations

from typing import Any


def openid_document(base: str, version: str, issuer: str, extra: dict[str, Any]) -> dict[str, Any]:
    """What Entra's v1 (`version` "") and v2 (`"/v2.0"`) OpenID configurations share."""
    oauth = f"{base}/oauth2{version}"
    return {
        "token_endpoint": f"{oauth}/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery{version}/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": issuer,
        "authorization_endpoint": f"{oauth}/authorize",
        "end_session_endpoint": f"{oauth}/logout",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "emulator",
        **extra,
    }
