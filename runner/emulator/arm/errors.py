"""Error bodies in the two shapes Azure uses, so clients show the same text they show for Azure.

ARM itself answers `{"error": {"code", "message", ...}}`; App Service's own failures (a swap that
cannot start or fails on the way) answer `{"Code", "Message", "Details", ...}`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any

from runner.emulator.wire import HttpError


def arm_body(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "target": target, "details": []}}


def arm_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> HttpError:
    return HttpError.json(status, arm_body(code, message), headers)


def app_service_body(code: str, message: str, extended_code: str) -> dict[str, Any]:
    return {
        "Code": code,
        "Message": message,
        "Target": None,
        "Details": [
            {"Message": message},
            {"Code": code},
            {
                "ErrorEntity": {
                    "ExtendedCode": extended_code,
                    "MessageTemplate": message,
                    "Parameters": [],
                    "Code": code,
                    "Message": message,
                }
            },
        ],
        "Innererror": None,
    }


def app_service_error(status: int, code: str, message: str, extended_code: str) -> HttpError:
    return HttpError.json(status, app_service_body(code, message, extended_code))


def not_found(resource_type: str, name: str, resource_group: str) -> HttpError:
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' "
        "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def operation_in_progress(operation_id: str, created_at: float, operation: str) -> HttpError:
    created = datetime.datetime.fromtimestamp(created_at, datetime.timezone.utc)
    message = (
        "Cannot modify this site because another operation is in progress. "
        f"Details: Id: {operation_id}, OperationName: {operation}, "
        f"CreatedTime: {created.strftime('%m/%d/%Y %I:%M:%S %p')}, "
        f"RequestId: {uuid.uuid4()}, EntityType: 3"
    )
    return app_service_error(409, "Conflict", message, "05003")


def cold_start_failed_body(app: str, slot: str) -> dict[str, Any]:
    """Sent with `417`: the warm-up got no answer (a stopped slot, an app that never started)."""
    message = (
        f"Cannot swap site slots for site '{app}' because the '{slot}' slot did not respond "
        "to http ping. (ColdStartFailed)"
    )
    return app_service_body("ExpectationFailed", message, "04154")


def warm_up_rejected_body(app: str, slot: str) -> dict[str, Any]:
    """Sent with `400`: the warm-up's answer was not in WEBSITE_SWAP_WARMUP_PING_STATUSES."""
    message = (
        f"Cannot swap slots for site '{app}' because the application initialization in "
        f"'{slot}' slot either took too long or failed."
    )
    return app_service_body("BadRequest", message, "04156")


def warm_up_timed_out_body(app: str, slot: str) -> dict[str, Any]:
    """Sent with `400`: the app was still starting when the warm-up gave up."""
    message = (
        f"Cannot swap slots for site '{app}' because the warmup requests to application in "
        f"'{slot}' slot have timed out."
    )
    return app_service_body("BadRequest", message, "04157")


def worker_process_failed_body(app: str, slot: str) -> dict[str, Any]:
    message = (
        f"Cannot swap site slots for site '{app}' because the worker process in the '{slot}' "
        "slot could not be started."
    )
    return app_service_body("BadRequest", message, "04155")
