"""The records of the emulated platform: apps, their slots, what each slot runs, and operations.

They are plain mutable records owned by `AppService`, which changes them only under its lock,
and they round-trip through JSON for `--state-file`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from runner.emulator.settings import PRODUCTION, AppSeed

# A sticky setting's value, or None where the slot does not define it.
StickyValues = dict[str, dict[str, Any]]


@dataclass
class Deployment:
    version: str
    health: str = "healthy"  # see health.py
    warmup_seconds: float = 0.0
    started_at: float = 0.0  # the last (re)start of the app on its slot, Unix time
    served: int = 0  # requests its site answered (a flaky version fails a share of them)
    slower_ms: float = 0.0  # every answer takes this much longer
    error_percent: float = 0.0  # the share of requests it fails at random


@dataclass
class Slot:
    name: str
    deployment: Deployment
    app_settings: dict[str, str]
    connection_strings: dict[str, dict[str, str]]  # name -> {"value": ..., "type": ...}
    site_config: dict[str, Any]  # the writable part of config/web, in ARM's camelCase
    swap_status: dict[str, str] | None = None
    state: str = "Running"  # or "Stopped" (`POST .../stop`): the site answers 403, no warm-up
    port: int = 0  # the slot site's own HTTPS port, assigned when its server starts

    @property
    def host_name(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class PreparedSwap:
    """Phase 1 of a swap: the source runs with the target's sticky settings."""

    source: str
    target: str
    source_sticky: StickyValues  # the source's own sticky values, restored afterwards
    preview: bool  # prepared by applySlotConfig (swap with preview), not by a running swap


@dataclass
class App:
    name: str
    resource_group: str
    slots: dict[str, Slot]  # keyed by lower-case name, production first
    sticky_app_settings: list[str] = field(default_factory=list)
    sticky_connection_strings: list[str] = field(default_factory=list)
    prepared: PreparedSwap | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.resource_group.lower(), self.name.lower())

    def slot(self, name: str) -> Slot | None:
        return self.slots.get(name.lower())


@dataclass
class Operation:
    """One slot swap, from the POST that accepted it to its outcome."""

    id: str
    resource_group: str
    app: str
    source: str
    target: str
    accepted_at: float
    warmup_at: float  # when the source is pinged; a broken source fails here
    due_at: float  # when routing switches
    failure: str | None = None  # a planned failure (the swap-fails fault)
    outcome: str = "InProgress"  # InProgress | Succeeded | Failed
    finished_at: float | None = None
    status: int = 202
    error: dict[str, Any] | None = None
    name: str = "SwapSiteSlots"
    preserve_vnet: bool | None = None
    warmup_path: str | None = None  # the path the warm-up pinged (WEBSITE_SWAP_WARMUP_PING_PATH)
    warmup_status: int | None = None  # what it answered; None: no answer (a stopped slot)

    @property
    def app_key(self) -> tuple[str, str]:
        return (self.resource_group.lower(), self.app.lower())


def seeded_app(
    seed: AppSeed, health_check_path: str | None = None, error_percent: float = 0.0
) -> App:
    """A fresh app: every slot runs v1, with one sticky setting and one sticky connection string
    so that swaps and slot differences have something to show."""
    slots: dict[str, Slot] = {}
    for slot_name in seed.slots:
        slots[slot_name.lower()] = Slot(
            name=slot_name,
            deployment=Deployment("v1", error_percent=error_percent),
            app_settings={"SLOT_NAME": slot_name, "GREETING": f"Hello from {seed.name}"},
            connection_strings={
                "Database": {
                    "value": f"Server=db-{slot_name}.example.invalid;Database={seed.name}",
                    "type": "SQLAzure",
                }
            },
            site_config={"healthCheckPath": health_check_path, "autoSwapSlotName": None},
        )
    return App(
        name=seed.name,
        resource_group=seed.resource_group,
        slots=slots,
        sticky_app_settings=["SLOT_NAME"],
        sticky_connection_strings=["Database"],
    )


def app_to_json(app: App) -> dict[str, Any]:
    return asdict(app)


def app_from_json(data: dict[str, Any]) -> App:
    slots = {
        key: Slot(
            **{**value, "deployment": Deployment(**value["deployment"]), "port": 0},
        )
        for key, value in data["slots"].items()
    }
    prepared = data.get("prepared")
    return App(
        name=data["name"],
        resource_group=data["resource_group"],
        slots=slots,
        sticky_app_settings=list(data.get("sticky_app_settings", [])),
        sticky_connection_strings=list(data.get("sticky_connection_strings", [])),
        prepared=PreparedSwap(**prepared) if prepared else None,
    )


def is_production(slot_name: str) -> bool:
    return slot_name.lower() == PRODUCTION
