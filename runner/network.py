"""How this host reaches the outside world (proxy, CA bundle, client certificate), applied to
every client: a value each host fills from its own settings.

The agent's come from its variables (`Agent.ProxyUrl`, `Agent.CAInfo`, ...:
`runner.agent.environment`), a GitHub runner's from the job's environment (`HTTPS_PROXY`,
`NO_PROXY`, `REQUESTS_CA_BUNDLE`: `runner.github.environment`). Every HTTP client of the task
(azure-identity, the ARM pipeline, an OIDC token request, the probes of the slots' sites) sends
through a `requests.Session` made here, so each one honours them the same way, as Microsoft's
tasks do through azure-pipelines-task-lib.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, cast
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, should_bypass_proxies
from urllib3.util.retry import Retry

from runner.errors import UserError

if TYPE_CHECKING:
    from requests.sessions import _Settings


class HostWords(NamedTuple):
    """How the host that filled the settings names them, for the messages about a failure."""

    who: str  # whose settings: "the agent"
    ca_setting: str  # the name of the extra CA bundle's setting
    trust_fix: str  # how to trust a CA
    client_certificate_fix: str  # how to give a TLS client certificate
    proxy_credentials_fix: str  # how to fix the proxy's user name and password
    proxy_fix: str  # how to fix the proxy, or go around it


# A terminal, or any host that leaves requests' environment variables in charge.
ENVIRONMENT_WORDS = HostWords(
    who="this machine",
    ca_setting="REQUESTS_CA_BUNDLE",
    trust_fix="Set REQUESTS_CA_BUNDLE to a PEM bundle that holds the CA certificate that "
    "issued it.",
    client_certificate_fix="Swap Slots can present one only as an Azure Pipelines task "
    "(the agent's --sslclientcert).",
    proxy_credentials_fix="Check the user name and password in HTTPS_PROXY "
    "(http://user:password@host:port, percent-encoded).",
    proxy_fix="Check HTTPS_PROXY, or list the host in NO_PROXY.",
)


@dataclass(frozen=True)
class Proxy:
    """A proxy, its credentials, and the URLs sent around it: regular expressions searched in
    the whole URL (the agent's `.proxybypass`) or a NO_PROXY list (as requests reads it)."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    bypass: tuple[re.Pattern[str], ...] = ()
    no_proxy: str = ""

    @property
    def address(self) -> str:
        """The proxy as the user named it, without credentials: safe to print."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"

    @property
    def credentials_in_url(self) -> str:
        """The user name and password as they appear percent-encoded in the proxy URL."""
        if not self.username:
            return ""
        return f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"

    def bypasses(self, url: str) -> bool:
        # As azure-pipelines-task-lib: each pattern is searched in the whole URL, any case.
        if any(pattern.search(url) for pattern in self.bypass):
            return True
        return bool(self.no_proxy) and should_bypass_proxies(url, self.no_proxy)

    def proxies_for(self, url: str) -> dict[str, str]:
        """`requests` proxies for one URL; empty strings send the request directly."""
        if self.bypasses(url):
            return {"http": "", "https": ""}
        auth = self.credentials_in_url
        proxy = self.address.replace("://", f"://{auth}@", 1) if auth else self.address
        return {"http": proxy, "https": proxy}


@dataclass(frozen=True)
class ClientCertificate:
    """A TLS client certificate and its key, as one unencrypted PEM."""

    source: str  # the file(s) it came from, for messages
    pem: bytes = field(repr=False)  # the certificate chain, then its private key


@dataclass(frozen=True)
class NetworkSettings:
    """How this host reaches the outside world. The default: requests' own environment
    variables, nothing more."""

    proxy: Optional[Proxy] = None
    ca_file: str = ""  # trusted in addition to what Python trusts anyway
    client_certificate: Optional[ClientCertificate] = None
    temp_dir: str = ""  # where derived files go (the host empties it after each job)
    words: HostWords = ENVIRONMENT_WORDS

    @property
    def secrets(self) -> tuple[str, ...]:
        values: list[str] = []
        if self.proxy is not None and self.proxy.password:
            values += [self.proxy.password, quote(self.proxy.password, safe="")]
        if self.client_certificate is not None:
            pem = self.client_certificate.pem
            values.append(pem[pem.find(b"-----BEGIN PRIVATE KEY-----") :].decode("ascii"))
        return tuple(values)

    def session(self) -> requests.Session:
        """A new session that applies these settings to each request it sends."""
        return _SettingsSession(self)

    def describe(self) -> list[str]:
        """One line per setting in use, for the log (no secrets)."""
        lines: list[str] = []
        if self.proxy is not None:
            who = f" as '{self.proxy.username}'" if self.proxy.username else ""
            bypass = ", ".join(p.pattern for p in self.proxy.bypass)
            lines.append(f"Proxy: {self.proxy.address}{who}")
            if bypass:
                lines.append(f"Not through the proxy: URLs matching {bypass}")
        if self.ca_file:
            lines.append(f"Trusted CA certificates: {self.ca_file} ({self.words.ca_setting})")
        if self.client_certificate is not None:
            lines.append(f"Client certificate: {self.client_certificate.source}")
        return lines

    def ca_bundle(self, base: str) -> str:
        """A bundle of `base` (what requests would trust) plus `ca_file`; made once."""
        if base == self.ca_file:  # REQUESTS_CA_BUNDLE, which requests uses anyway
            return base
        if base not in self._bundles:
            self._bundles[base] = self._write(_read(base) + b"\n" + _read(self.ca_file))
        return self._bundles[base]

    def client_certificate_file(self) -> Optional[str]:
        if self.client_certificate is None:
            return None
        if "cert" not in self._bundles:
            self._bundles["cert"] = self._write(self.client_certificate.pem)
        return self._bundles["cert"]

    @cached_property
    def _bundles(self) -> dict[str, str]:
        return {}

    def _write(self, content: bytes) -> str:
        handle, path = tempfile.mkstemp(
            prefix="swap-slots-", suffix=".pem", dir=self.temp_dir or None
        )
        with os.fdopen(handle, "wb") as file:  # mkstemp: readable by this user only
            file.write(content)
        return path


class _SettingsSession(requests.Session):
    """requests' own choices (REQUESTS_CA_BUNDLE, HTTPS_PROXY) unless the settings say otherwise."""

    def __init__(self, network: NetworkSettings) -> None:
        super().__init__()
        self._network = network
        # As azure-core sets up its own sessions: urllib3 never retries; the callers decide.
        adapter = HTTPAdapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        network = self._network
        if network.proxy is not None:
            settings["proxies"] = network.proxy.proxies_for(str(url))
        if network.ca_file and settings["verify"] is not False:
            base = settings["verify"] if isinstance(settings["verify"], str) else ""
            settings["verify"] = network.ca_bundle(base or DEFAULT_CA_BUNDLE_PATH)
        if network.client_certificate is not None and not settings["cert"]:
            settings["cert"] = network.client_certificate_file()
        return settings

    def rebuild_proxies(self, prepared_request: Any, proxies: Any) -> dict[str, str]:
        # A redirect to another host is proxied, or bypassed, by its own URL.
        if self._network.proxy is not None:
            proxies = self._network.proxy.proxies_for(str(prepared_request.url))
        rebuilt: dict[str, str] = cast(Any, super()).rebuild_proxies(prepared_request, proxies)
        return rebuilt


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def network_failure(error: BaseException, network: NetworkSettings) -> Optional[UserError]:
    """What a TLS or proxy failure anywhere in `error`'s chain means for the user, or None."""
    chain = list(_chain(error))
    host = next(filter(None, map(_host_of, chain)), "the server")
    words = network.words
    untrusted = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if untrusted is not None or any("CERTIFICATE_VERIFY_FAILED" in str(e) for e in chain):
        reason = getattr(untrusted, "verify_message", "") or "certificate verify failed"
        via = (
            f" (reached through {words.who}'s proxy {network.proxy.address}: a proxy that "
            "inspects TLS presents its own certificate)"
            if network.proxy is not None and not network.proxy.bypasses(f"https://{host}/")
            else ""
        )
        trusted = f" {words.ca_setting} is '{network.ca_file}'." if network.ca_file else ""
        return UserError(
            f"The TLS certificate of {host} is not trusted ({reason}){via}.{trusted} "
            + words.trust_fix
        )
    refused = any(alert in str(e) for e in chain for alert in _CLIENT_CERTIFICATE_ALERTS)
    # Under TLS 1.3 a refused client certificate often shows only as the server hanging up.
    hung_up = any(isinstance(e, ssl.SSLEOFError) for e in chain)
    certificate = network.client_certificate
    if certificate is not None and (refused or hung_up):
        return UserError(
            f"{host} refused {words.who}'s TLS client certificate {certificate.source} (it "
            f"{'rejected it' if refused else 'closed the connection during the handshake'}). "
            "Check that it is the certificate this server expects and that it has not expired."
        )
    if refused:
        return UserError(
            f"{host} asks for a TLS client certificate and {words.who} has none. "
            + words.client_certificate_fix
        )
    proxy_error = next((e for e in chain if isinstance(e, requests.exceptions.ProxyError)), None)
    if proxy_error is not None and network.proxy is not None:
        said = str(proxy_error)
        if "407" in said:
            return UserError(
                f"{words.who.capitalize()}'s proxy {network.proxy.address} refused to forward the "
                f"call to {host}: 407 Proxy Authentication Required. " + words.proxy_credentials_fix
            )
        return UserError(
            f"Could not reach {host} through {words.who}'s proxy {network.proxy.address}: "
            f"{_last_line(said)}. " + words.proxy_fix
        )
    return None


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[Any] = [error]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__, getattr(current, "inner_exception", None)]
        todo += [getattr(current, "reason", None), *current.args]
    return seen


# What OpenSSL reports when the server refused, or wanted, a client certificate.
_CLIENT_CERTIFICATE_ALERTS = (
    "ALERT_UNKNOWN_CA",
    "ALERT_BAD_CERTIFICATE",
    "ALERT_CERTIFICATE_REQUIRED",
    "ALERT_CERTIFICATE_UNKNOWN",
    "ALERT_CERTIFICATE_EXPIRED",
)
_POOL_HOST = re.compile(r"host='([^']+)', port=(\d+)")


def _host_of(error: BaseException) -> str:
    request = getattr(error, "request", None)
    url = getattr(request, "url", None)
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return urlsplit(url).netloc.rsplit("@", 1)[-1]
    match = _POOL_HOST.search(str(error))
    if match is None:
        return ""
    return match.group(1) if match.group(2) == "443" else f"{match.group(1)}:{match.group(2)}"


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1][:300] if text.strip() else "no answer"
