"""The emulator's private PKI: a CA, the HTTPS server certificate, the service principal's
client certificate and the key that signs every token the emulator issues.

Everything lands in the data directory and is reused when it is already there, so a client that
trusted the CA once keeps trusting it across restarts.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca-cert.pem"
SERVER_CERT = "server-cert.pem"
SERVER_KEY = "server-key.pem"
CLIENT_CERT = "client-cert.pem"  # certificate and private key in one PEM, as Azure DevOps keeps it
SIGNING_KEY = "token-signing-key.pem"
_VALIDITY = datetime.timedelta(days=825)


class Pki(NamedTuple):
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_certificate: x509.Certificate
    signing_key: rsa.RSAPrivateKey


def thumbprint_sha1(certificate: x509.Certificate) -> bytes:
    """The `x5t` of a client assertion is this, base64url-encoded."""
    return hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).digest()


def thumbprint_sha256(certificate: x509.Certificate) -> bytes:
    return certificate.fingerprint(hashes.SHA256())


def ensure_pki(data_dir: Path) -> Pki:
    data_dir.mkdir(parents=True, exist_ok=True)
    files = [
        data_dir / name for name in (CA_CERT, SERVER_CERT, SERVER_KEY, CLIENT_CERT, SIGNING_KEY)
    ]
    if not all(path.exists() for path in files):
        _generate(data_dir)
    client_pem = (data_dir / CLIENT_CERT).read_bytes()
    signing_key = serialization.load_pem_private_key((data_dir / SIGNING_KEY).read_bytes(), None)
    if not isinstance(signing_key, rsa.RSAPrivateKey):
        raise ValueError(f"{data_dir / SIGNING_KEY} does not hold an RSA key")
    return Pki(
        ca_cert=data_dir / CA_CERT,
        server_cert=data_dir / SERVER_CERT,
        server_key=data_dir / SERVER_KEY,
        client_cert=data_dir / CLIENT_CERT,
        client_certificate=x509.load_pem_x509_certificate(client_pem),
        signing_key=signing_key,
    )


def _generate(data_dir: Path) -> None:
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    # ECDSA P-256 keeps TLS handshakes fast; RSA is what Entra signs tokens and client
    # assertions with, so the token and client-certificate keys are RSA.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Swap Slots Emulator CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _builder(_name("127.0.0.1"), ca_name, server_key.public_key(), now)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    # Entra application certificates are usually self-signed; the emulator's is too.
    client_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_name = _name("swap-slots-emulator-service-principal")
    client_cert = (
        _builder(client_name, client_name, client_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(client_key, hashes.SHA256())
    )
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    _write(data_dir / CA_CERT, _cert_pem(ca_cert))
    _write(data_dir / SERVER_CERT, _cert_pem(server_cert) + _cert_pem(ca_cert))
    _write(data_dir / SERVER_KEY, _key_pem(server_key))
    _write(data_dir / CLIENT_CERT, _cert_pem(client_cert) + _key_pem(client_key))
    _write(data_dir / SIGNING_KEY, _key_pem(signing_key))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    not_before: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    path.chmod(0o600)
