"""JSON Web Tokens: the emulator signs access and OIDC tokens (RS256) and checks those it is shown.

A few dozen lines of JWS are enough here and keep the emulator free of a JWT dependency.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ACCESS_TOKEN_LIFETIME = 3600


class TokenError(Exception):
    """A token that cannot be trusted; the message says why."""


class TokenExpired(TokenError):
    def __init__(self, expiry: float, now: float) -> None:
        super().__init__("The token has expired.")
        self.expiry = expiry
        self.now = now


class Jwt(NamedTuple):
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: rsa.RSAPublicKey) -> str:
    numbers = key.public_numbers()
    return b64url(hashlib.sha256(numbers.n.to_bytes(256, "big")).digest()[:20])


def jwk(key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The key as `discovery/v2.0/keys` publishes it."""
    numbers = key.public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": key_id(key),
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
    }


def sign(claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    header = {"typ": "JWT", "alg": "RS256", "kid": key_id(key.public_key())}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def parse(token: str) -> Jwt:
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("The token is not a JWT (it does not have three parts).")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError:
        raise TokenError("The token is not a JWT (its parts are not base64url JSON).") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("The token is not a JWT (header or claims are not objects).")
    return Jwt(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def verify_signature(jwt: Jwt, key: rsa.RSAPublicKey) -> None:
    """RS256 as Entra and Azure DevOps sign, PS256 as MSAL signs certificate assertions."""
    algorithm = jwt.header.get("alg")
    if algorithm == "RS256":
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
    elif algorithm == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    else:
        raise TokenError(f"The token's algorithm {algorithm!r} is not supported.")
    try:
        key.verify(jwt.signature, jwt.signing_input, pad, hashes.SHA256())
    except InvalidSignature:
        raise TokenError("The token's signature is invalid.") from None


def check_lifetime(jwt: Jwt, now: float | None = None, leeway: float = 0) -> None:
    moment = time.time() if now is None else now
    exp = jwt.claims.get("exp")
    if not isinstance(exp, (int, float)):
        raise TokenError("The token has no expiry ('exp').")
    if exp + leeway < moment:
        raise TokenExpired(exp, moment)
    nbf = jwt.claims.get("nbf")
    if isinstance(nbf, (int, float)) and nbf - 300 > moment:
        raise TokenError("The token is not valid yet ('nbf').")


def new_token_id() -> str:
    return b64url(uuid.uuid4().bytes)
