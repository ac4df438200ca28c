"""Starts the local emulator as its own process and talks to its control API (demo, benchmarks)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

import requests

READY_TIMEOUT_SECONDS = 30.0


class EmulatorProcess:
    def __init__(self, process: subprocess.Popen[str], info: dict[str, Any]) -> None:
        self.process = process
        self.info = info
        self.url: str = info["url"]
        self._session = requests.Session()
        # Per request: a session-wide `verify` loses to $REQUESTS_CA_BUNDLE in requests.
        self._ca: str = info["ca_cert"]

    @classmethod
    def start(cls, data_dir: Path, *args: str) -> EmulatorProcess:
        """Runs `python -m runner.emulator` and waits for its ready line."""
        data_dir.mkdir(parents=True, exist_ok=True)
        # The emulator's own log goes to a file: an undrained pipe would stall it.
        errors = (data_dir / "emulator.log").open("w", encoding="utf-8")
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
            stderr=errors,
            text=True,
        )
        errors.close()
        assert process.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(READY_TIMEOUT_SECONDS)
        if not lines or not lines[0].strip():
            process.kill()
            process.wait(timeout=5)
            log = (data_dir / "emulator.log").read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"The emulator did not start: {log.strip()[-2000:]}")
        return cls(process, json.loads(lines[0]))

    def control(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        response = self._session.request(
            method, self.url + "_emulator/" + path, json=body, timeout=10, verify=self._ca
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def deploy(self, app: str, slot: str, version: str, health: str = "healthy") -> None:
        self.control(
            "POST", "deploy", {"app": app, "slot": slot, "version": version, "health": health}
        )

    def add_fault(self, kind: str, **options: Any) -> None:
        self.control("POST", "faults", {"kind": kind, **options})

    def requests(self) -> list[dict[str, Any]]:
        """Every request the emulator has answered, oldest first."""
        return _listing(self.control("GET", "requests"), "requests")

    def operations(self) -> list[dict[str, Any]]:
        """Every swap Azure accepted, with its outcome and wall-clock times."""
        return _listing(self.control("GET", "operations"), "operations")

    def slot_url(self, app: str, slot: str) -> str:
        for entry in self.info["apps"]:
            if entry["name"] == app:
                return str(entry["slots"][slot]["url"])
        raise KeyError(f"{app}/{slot}")

    def serving(self, app: str, slot: str) -> str:
        """The version the slot's own site serves now ("down" when it does not answer)."""
        try:
            response = self._session.get(self.slot_url(app, slot), timeout=5, verify=self._ca)
        except requests.RequestException:
            return "down"
        return str(response.headers.get("X-App-Version") or response.json().get("version"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._session.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()


def _listing(body: Any, key: str) -> list[dict[str, Any]]:
    return list(body[key] if isinstance(body, dict) else body)
