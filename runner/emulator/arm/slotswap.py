"""The slot swap routes: slotsswap as a long-running operation, its operation results, swap with
preview (applySlotConfig / resetSlotConfig) and slot differences."""

from __future__ import annotations

import uuid
from typing import Any, Callable

from runner.emulator.appservice.platform import SwapPlan
from runner.emulator.appservice.records import App, Operation
from runner.emulator.arm import errors, resources
from runner.emulator.arm.front_door import SITE, SLOT, Arm
from runner.emulator.faults import FaultBook
from runner.emulator.routing import Router
from runner.emulator.settings import PRODUCTION
from runner.emulator.wire import HttpError, Params, Request, Response


class SlotSwapRoutes:
    def __init__(
        self,
        arm: Arm,
        faults: FaultBook,
        swap_seconds: float,
        retry_after: int | None,
        clock: Callable[[], float],
        warmup_timeout: float = 450.0,
    ) -> None:
        self._arm = arm
        self._faults = faults
        self._swap_seconds = swap_seconds
        self._retry_after = retry_after
        self._clock = clock
        self._warmup_timeout = warmup_timeout

    def add_routes(self, router: Router) -> None:
        for base in (SITE, SLOT):
            router.add("POST", base + "/slotsswap", self._swap)
            router.add("GET", base + "/operationresults/{operation}", self._operation_result)
            router.add("POST", base + "/applySlotConfig", self._apply_slot_config)
            router.add("POST", base + "/resetSlotConfig", self._reset_slot_config)
            router.add("POST", base + "/slotsdiffs", self._slot_differences)

    def _swap(self, request: Request, params: Params) -> Response:
        app, path_slot = self._arm.locate(params)
        target_name = _target_slot(request)
        if "slot" in params:  # /slots/{source}/slotsswap: the body names the target
            source, target = path_slot.name, target_name
        else:  # /slotsswap on the site: the body names the slot to swap into production
            source, target = target_name, PRODUCTION
        self._arm.locate({**params, "slot": source})
        self._arm.locate({**params, "slot": target})
        if self._faults.take(("conflict",), request.method, request.path):
            raise errors.operation_in_progress(str(uuid.uuid4()), self._clock(), "SwapSiteSlots")
        body: Any = request.json()
        vnet = body.get("preserveVnet") if isinstance(body, dict) else None
        preserve_vnet = vnet if isinstance(vnet, bool) else None
        plan = SwapPlan(self._swap_seconds, None, preserve_vnet, self._warmup_timeout)
        fault = self._faults.take(("slow-swap", "swap-fails"), request.method, request.path)
        if fault is not None and fault.kind == "slow-swap":
            plan = plan._replace(duration=fault.seconds)
        elif fault is not None:
            plan = plan._replace(failure="worker-process")
        operation = self._arm.platform.start_swap(app, source, target, plan)
        return Response(202, b"", self._pending_headers(request, params, app, operation))

    def _operation_result(self, request: Request, params: Params) -> Response:
        app, _ = self._arm.locate(params)
        operation = self._arm.platform.operation(params["operation"])
        if operation is None or operation.app_key != app.key:
            raise errors.arm_error(
                404, "ResourceNotFound", f"The operation '{params['operation']}' was not found."
            )
        if operation.outcome == "InProgress":
            return Response(202, b"", self._pending_headers(request, params, app, operation))
        if operation.outcome == "Succeeded":
            return Response(200, b"")
        return Response.json(operation.status, operation.error)

    def _pending_headers(
        self, request: Request, params: Params, app: App, operation: Operation
    ) -> dict[str, str]:
        """Location (and Retry-After) of a running swap; polling comes back to the same path."""
        base = self._arm.url.rstrip("/") + resources.app_id(self._arm.subscription_id, app)
        if "slot" in params:
            base += f"/slots/{params['slot']}"
        version = request.param("api-version") or ""
        headers = {"Location": f"{base}/operationresults/{operation.id}?api-version={version}"}
        omit = self._faults.take(("no-retry-after",), request.method, request.path)
        if self._retry_after is not None and omit is None:
            headers["Retry-After"] = str(self._retry_after)
        return headers

    def _apply_slot_config(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        target = _target_slot(request)
        self._arm.locate({**params, "slot": target})
        self._arm.platform.apply_slot_config(app, slot.name, target)
        return Response(200, b"")

    def _reset_slot_config(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        self._arm.platform.reset_slot_config(app, slot.name)
        return Response(200, b"")

    def _slot_differences(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        _, target = self._arm.locate({**params, "slot": _target_slot(request)})
        body = resources.slot_differences(self._arm.subscription_id, app, slot, target)
        return Response.json(200, body)


def _target_slot(request: Request) -> str:
    body: Any = request.json()
    target = body.get("targetSlot") if isinstance(body, dict) else None
    if not isinstance(target, str) or not target:
        raise HttpError.json(
            400,
            errors.arm_body(
                "BadRequest",
                "The request body must be a CsmSlotEntity with 'targetSlot'.",
                "targetSlot",
            ),
        )
    return target
