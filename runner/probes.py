"""HTTP probes of a slot's own site: is it up, and which version does it serve?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import requests

VERSION_HEADER = "X-App-Version"


@dataclass(frozen=True)
class Probe:
    url: str
    status: int  # 0 when no HTTP answer came
    version: Optional[str]
    error: str = ""

    def describe(self) -> str:
        if self.status == 0:
            return f"no answer ({self.error})"
        version = f"version {self.version}" if self.version else "version not reported"
        return f"{version} (HTTP {self.status})"


# One session: the probes after a swap reuse the connections opened by the probes before it.
_session = requests.Session()


def probe_slot(url: str, timeout: float = 5.0) -> Probe:
    """GETs `url`; the version comes from the `X-App-Version` header or a JSON `version` field."""
    try:
        response = _session.get(url, timeout=timeout, allow_redirects=True)
    except requests.RequestException as error:
        return Probe(url, 0, None, type(error).__name__)
    version = response.headers.get(VERSION_HEADER)
    if version is None and "json" in response.headers.get("Content-Type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("version") is not None:
            version = str(body["version"])
    return Probe(url, response.status_code, version)
