"""`swap-slots emulator-deploy`: ask a running emulator to deploy a version to a slot."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any


class DeployFailed(Exception):
    """The emulator refused the deployment or could not be reached; the message says why."""


def deploy_version(
    url: str,
    ca_cert: str,
    app: str,
    slot: str,
    version: str,
    health: str,
    resource_group: str | None = None,
    warmup_seconds: float = 0.0,
    slower_ms: float = 0.0,
    error_percent: float | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"app": app, "slot": slot, "version": version, "health": health}
    body["warmup_seconds"] = warmup_seconds
    body["slower_ms"] = slower_ms
    if error_percent is not None:
        body["error_percent"] = error_percent
    if resource_group:
        body["resource_group"] = resource_group
    return _post(url, ca_cert, "deploy", body)


def set_slot_state(
    url: str, ca_cert: str, app: str, slot: str, action: str, resource_group: str | None = None
) -> dict[str, Any]:
    """`swap-slots emulator-slot stop|start`: stop or start a slot of a running emulator."""
    body: dict[str, Any] = {"app": app, "slot": slot}
    if resource_group:
        body["resource_group"] = resource_group
    return _post(url, ca_cert, action, body)


def _post(url: str, ca_cert: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
    """POSTs `body` to the emulator's control API; its answer, or DeployFailed saying why not."""
    request = urllib.request.Request(
        url.rstrip("/") + f"/_emulator/{route}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    context = ssl.create_default_context(cafile=ca_cert)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as error:
        raise DeployFailed(
            f"The emulator refused: {error.read().decode(errors='replace')}"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise DeployFailed(f"Cannot reach the emulator at {url}: {error}") from None
