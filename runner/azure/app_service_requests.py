"""The Microsoft.Web requests the task sends, built as azure-mgmt-web builds them.

Each function returns one `HttpRequest` (method, path, api-version, body) for
`ArmPipeline.send`. `tests/test_app_service_requests.py` checks every one against the request
azure-mgmt-web's own client sends for the same call, so this small layer cannot drift from the
reference SDK while keeping its 10 MB of models and operations off the task's start-up path.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import quote

from azure.core.rest import HttpRequest

from runner.request import PRODUCTION, SlotRef

API_VERSION = "2025-05-01"  # what azure-mgmt-web 11 and the Azure CLI send


def _segment(value: str) -> str:
    return quote(value, safe="")


def sites_path(subscription_id: str) -> str:
    return f"/subscriptions/{_segment(subscription_id)}/providers/Microsoft.Web/sites"


def site_path(subscription_id: str, resource_group: str, app: str) -> str:
    return (
        f"/subscriptions/{_segment(subscription_id)}/resourceGroups/{_segment(resource_group)}"
        f"/providers/Microsoft.Web/sites/{_segment(app)}"
    )


def slot_path(ref: SlotRef) -> str:
    """The resource id of a slot; production is the site itself."""
    site = site_path(ref.subscription_id, ref.resource_group, ref.app)
    return site if ref.is_production else f"{site}/slots/{_segment(ref.slot)}"


def _arm(method: str, path: str, body: Optional[dict[str, Any]] = None) -> HttpRequest:
    headers = {"Accept": "application/json"}
    params = {"api-version": API_VERSION}
    if body is None:
        return HttpRequest(method, path, params=params, headers=headers)
    return HttpRequest(method, path, params=params, headers=headers, json=body)


def list_sites(subscription_id: str) -> HttpRequest:
    return _arm("GET", sites_path(subscription_id))


def get_site(ref: SlotRef) -> HttpRequest:
    """The site (production) or one slot: state, host name, last swap."""
    return _arm("GET", slot_path(ref))


def list_slots(subscription_id: str, resource_group: str, app: str) -> HttpRequest:
    return _arm("GET", site_path(subscription_id, resource_group, app) + "/slots")


def _slot_pair(source: SlotRef, target_slot: str) -> tuple[str, str]:
    """Where to POST and which slot to name for an action between `source` and `target_slot`.

    With production the call is made on the site and names the other slot (as
    `*_with_production` / `*_to_production` do); otherwise on the source slot, naming the target.
    """
    if target_slot.lower() == PRODUCTION:
        return site_path(source.subscription_id, source.resource_group, source.app), source.slot
    return slot_path(source), target_slot


def swap(source: SlotRef, target_slot: str, preserve_vnet: bool) -> HttpRequest:
    path, named = _slot_pair(source, target_slot)
    return _arm("POST", path + "/slotsswap", {"targetSlot": named, "preserveVnet": preserve_vnet})


def slot_differences(source: SlotRef, target_slot: str, preserve_vnet: bool) -> HttpRequest:
    """The settings that differ between the two slots (what a swap would change)."""
    path, named = _slot_pair(source, target_slot)
    return _arm("POST", path + "/slotsdiffs", {"targetSlot": named, "preserveVnet": preserve_vnet})


def apply_slot_config(source: SlotRef, target_slot: str, preserve_vnet: bool) -> HttpRequest:
    """Phase one of a swap with preview: the source restarts with the target's sticky settings.

    Always sent on the source slot, naming the target (`production` included), as the Azure CLI
    and Microsoft's task send it: on the site it would name production as the slot to prepare.
    """
    return _arm(
        "POST",
        slot_path(source) + "/applySlotConfig",
        {"targetSlot": target_slot, "preserveVnet": preserve_vnet},
    )


def reset_slot_config(ref: SlotRef) -> HttpRequest:
    """Cancels a swap with preview on `ref` (the source slot): its own settings come back."""
    return _arm("POST", slot_path(ref) + "/resetSlotConfig")


def get_web_config(ref: SlotRef) -> HttpRequest:
    return _arm("GET", slot_path(ref) + "/config/web")


def list_app_settings(ref: SlotRef) -> HttpRequest:
    """The slot's app settings, values included (a POST: reading them is an action)."""
    return _arm("POST", slot_path(ref) + "/config/appsettings/list")


def update_web_config(ref: SlotRef, properties: dict[str, Any]) -> HttpRequest:
    """PATCH of the slot's web config: only the properties given change."""
    return _arm("PATCH", slot_path(ref) + "/config/web", {"properties": properties})


def operation_status(url: str) -> HttpRequest:
    """A GET of a long-running operation's `Location`, as Azure gave it (api-version included)."""
    return HttpRequest("GET", url)
