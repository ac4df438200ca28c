"""The agent's network settings (proxy, CA bundle, client certificate): how the agent names
them, and its client certificate opened from the files it was configured with.

The agent hands them to a task as variables (`Agent.ProxyUrl`, `Agent.CAInfo`, ...), read once by
`runner.agent.environment` into a `runner.network.NetworkSettings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from runner.errors import UserError
from runner.network import ClientCertificate, HostWords

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

AGENT_WORDS = HostWords(
    who="the agent",
    ca_setting="Agent.CAInfo",
    trust_fix="Give the agent the CA certificate that issued it: configure the agent with "
    "--sslcacert <ca.pem> (the task reads it as Agent.CAInfo), or install it where Python trusts "
    "it (REQUESTS_CA_BUNDLE).",
    client_certificate_fix="Configure the agent with --sslclientcert, --sslclientcertkey, "
    "--sslclientcertarchive and --sslclientcertpassword (Agent.ClientCert, ...).",
    proxy_credentials_fix="Check the proxy user name and password the agent was configured with "
    "(--proxyusername, --proxypassword: Agent.ProxyUsername and Agent.ProxyPassword).",
    proxy_fix="Check the agent's proxy (--proxyurl, Agent.ProxyUrl), or list the host in the "
    "agent's .proxybypass file (Agent.ProxyBypassList).",
)


def load_client_certificate(
    cert_file: str, key_file: str, archive_file: str, password: str
) -> ClientCertificate:
    """Opens the agent's client certificate: a PEM and its key, else the .pfx archive.

    Raises UserError naming the file when it cannot be read or the password does not open it.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509 import load_pem_x509_certificates

    secret = password.encode() or None
    key: Optional[PrivateKeyTypes]
    if key_file:
        source = f"{cert_file} with key {key_file} (Agent.ClientCert, Agent.ClientCertKey)"
        try:
            chain = load_pem_x509_certificates(_agent_file(cert_file, "Agent.ClientCert"))
            key_pem = _agent_file(key_file, "Agent.ClientCertKey")
            key = serialization.load_pem_private_key(key_pem, secret)
        except (ValueError, TypeError) as error:
            raise UserError(
                f"The agent's client certificate {source} cannot be opened: {error}. Check the "
                "files and the password the agent was configured with (--sslclientcert, "
                "--sslclientcertkey, --sslclientcertpassword)."
            ) from None
    elif archive_file:
        source = f"{archive_file} (Agent.ClientCertArchive)"
        try:
            key, first, extra = pkcs12.load_key_and_certificates(
                _agent_file(archive_file, "Agent.ClientCertArchive"), secret
            )
        except (ValueError, TypeError) as error:
            raise UserError(
                f"The agent's client certificate archive {archive_file} cannot be opened: "
                f"{error}. Check the archive and the password the agent was configured with "
                "(--sslclientcertarchive, --sslclientcertpassword: Agent.ClientCertPassword)."
            ) from None
        chain = [c for c in [first, *extra] if c is not None]
    else:
        raise UserError(
            f"The agent gives a client certificate ({cert_file}, Agent.ClientCert) but neither "
            "its key (Agent.ClientCertKey) nor an archive (Agent.ClientCertArchive). Configure "
            "the agent with --sslclientcertkey or --sslclientcertarchive."
        )
    if key is None or not chain:
        raise UserError(f"The agent's client certificate {source} holds no certificate and key.")
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    pem += key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ClientCertificate(source, pem)


def _agent_file(path: str, variable: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise UserError(
            f"{variable} names '{path}', which cannot be read ({error.strerror}). Check the "
            "agent's configuration: the file must exist on the agent and be readable by it."
        ) from None
