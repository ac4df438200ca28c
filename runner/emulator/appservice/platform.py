"""The emulated App Service platform: apps, slots, deployments and swaps as Azure runs them.

Time is a set of deadlines checked lazily: every call first advances the platform to "now" under
one lock, so a swap completes exactly at its deadline without timer threads, and production keeps
serving the old version until that instant.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, NamedTuple

from runner.emulator.appservice.health import judge, parse_health
from runner.emulator.appservice.records import (
    App,
    Deployment,
    Operation,
    PreparedSwap,
    Slot,
    app_from_json,
    app_to_json,
    seeded_app,
)
from runner.emulator.appservice.slotvalues import loose_values, set_values, sticky_values
from runner.emulator.arm import errors
from runner.emulator.settings import AppSeed
from runner.emulator.sites.rampup import RampUpRule, rules_of


class SiteView(NamedTuple):
    """What a slot's site needs to answer a request: a copy, safe to use outside the lock."""

    deployment: Deployment
    app_settings: dict[str, str]
    health_check_path: str | None
    request_number: int = 0  # this request's number among those the deployment served
    state: str = "Running"  # the slot's: a stopped slot's site does not run the app


class SwapPlan(NamedTuple):
    duration: float
    failure: str | None = None  # "worker-process": the swap-fails fault
    preserve_vnet: bool | None = None  # as the client sent it; recorded for inspection
    warmup_timeout: float = 450.0  # how long the warm-up waits for a starting source


# The app settings that steer the warm-up of a swap's source, as App Service reads them.
PING_PATH = "WEBSITE_SWAP_WARMUP_PING_PATH"
PING_STATUSES = "WEBSITE_SWAP_WARMUP_PING_STATUSES"


class AppService:
    def __init__(
        self,
        seeds: tuple[AppSeed, ...],
        state_file: Path | None,
        clock: Callable[[], float],
        health_check_path: str | None = None,
        base_error_percent: float = 0.0,
    ) -> None:
        self._lock = threading.RLock()
        self.base_error_percent = base_error_percent
        self._clock = clock
        self._state_file = state_file
        self._apps: dict[tuple[str, str], App] = {}
        self._operations: list[Operation] = []
        if state_file is not None and state_file.exists():
            self._load(state_file)
        else:
            for seed in seeds:
                app = seeded_app(seed, health_check_path, base_error_percent)
                self._apps[app.key] = app

    # -- reading ---------------------------------------------------------------------------

    def apps(self) -> list[App]:
        with self._lock:
            self._advance()
            return list(self._apps.values())

    def find_app(self, resource_group: str, name: str) -> App | None:
        with self._lock:
            self._advance()
            return self._apps.get((resource_group.lower(), name.lower()))

    def find_one_app(self, resource_group: str | None, name: str) -> App:
        """The app of that name, in that group if given (the control API's lookup)."""
        with self._lock:
            self._advance()
            matches = [
                app
                for app in self._apps.values()
                if app.name.lower() == name.lower()
                and (resource_group is None or app.resource_group.lower() == resource_group.lower())
            ]
            if len(matches) != 1:
                problem = "no app" if not matches else "several apps (give resource_group)"
                raise errors.arm_error(
                    404 if not matches else 400, "BadRequest", f"{problem} named '{name}'"
                )
            return matches[0]

    def resource_group_exists(self, resource_group: str) -> bool:
        with self._lock:
            return any(key[0] == resource_group.lower() for key in self._apps)

    def resource_groups(self) -> list[str]:
        with self._lock:
            return sorted({app.resource_group for app in self._apps.values()})

    def slots(self) -> list[tuple[App, Slot]]:
        with self._lock:
            return [(app, slot) for app in self._apps.values() for slot in app.slots.values()]

    def site_view(self, app_key: tuple[str, str], slot_name: str) -> SiteView:
        with self._lock:
            self._advance()
            slot = self._apps[app_key].slots[slot_name.lower()]
            path = slot.site_config.get("healthCheckPath")
            return SiteView(
                replace(slot.deployment),
                dict(slot.app_settings),
                path if isinstance(path, str) and path else None,
                state=slot.state,
            )

    def serve(self, app_key: tuple[str, str], slot_name: str) -> SiteView:
        """The slot's site as it answers one more request (counted on its deployment)."""
        with self._lock:
            self._advance()
            deployment = self._apps[app_key].slots[slot_name.lower()].deployment
            deployment.served += 1
            return self.site_view(app_key, slot_name)._replace(request_number=deployment.served)

    def ramp_up_rules(self, app_key: tuple[str, str]) -> list[RampUpRule]:
        with self._lock:
            return rules_of(self._apps[app_key])

    def operation(self, operation_id: str) -> Operation | None:
        with self._lock:
            self._advance()
            for operation in self._operations:
                if operation.id == operation_id:
                    return operation
            return None

    def operations(self) -> list[dict[str, Any]]:
        with self._lock:
            self._advance()
            return [asdict(operation) for operation in self._operations]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            self._advance()
            return self._state()

    # -- changing --------------------------------------------------------------------------

    def deploy(
        self,
        resource_group: str | None,
        app_name: str,
        slot_name: str,
        version: str,
        health: str,
        warmup_seconds: float = 0.0,
        slower_ms: float = 0.0,
        error_percent: float | None = None,
    ) -> App:
        try:
            parse_health(health)
        except ValueError as error:
            raise errors.arm_error(400, "BadRequest", str(error)) from None
        with self._lock:
            app = self.find_one_app(resource_group, app_name)
            slot = app.slot(slot_name)
            if slot is None:
                raise errors.not_found(
                    "Microsoft.Web/sites/slots", f"{app.name}/{slot_name}", app.resource_group
                )
            errors_share = self.base_error_percent if error_percent is None else error_percent
            slot.deployment = Deployment(
                version,
                health,
                warmup_seconds,
                self._clock(),
                slower_ms=slower_ms,
                error_percent=errors_share,
            )
            self._changed()
            return app

    def set_state(self, app: App, slot_name: str, state: str) -> None:
        """`POST .../stop` or `.../start`; a started slot's app starts afresh (its warm-up)."""
        with self._lock:
            self._advance()
            slot = app.slots[slot_name.lower()]
            if state == "Running" and slot.state != "Running":
                slot.deployment.started_at = self._clock()
            slot.state = state
            self._changed()

    def change(self, mutate: Callable[[], None], restarts: Slot | None = None) -> None:
        """Apply an edit to app or slot records (settings, config) and persist it; App Service
        restarts a slot whose app settings or connection strings change."""
        with self._lock:
            self._advance()
            mutate()
            if restarts is not None:
                restarts.deployment.started_at = self._clock()
            self._changed()

    def start_swap(self, app: App, source: str, target: str, plan: SwapPlan) -> Operation:
        with self._lock:
            self._advance()
            source_slot, target_slot = self._swap_pair(app, source, target)
            running = self._running_operation(app)
            if running is not None:
                raise errors.operation_in_progress(running.id, running.accepted_at, running.name)
            prepared = app.prepared
            # Completing a swap with preview names the same two slots, in either order.
            if prepared is not None and {prepared.source.lower(), prepared.target.lower()} != {
                source_slot.name.lower(),
                target_slot.name.lower(),
            }:
                raise _prepared_conflict(app, prepared)
            # One instant for the acceptance and the source's restart: the warm-up is timed from it.
            now = self._clock()
            if prepared is None:
                self._prepare(app, source_slot, target_slot, now, preview=False)
            # The platform pings the restarted source until it has started (or the warm-up
            # times out), then switches.
            started = source_slot.deployment
            ready_at = min(started.started_at + started.warmup_seconds, now + plan.warmup_timeout)
            warm_at = max(now + plan.duration / 2, ready_at)
            operation = Operation(
                id=str(uuid.uuid4()),
                resource_group=app.resource_group,
                app=app.name,
                source=source_slot.name,
                target=target_slot.name,
                accepted_at=now,
                warmup_at=warm_at,
                due_at=warm_at + plan.duration / 2,
                failure=plan.failure,
                preserve_vnet=plan.preserve_vnet,
            )
            self._operations.append(operation)
            self._changed()
            return operation

    def apply_slot_config(self, app: App, source: str, target: str) -> None:
        """Swap with preview, phase 1: the source restarts with the target's sticky settings."""
        with self._lock:
            self._advance()
            source_slot, target_slot = self._swap_pair(app, source, target)
            running = self._running_operation(app)
            if running is not None:
                raise errors.operation_in_progress(running.id, running.accepted_at, running.name)
            if app.prepared is not None:
                raise _prepared_conflict(app, app.prepared)
            self._prepare(app, source_slot, target_slot, self._clock(), preview=True)
            self._changed()

    def reset_slot_config(self, app: App, slot_name: str) -> None:
        """Cancel a swap with preview. Azure resets the slot named in the call; the portal names
        the source and `az` the target, and both cancel the preview, so either slot of the
        prepared pair does here."""
        with self._lock:
            self._advance()
            prepared = app.prepared
            if prepared is None or self._running_operation(app) is not None:
                return
            if slot_name.lower() in (prepared.source.lower(), prepared.target.lower()):
                self._restore_source(app, prepared, self._clock())
                self._changed()

    # -- the swap itself ---------------------------------------------------------------------

    def _advance(self) -> None:
        now = self._clock()
        changed = False
        for operation in self._operations:
            if operation.outcome != "InProgress":
                continue
            app = self._apps.get(operation.app_key)
            if app is None:
                continue
            source = app.slots[operation.source.lower()]
            refused = None
            if now >= operation.warmup_at and operation.warmup_path is None:
                refused = _warm_up(app, source, operation)
                changed = True
            if refused is not None:
                self._fail(app, operation, operation.warmup_at, *refused)
            elif now >= operation.due_at:
                if operation.failure is not None:
                    self._fail(
                        app,
                        operation,
                        operation.due_at,
                        400,
                        errors.worker_process_failed_body(app.name, source.name),
                    )
                else:
                    self._complete(app, operation)
                changed = True
        if changed:
            self._changed()

    def _complete(self, app: App, operation: Operation) -> None:
        source = app.slots[operation.source.lower()]
        target = app.slots[operation.target.lower()]
        own_sticky = {slot.name.lower(): sticky_values(app, slot) for slot in (source, target)}
        if app.prepared is not None:
            # Phase 1 gave the prepared source the other slot's sticky values; it gets its own back.
            own_sticky[app.prepared.source.lower()] = app.prepared.source_sticky
        source_loose = loose_values(app, source)
        target_loose = loose_values(app, target)
        # Content and non-sticky settings move; sticky settings stay with their slot.
        set_values(source, target_loose, own_sticky[source.name.lower()])
        set_values(target, source_loose, own_sticky[target.name.lower()])
        source.deployment, target.deployment = target.deployment, source.deployment
        # The target's instances were warmed in the source slot and keep running; the old
        # target's version restarts in the source slot with that slot's settings.
        source.deployment.started_at = operation.due_at
        stamp = _utc(operation.due_at)
        status = {
            "timestampUtc": stamp,
            "sourceSlotName": source.name,
            "destinationSlotName": target.name,
        }
        source.swap_status = dict(status)
        target.swap_status = dict(status)
        app.prepared = None
        operation.outcome, operation.status, operation.finished_at = (
            "Succeeded",
            200,
            operation.due_at,
        )

    def _fail(
        self, app: App, operation: Operation, at: float, status: int, body: dict[str, Any]
    ) -> None:
        if app.prepared is not None:
            self._restore_source(app, app.prepared, at)
        operation.outcome, operation.status, operation.finished_at = "Failed", status, at
        operation.error = body

    def _prepare(self, app: App, source: Slot, target: Slot, at: float, *, preview: bool) -> None:
        app.prepared = PreparedSwap(source.name, target.name, sticky_values(app, source), preview)
        set_values(source, loose_values(app, source), sticky_values(app, target))
        source.deployment.started_at = at  # it restarts with those settings

    def _restore_source(self, app: App, prepared: PreparedSwap, at: float) -> None:
        source = app.slots[prepared.source.lower()]
        set_values(source, loose_values(app, source), prepared.source_sticky)
        source.deployment.started_at = at
        app.prepared = None

    def _swap_pair(self, app: App, source: str, target: str) -> tuple[Slot, Slot]:
        source_slot, target_slot = app.slot(source), app.slot(target)
        for name, slot in ((source, source_slot), (target, target_slot)):
            if slot is None:
                raise errors.not_found(
                    "Microsoft.Web/sites/slots", f"{app.name}/{name}", app.resource_group
                )
        assert source_slot is not None and target_slot is not None
        if source_slot is target_slot:
            raise errors.app_service_error(
                400,
                "BadRequest",
                f"Cannot swap site slots for site '{app.name}' because the source slot and the "
                f"target slot are the same slot '{source_slot.name}'.",
                "04150",
            )
        return source_slot, target_slot

    def _running_operation(self, app: App) -> Operation | None:
        for operation in self._operations:
            if operation.app_key == app.key and operation.outcome == "InProgress":
                return operation
        return None

    # -- persistence -------------------------------------------------------------------------

    def _changed(self) -> None:
        if self._state_file is None:
            return
        state = self._state()
        temporary = self._state_file.with_name(self._state_file.name + ".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        os.replace(temporary, self._state_file)

    def _state(self) -> dict[str, Any]:
        return {
            "apps": [app_to_json(app) for app in self._apps.values()],
            "operations": [asdict(operation) for operation in self._operations],
        }

    def _load(self, state_file: Path) -> None:
        data = json.loads(state_file.read_text())
        for raw in data.get("apps", []):
            app = app_from_json(raw)
            self._apps[app.key] = app
        self._operations = [Operation(**raw) for raw in data.get("operations", [])]


def _warm_up(app: App, source: Slot, operation: Operation) -> tuple[int, dict[str, Any]] | None:
    """The warm-up ping of the swap's source at `warmup_at`, as App Service sends it: to
    WEBSITE_SWAP_WARMUP_PING_PATH (default /); any answer passes unless
    WEBSITE_SWAP_WARMUP_PING_STATUSES lists the ones that do. Returns how the swap fails, if it
    does: (status, App Service's body)."""
    operation.warmup_path = source.app_settings.get(PING_PATH) or "/"
    deployment = source.deployment
    if source.state != "Running" or deployment.health == "broken":
        return 417, errors.cold_start_failed_body(app.name, source.name)
    verdict = judge(
        deployment.health,
        source.app_settings,
        deployment.started_at,
        deployment.warmup_seconds,
        operation.warmup_at,
    )
    if not verdict.running:  # still starting when the warm-up gave up
        return 400, errors.warm_up_timed_out_body(app.name, source.name)
    operation.warmup_status = verdict.status
    statuses = _statuses(source.app_settings.get(PING_STATUSES, ""))
    if statuses and verdict.status not in statuses:
        return 400, errors.warm_up_rejected_body(app.name, source.name)
    return None


def _statuses(text: str) -> set[int]:
    return {int(part) for part in text.replace(" ", "").split(",") if part.isdigit()}


def _prepared_conflict(app: App, prepared: PreparedSwap) -> Exception:
    return errors.app_service_error(
        409,
        "Conflict",
        f"Cannot swap slots for site '{app.name}' because the configuration settings have been "
        f"prepared for swap between slots '{prepared.source}' and '{prepared.target}'. Complete "
        "or reset the swap with preview first.",
        "04152",
    )


def _utc(moment: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1e6):06d}Z"
    )
