"""HTTP probes of a slot's own site: is it up, and which version does it serve?"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timezone
from http.cookiejar import Cookie
from typing import Callable, NamedTuple, Optional

import requests

VERSION_HEADER = "X-App-Version"
ROUTING_COOKIE = "x-ms-routing-name"  # App Service's routing rules pin a client with it
EXCERPT_CHARACTERS = 200


class Probe(NamedTuple):
    url: str
    status: int  # 0 when no HTTP answer came
    version: Optional[str]
    error: str = ""
    body_excerpt: str = ""  # the start of the body of an answer that is not 2xx
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def describe(self) -> str:
        if self.status == 0:
            return f"no answer ({self.error})"
        version = f"version {self.version}" if self.version else "version not reported"
        return f"{version} (HTTP {self.status})"


class SlotProbes:
    """Probes through one session (the agent's proxy and certificates): the probes after a swap
    reuse the connections opened by the probes before it."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        self._listeners: list[Callable[[Probe, datetime], None]] = []

    def listen(self, listener: Callable[[Probe, datetime], None]) -> None:
        """`listener` hears every probe, with the moment it was sent (the run's report)."""
        self._listeners.append(listener)

    def probe(self, url: str, timeout: float = 5.0, routed_to: Optional[str] = None) -> Probe:
        """GETs `url`; the version comes from the `X-App-Version` header or a JSON `version`.

        `routed_to`: a slot that production's routing rule serves this request from (the
        routing cookie), without pinning the session's later requests there.
        """
        sent = datetime.now(timezone.utc)
        probe = self._probe(url, timeout, routed_to)
        for listener in self._listeners:
            listener(probe, sent)
        return probe

    def _probe(self, url: str, timeout: float, routed_to: Optional[str]) -> Probe:
        started = time.monotonic()
        cookies = {ROUTING_COOKIE: routed_to} if routed_to else None
        try:
            response = self._session.get(
                url, timeout=timeout, allow_redirects=True, cookies=cookies
            )
        except requests.RequestException as error:
            return Probe(url, 0, None, _reason(error), seconds=time.monotonic() - started)
        finally:
            if routed_to:
                jar: Iterable[Cookie] = iter(self._session.cookies)  # type: ignore[arg-type]
                for cookie in list(jar):
                    if cookie.name == ROUTING_COOKIE:
                        self._session.cookies.clear(cookie.domain, cookie.path, cookie.name)
        seconds = time.monotonic() - started
        version = response.headers.get(VERSION_HEADER)
        if version is None and "json" in response.headers.get("Content-Type", ""):
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get("version") is not None:
                version = str(body["version"])
        excerpt = "" if 200 <= response.status_code < 300 else _excerpt(response.text)
        return Probe(url, response.status_code, version, body_excerpt=excerpt, seconds=seconds)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARACTERS:
        return flat
    return flat[:EXCERPT_CHARACTERS] + "..."


def _reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(
        error
    ):
        return "its TLS certificate is not trusted: see Agent.CAInfo"
    if isinstance(error, requests.exceptions.ProxyError):
        return "the agent's proxy refused it"
    return type(error).__name__
