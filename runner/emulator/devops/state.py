"""What set-up creates in the project, kept in memory for the emulator's lifetime.

Each record is stored as the JSON body the service answers, so the routes stay thin and the
control API shows exactly what a client would read back.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any, Callable

from .catalog import CALLER, identity_ref, project_reference


class DevOpsState:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.lock = threading.RLock()
        self.environments: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.pipelines: list[dict[str, Any]] = []
        self.permissions: dict[tuple[str, str], dict[str, Any]] = {}
        self.task_groups: list[dict[str, Any]] = []
        self.files: dict[str, str] = {}  # the repository's default branch: path -> text
        self._next_id = {"environment": 1, "check": 1, "pipeline": 1}

    def now(self) -> str:
        moment = datetime.datetime.fromtimestamp(self._clock(), datetime.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def new_id(self, kind: str) -> int:
        with self.lock:
            value = self._next_id[kind]
            self._next_id[kind] = value + 1
            return value

    def add_environment(self, name: str, description: str) -> dict[str, Any]:
        now = self.now()
        environment = {
            "id": self.new_id("environment"),
            "name": name,
            "description": description,
            "createdBy": identity_ref(CALLER),
            "createdOn": now,
            "lastModifiedBy": identity_ref(CALLER),
            "lastModifiedOn": now,
            "project": project_reference(),
            "resources": [],
        }
        self.environments.append(environment)
        return environment

    def environment(self, environment_id: str) -> dict[str, Any] | None:
        return next((e for e in self.environments if str(e["id"]) == environment_id), None)

    def environment_named(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.environments if e["name"].lower() == name.lower()), None)

    def pipeline(self, pipeline_id: str) -> dict[str, Any] | None:
        return next((p for p in self.pipelines if str(p["id"]) == pipeline_id), None)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "environments": list(self.environments),
                "checks": list(self.checks),
                "pipelines": list(self.pipelines),
                "pipeline_permissions": list(self.permissions.values()),
                "task_groups": list(self.task_groups),
                "files": sorted(self.files),
            }
