"""App Service sites, slots and swaps, in the task's terms, over `ArmPipeline`.

Swap status is polled here rather than by an SDK poller, whose 30-second default would notice a
finished swap long after it ended, and whose retries could resend the swap itself.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any, NamedTuple, Optional

from runner.azure import app_service_requests as requests_to
from runner.azure.arm_pipeline import (
    ArmPipeline,
    AzureCallError,
    CallFailure,
    parse_retry_after,
)
from runner.azure.azure_errors import azure_message
from runner.azure.connection import Connection
from runner.errors import UserError
from runner.log import Log
from runner.network import NetworkSettings
from runner.request import PRODUCTION, SlotRef

__all__ = [
    "AzureCallError",
    "CallFailure",
    "LastSwap",
    "PollResult",
    "PollState",
    "SettingDifference",
    "SlotState",
    "StartedSwap",
    "WebApps",
]

_GROUP_IN_ID = re.compile(r"/resourceGroups/([^/]+)/", re.IGNORECASE)


class LastSwap(NamedTuple):
    """`slotSwapStatus`: Azure's record of the app's last *successful* swap."""

    when: str
    source: str
    destination: str


class SlotState(NamedTuple):
    ref: SlotRef
    host_name: str
    state: str
    last_swap: Optional[LastSwap]
    target_swap_slot: str = ""  # set while a swap with preview of this slot is prepared
    https_only: bool = False  # plain HTTP is redirected to HTTPS

    @property
    def url(self) -> str:
        return f"https://{self.host_name}/" if self.host_name else ""


class StartedSwap(NamedTuple):
    """Azure accepted the swap. `status_url` is None when it finished at once."""

    status_url: Optional[str]
    retry_after: Optional[float]


class PollState(Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PollResult(NamedTuple):
    state: PollState
    retry_after: Optional[float] = None
    message: str = ""


class SettingDifference(NamedTuple):
    """One setting a swap would change (`slotsdiffs`). Values are never kept: they may be secret."""

    setting_type: str  # AppSetting, ConnectionString, ...
    name: str
    swapped: bool  # False: a slot (sticky) setting, which stays with its slot

    def describe(self) -> str:
        kind = "connection string" if self.setting_type == "ConnectionString" else "app setting"
        rule = "moves with the swap" if self.swapped else "slot setting, stays with its slot"
        return f"{kind} {self.name}: {rule}"


class WebApps:
    """Sites and slots of one subscription, through one connection."""

    def __init__(
        self,
        connection: Connection,
        log: Log,
        debug: bool = False,
        network: Optional[NetworkSettings] = None,
    ) -> None:
        self.connection = connection
        self.network = network or NetworkSettings()
        self.arm = ArmPipeline(connection, log, debug, network=self.network)

    def authenticate(self) -> None:
        """Gets a token now, so a wrong credential fails before anything else is tried."""
        self.arm.authenticate()

    # --- reads ----------------------------------------------------------------------------

    def find_resource_group(self, app: str) -> str:
        """The resource group of the app named `app` in the subscription."""
        subscription = self.connection.subscription_id
        try:
            sites = self.arm.send_paged(
                "listing the subscription's web apps", requests_to.list_sites(subscription)
            )
        except AzureCallError as error:
            if error.code == "SubscriptionNotFound":
                raise self._no_subscription(error) from None
            raise
        groups = sorted(
            {_group_of(site) for site in sites if str(site.get("name", "")).lower() == app.lower()}
        )
        if not groups:
            raise UserError(
                f"No App Service named '{app}' exists in subscription '{subscription}'. Check "
                "WebAppName, and that the service connection's subscription is the app's."
            )
        if len(groups) > 1:
            raise UserError(
                f"App Service '{app}' exists in several resource groups of subscription "
                f"'{subscription}': {', '.join(groups)}. Set ResourceGroupName to choose one."
            )
        return groups[0]

    def get_slot(self, ref: SlotRef) -> SlotState:
        what = f"reading app '{ref.app}'" if ref.is_production else f"reading slot '{ref}'"
        try:
            site = self.arm.send_json(what, requests_to.get_site(ref))
        except AzureCallError as error:
            if error.status == 404:
                raise self._not_found(ref, error) from None
            raise
        return _slot_state(ref, site)

    def slot_names(self, resource_group: str, app: str) -> list[str]:
        slots = self.arm.send_paged(
            f"listing the slots of '{app}'",
            requests_to.list_slots(self.connection.subscription_id, resource_group, app),
        )
        return [str(slot.get("name", "")).split("/")[-1] for slot in slots]

    def _not_found(self, ref: SlotRef, error: AzureCallError) -> UserError:
        where = f"subscription '{ref.subscription_id}'"
        if error.code == "SubscriptionNotFound":
            return self._no_subscription(error)
        if error.code == "ResourceGroupNotFound":
            return UserError(
                f"Resource group '{ref.resource_group}' was not found in {where}. Check "
                f"ResourceGroupName, or leave it empty to find the group of '{ref.app}'."
            )
        if ref.is_production:
            return UserError(
                f"App Service '{ref.app}' was not found in resource group '{ref.resource_group}' "
                f"of {where}. Check WebAppName and ResourceGroupName."
            )
        try:
            known = ", ".join(self.slot_names(ref.resource_group, ref.app)) or "none"
        except AzureCallError:
            known = "unknown"
        return UserError(
            f"Slot '{ref.slot}' was not found on App Service '{ref.app}' (resource group "
            f"'{ref.resource_group}', {where}). Its slots: {known}. Check the slot name."
        )

    def web_config(self, ref: SlotRef) -> dict[str, Any]:
        """The slot's site config (`config/web`) properties: healthCheckPath, autoSwapSlotName,
        ipSecurityRestrictions, ..."""
        config = self.arm.send_json(
            f"reading the site config of '{ref}'", requests_to.get_web_config(ref)
        )
        properties = config.get("properties") or {}
        return properties if isinstance(properties, dict) else {}

    def app_settings_named(self, ref: SlotRef, names: tuple[str, ...]) -> dict[str, str]:
        """The values of these app settings of the slot (those it has). Azure answers with every
        setting's value; only these are kept, so that no other value (a secret) goes further."""
        settings = self.arm.send_json(
            f"reading the app settings of '{ref}'", requests_to.list_app_settings(ref)
        )
        properties = settings.get("properties") or {}
        if not isinstance(properties, dict):
            return {}
        wanted = {name.upper(): name for name in names}
        return {
            wanted[str(key).upper()]: str(value)
            for key, value in properties.items()
            if str(key).upper() in wanted and value is not None
        }

    def slot_differences(
        self, source: SlotRef, target_slot: str, preserve_vnet: bool
    ) -> list[SettingDifference]:
        items = self.arm.send_paged(
            f"listing what a swap of '{source.slot}' with '{target_slot}' changes",
            requests_to.slot_differences(source, target_slot, preserve_vnet),
        )
        found = []
        for item in items:
            properties = item.get("properties") or {}
            if isinstance(properties, dict):
                found.append(
                    SettingDifference(
                        str(properties.get("settingType") or ""),
                        str(properties.get("settingName") or ""),
                        str(properties.get("diffRule") or "") != "SettingsNotSwapped",
                    )
                )
        return found

    # --- swap with preview ------------------------------------------------------------------

    def apply_slot_config(self, source: SlotRef, target_slot: str, preserve_vnet: bool) -> None:
        """Swap with preview, phase 1: `source` restarts with `target_slot`'s slot settings."""
        self.arm.send(
            f"applying the settings of '{target_slot}' to '{source}' (swap with preview)",
            requests_to.apply_slot_config(source, target_slot, preserve_vnet),
            retry_total=0,
        )

    def reset_slot_config(self, ref: SlotRef) -> None:
        """Cancels a swap with preview: `ref` (the source slot) gets its own settings back."""
        self.arm.send(
            f"resetting the settings of '{ref}' (canceling the swap with preview)",
            requests_to.reset_slot_config(ref),
            retry_total=0,
        )

    def _no_subscription(self, error: AzureCallError) -> UserError:
        connection = self.connection
        return UserError(
            f"Subscription '{connection.subscription_id}' of service connection "
            f"'{connection.name}' was not found: Azure said {error.azure_text}. Check the "
            "connection's subscription id, and that its identity has access to that "
            "subscription in this tenant."
        )

    # --- the swap -------------------------------------------------------------------------

    def start_swap(self, source: SlotRef, target_slot: str, preserve_vnet: bool) -> StartedSwap:
        """Sends the swap, once: never retried here, since a resent swap swaps back."""
        into = "production" if target_slot.lower() == PRODUCTION else f"'{target_slot}'"
        response = self.arm.send(
            f"swapping '{source.slot}' into {into} of '{source.app}'",
            requests_to.swap(source, target_slot, preserve_vnet),
            retry_total=0,
        )
        if response.status_code == 200:
            return StartedSwap(None, None)
        headers = response.headers
        location = headers.get("Location") or headers.get("Azure-AsyncOperation")
        return StartedSwap(location, parse_retry_after(headers.get("Retry-After")))

    def poll_swap(self, status_url: str) -> PollResult:
        """One look at the swap's operation URL: 202 running, 200 done, an error = failed."""
        response = self.arm.send(
            "checking the swap's progress",
            requests_to.operation_status(status_url),
            accept_errors=True,
            read_timeout=60,
        )
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 202:
            return PollResult(PollState.RUNNING, retry_after)
        if status in (200, 201, 204):
            return PollResult(PollState.SUCCEEDED)
        if status == 429 or status >= 500:
            # A hiccup of the status endpoint, not the swap's outcome.
            return PollResult(
                PollState.RUNNING, retry_after or 2.0, azure_message(status, response.read())
            )
        return PollResult(PollState.FAILED, None, azure_message(status, response.read()))


def _group_of(site: dict[str, Any]) -> str:
    properties = site.get("properties") or {}
    group = properties.get("resourceGroup") if isinstance(properties, dict) else None
    if group:
        return str(group)
    match = _GROUP_IN_ID.search(str(site.get("id") or ""))
    return match.group(1) if match else ""


def _slot_state(ref: SlotRef, site: dict[str, Any]) -> SlotState:
    properties = site.get("properties") or {}
    status = properties.get("slotSwapStatus")
    last = None
    if isinstance(status, dict):
        last = LastSwap(
            when=str(status.get("timestampUtc") or ""),
            source=str(status.get("sourceSlotName") or ""),
            destination=str(status.get("destinationSlotName") or ""),
        )
    return SlotState(
        ref=ref,
        host_name=str(properties.get("defaultHostName") or ""),
        state=str(properties.get("state") or ""),
        last_swap=last,
        target_swap_slot=str(properties.get("targetSwapSlot") or ""),
        https_only=properties.get("httpsOnly") is True,
    )
