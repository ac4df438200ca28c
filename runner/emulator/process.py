"""Run the local App Service emulator as a separate process, and talk to its control API.

Used by the demo, the benchmarks and the tests:

with start_emulator(tmp_path, "--swap-seconds", "0.3") as emulator:
    emulator.deploy("contoso-web", "staging", "v2")
    ...
    assert emulator.serving("contoso-web", "production") == "v2"
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

import requests

READY_TIMEOUT_SECONDS = 30.0


class Emulator:
    def __init__(self, process: subprocess.Popen[str], info: dict[str, Any], log: Path) -> None:
        self.process = process
        self.info = info
        self.log = log  # the emulator's stderr
        self._session = requests.Session()

    # -- what the ready line said --------------------------------------------------------------

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def ca_cert(self) -> str:
        return str(self.info["ca_cert"])

    @property
    def tenant_id(self) -> str:
        return str(self.info["tenant_id"])

    @property
    def client_id(self) -> str:
        return str(self.info["client_id"])

    @property
    def client_secret(self) -> str:
        return str(self.info["client_secret"])

    @property
    def client_certificate(self) -> str:
        return str(self.info["client_certificate"])

    @property
    def subscription_id(self) -> str:
        return str(self.info["subscription_id"])

    @property
    def arm_audience(self) -> str:
        return str(self.info["arm_audience"])

    @property
    def arm_scope(self) -> str:
        return self.arm_audience + ".default"

    # -- the control API -------------------------------------------------------------------------

    def control(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        # `verify` per request: requests lets REQUESTS_CA_BUNDLE override a session's `verify`.
        response = self._session.request(
            method, f"{self.url}_emulator/{path}", json=body, verify=self.ca_cert, timeout=10
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def deploy(
        self,
        app: str,
        slot: str,
        version: str,
        health: str = "healthy",
        resource_group: Optional[str] = None,
        warmup_seconds: float = 0.0,
        slower_ms: float = 0.0,
        error_percent: Optional[float] = None,
    ) -> None:
        body: dict[str, Any] = {"app": app, "slot": slot, "version": version, "health": health}
        if warmup_seconds:
            body["warmup_seconds"] = warmup_seconds
        if slower_ms:
            body["slower_ms"] = slower_ms
        if error_percent is not None:
            body["error_percent"] = error_percent
        if resource_group:
            body["resource_group"] = resource_group
        self.control("POST", "deploy", body)

    def stop_slot(self, app: str, slot: str) -> None:
        self.control("POST", "stop", {"app": app, "slot": slot})

    def start_slot(self, app: str, slot: str) -> None:
        self.control("POST", "start", {"app": app, "slot": slot})

    def add_fault(self, kind: str, count: int = 1, **options: Any) -> None:
        self.control("POST", "faults", {"kind": kind, "count": count, **options})

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def requests(self, since: Optional[float] = None) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control(
            "GET", "requests" if since is None else f"requests?since={since}"
        )
        return entries

    def operations(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control("GET", "operations")
        return entries

    def counters(self, app: Optional[str] = None) -> dict[str, dict[str, Any]]:
        """Each slot's live counters (`GET /_emulator/metrics`), by slot name."""
        entries: list[dict[str, Any]] = self.control(
            "GET", "metrics" if app is None else f"metrics?app={app}"
        )
        return {entry["slot"]: entry for entry in entries}

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.control("GET", "state")
        return state

    # -- the slot sites ------------------------------------------------------------------------

    def slot_url(self, app: str, slot: str, resource_group: Optional[str] = None) -> str:
        for entry in self.info["apps"]:
            if entry["name"] == app and resource_group in (None, entry["resource_group"]):
                return str(entry["slots"][slot]["url"])
        raise KeyError(f"{app}/{slot}")

    def host_name(self, app: str, slot: str) -> str:
        """The slot's `defaultHostName`, as a routing rule's `actionHostName` names it."""
        for entry in self.info["apps"]:
            if entry["name"] == app:
                return str(entry["slots"][slot]["host_name"])
        raise KeyError(f"{app}/{slot}")

    def serving(self, app: str, slot: str, resource_group: Optional[str] = None) -> str:
        """The version the slot's site serves now, or "down" when it does not answer with one."""
        try:
            response = self._session.get(
                self.slot_url(app, slot, resource_group), verify=self.ca_cert, timeout=5
            )
        except requests.RequestException:
            return "down"
        return response.headers.get("X-App-Version") or "down"

    # -- lifetime --------------------------------------------------------------------------------

    def stop(self) -> int:
        """Stop with SIGTERM as a user's Ctrl+C would; returns the exit code."""
        self._session.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()


def start_emulator(data_dir: Path, *args: str) -> Emulator:
    """Start `python -m runner.emulator --port 0 --data-dir DATA_DIR ARGS` and wait until ready.

    Emulators sharing a data folder share its certificates, which are then made only once.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"emulator-{uuid.uuid4().hex[:8]}.log"
    with log.open("w", encoding="utf-8") as stderr:
        # stderr goes to a file: an undrained pipe could stall the emulator.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner.emulator",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                *args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    stdout = process.stdout
    assert stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_SECONDS)
    if not lines or not lines[0].strip():
        process.kill()
        process.wait(timeout=5)
        detail = log.read_text(encoding="utf-8", errors="replace").strip()[-2000:]
        raise RuntimeError(f"The emulator did not start: {detail or 'no output'}")
    return Emulator(process, json.loads(lines[0]), log)
