"""Resource Manager's refusals of a write or an action, with its own error bodies: a resource
lock, a missing role assignment, a disabled subscription (the `scope-locked`,
`authorization-failed` and `subscription-disabled` faults)."""

from __future__ import annotations

import re

from runner.emulator.arm import errors
from runner.emulator.settings import CLIENT_ID, SERVICE_PRINCIPAL_OBJECT_ID
from runner.emulator.wire import HttpError

_GROUP = re.compile(r"^(/subscriptions/[^/]+/resourceGroups/[^/]+)", re.IGNORECASE)
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
# `.../sites/{app}[/slots/{slot}]`, then what the request does to it.
_SITE = re.compile(
    r"^(?P<id>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Web/sites/[^/]+"
    r"(?P<slot>/slots/[^/]+)?)(?P<rest>/.*)?$",
    re.IGNORECASE,
)


def refusal(kind: str, method: str, path: str) -> HttpError:
    if kind == "scope-locked":
        group = _GROUP.match(path)
        return errors.arm_error(
            409,
            "ScopeLocked",
            f"The scope '{_scope(path)}' cannot perform write operation because following "
            f"scope(s) are locked: '{group.group(1) if group else _scope(path)}'. Please remove "
            "the lock and try again.",
        )
    if kind == "authorization-failed":
        return errors.arm_error(
            403,
            "AuthorizationFailed",
            f"The client '{CLIENT_ID}' with object id '{SERVICE_PRINCIPAL_OBJECT_ID}' does not "
            f"have authorization to perform action '{action_of(method, path)}' over scope "
            f"'{_scope(path)}' or the scope is invalid. If access was recently granted, please "
            "refresh your credentials.",
        )
    subscription = _SUBSCRIPTION.match(path)
    return errors.arm_error(
        409,
        "ReadOnlyDisabledSubscription",
        f"The subscription '{subscription.group(1) if subscription else ''}' is disabled and "
        "therefore marked as read only. You cannot perform any write actions on this "
        "subscription until it is re-enabled.",
    )


def action_of(method: str, path: str) -> str:
    """The RBAC action a request needs, e.g. `Microsoft.Web/sites/slots/slotsswap/action`."""
    site = _SITE.match(path)
    if site is None:
        return f"Microsoft.Resources/{method.lower()}"
    kind = "Microsoft.Web/sites/slots" if site.group("slot") else "Microsoft.Web/sites"
    rest = [part for part in (site.group("rest") or "").split("/") if part]
    if method.upper() == "POST" and rest:
        return "/".join([kind, *rest[:-1][::2], rest[-1], "action"])
    verb = {"PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(method.upper(), "read")
    return "/".join([kind, *rest[::2], verb]) if rest else f"{kind}/{verb}"


def _scope(path: str) -> str:
    site = _SITE.match(path)
    return site.group("id") if site else path
