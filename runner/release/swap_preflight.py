"""The pre-flight: what Azure would refuse minutes into a swap is refused before any change, and
what may make App Service's warm-up of the source fail is said before the swap.

Read only, and no round trip of its own: it judges the slots the plan read and the reads sent
with them (`runner.release.pre_swap_reads`: the source's site config and warm-up settings).
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any, NamedTuple, Optional

from runner.azure.web_apps import AzureCallError, SlotState
from runner.errors import UserError
from runner.log import Log
from runner.release.pre_swap_reads import WARM_UP_SETTINGS, PreSwapReads
from runner.release.swap_failures import explain
from runner.request import Action, SwapRequest

PING_PATH, PING_STATUSES, WARMUP_PATH = WARM_UP_SETTINGS
# App Service's warm-up requests come from inside its deployment: "IPv4 address ranges that
# start with 10. and 100." (App Service's documentation on swap failures).
WARM_UP_SOURCES = (ip_network("10.0.0.0/8"), ip_network("100.0.0.0/8"))
# Refusals of a read that the swap, a write, would meet too.
REFUSED_WRITES = ("ScopeLocked", "ReadOnlyDisabledSubscription")


class WarmUp(NamedTuple):
    """The source's app settings that steer App Service's warm-up, as set (values are paths
    and status codes: nothing secret)."""

    settings: tuple[tuple[str, str], ...]

    def value(self, name: str) -> str:
        return dict(self.settings).get(name, "").strip()

    @property
    def ping_path(self) -> str:
        return self.value(PING_PATH) or "/"

    @property
    def statuses(self) -> frozenset[int]:
        parts = self.value(PING_STATUSES).replace(" ", "").split(",")
        return frozenset(int(part) for part in parts if part.isdigit())

    def describe(self) -> str:
        statuses = self.value(PING_STATUSES)
        accepted = f"accepts {statuses}" if statuses else "accepts any status"
        shown = ", ".join(f"{name}={value}" for name, value in self.settings) or "none set"
        return f"pings {self.ping_path}, {accepted} ({shown})"


class Preflight(NamedTuple):
    warm_up: Optional[WarmUp]  # None when the settings could not be read
    warnings: tuple[str, ...]


def refuse_unswappable(
    request: SwapRequest, source: SlotState, target: SlotState, production: SlotState
) -> None:
    """A stopped slot, or a swap with preview prepared for another pair of slots: Azure would
    refuse the swap, the second at once, the first only after its warm-up, minutes later."""
    if request.action is Action.CANCEL_PREVIEW:
        return
    for slot in (source, target):
        if slot.state and slot.state.lower() != "running":
            raise UserError(_not_running(slot, slot is source))
    pair = {source.ref.slot.lower(), target.ref.slot.lower()}
    for slot in (source, target, production):
        prepared = slot.target_swap_slot
        if prepared and {slot.ref.slot.lower(), prepared.lower()} != pair:
            ref = slot.ref
            raise UserError(
                f"A swap with preview of '{ref.slot}' with '{prepared}' is prepared on App "
                f"Service '{ref.app}' (resource group '{ref.resource_group}'): Azure refuses "
                f"any other swap until it is completed or canceled. Cancel it: run this task "
                f"with Action: Cancel Swap and SourceSlot: {ref.slot}, or az webapp deployment "
                f"slot swap --action reset --name {ref.app} --resource-group "
                f"{ref.resource_group} --slot {ref.slot}; or complete it with Action: Complete "
                "Swap. Then run the task again."
            )


def _not_running(slot: SlotState, is_source: bool) -> str:
    ref = slot.ref
    which = "source" if is_source else "target"
    start = f"az webapp start --name {ref.app} --resource-group {ref.resource_group}"
    if not ref.is_production:
        start += f" --slot {ref.slot}"
    why = (
        "App Service warms up the source before it swaps, and a stopped slot does not answer: "
        "Azure would fail the swap after its warm-up ('did not respond to http ping', 417)"
        if is_source
        else "Azure swaps the running sites of two slots, and this one runs nothing"
    )
    return (
        f"The {which} slot '{ref.slot}' of App Service '{ref.app}' (resource group "
        f"'{ref.resource_group}', subscription '{ref.subscription_id}') is {slot.state}: {why}. "
        f"Start it first ({start}, or Start in the portal), then run the task again."
    )


def check_preflight(source: SlotState, reads: PreSwapReads, log: Log) -> Preflight:
    """Waits for the source's site config and warm-up settings (sent with the slots' reads) and
    says what may make the warm-up fail."""
    ref = source.ref
    try:
        config: dict[str, Any] = reads.source_config.result()
    except AzureCallError as error:
        log.info(f"Could not read the site config of '{ref}': {error}")
        config = {}
    try:
        warm_up: Optional[WarmUp] = WarmUp(tuple(reads.warm_up.result().items()))
    except AzureCallError as error:
        if error.code in REFUSED_WRITES:
            # A ReadOnly lock refuses this POST as it would refuse the swap.
            raise UserError(
                f"Azure refused to read the app settings of '{ref}': {error.azure_text}. It "
                f"would refuse the swap the same way. {explain(error.azure_text, ref, ref)}"
            ) from None
        log.info(f"Could not read the warm-up settings of '{ref}': {error}")
        warm_up = None
    return Preflight(warm_up, tuple(_warnings(source, config, warm_up)))


def _warnings(source: SlotState, config: dict[str, Any], warm_up: Optional[WarmUp]) -> list[str]:
    ref = source.ref
    found = []
    auto_swap = str(config.get("autoSwapSlotName") or "")
    if auto_swap:
        found.append(
            f"Auto swap is on for '{ref}' (into '{auto_swap}'): App Service swaps it into "
            f"'{auto_swap}' by itself after each deployment to it, and this task swaps again: "
            "once the auto swap has run, the task's swap puts the previous version back. Turn "
            f"auto swap off (az webapp deployment slot auto-swap --disable --slot {ref.slot} "
            "...), or leave the swap to one of them."
        )
    if _blocks_warm_up(config):
        found.append(
            f"'{ref}' restricts access by IP address and allows none of App Service's own "
            "addresses (starting with 10. or 100.) that its warm-up requests come from: the "
            "warm-up may be refused and the swap fail ('did not respond to http ping'). Allow "
            "them in the slot's access restrictions."
        )
    if warm_up is not None:
        found.extend(_malformed(ref.slot, warm_up))
    statuses = warm_up.statuses if warm_up is not None else frozenset()
    if source.https_only and statuses and not statuses & {301, 302, 307, 308}:
        assert warm_up is not None
        found.append(
            f"'{ref}' is HTTPS only and WEBSITE_SWAP_WARMUP_PING_STATUSES is "
            f"'{warm_up.value(PING_STATUSES)}': App Service's warm-up pings over plain HTTP, "
            "so its answer may be a redirect to HTTPS, which the statuses do not accept, and the "
            "swap would stop. Add 301 to them, or remove the setting and let the task's health "
            "gate (HealthCheckPath, over HTTPS) check the slot."
        )
    return found


def _malformed(slot: str, warm_up: WarmUp) -> list[str]:
    """Values App Service's documentation rules out: a path without its leading slash, statuses
    that are not a comma-separated list of status codes."""
    found = []
    for name in (PING_PATH, WARMUP_PATH):
        path = warm_up.value(name)
        if path and not path.startswith("/"):
            found.append(
                f"{name} of '{slot}' is '{path}': App Service expects a path that begins with "
                f"a slash, e.g. '/{path}'."
            )
    statuses = warm_up.value(PING_STATUSES)
    parts = statuses.replace(" ", "").split(",")
    if statuses and not all(part.isdigit() and len(part) == 3 for part in parts):
        found.append(
            f"{PING_STATUSES} of '{slot}' is '{statuses}': App Service expects HTTP status "
            "codes separated by commas, e.g. '200,202'."
        )
    return found


def _blocks_warm_up(config: dict[str, Any]) -> bool:
    """The slot's access restrictions deny what they do not allow, and allow nothing in
    App Service's internal ranges."""
    rules = [rule for rule in config.get("ipSecurityRestrictions") or [] if isinstance(rule, dict)]
    allowed = [rule for rule in rules if str(rule.get("action") or "Allow").lower() == "allow"]
    default = str(config.get("ipSecurityRestrictionsDefaultAction") or "").lower()
    denies_others = default == "deny" or (not default and bool(allowed))
    if not denies_others:
        return False
    for rule in allowed:
        address = str(rule.get("ipAddress") or "")
        if address.lower() == "any":
            return False
        try:
            network = ip_network(address, strict=False)
        except ValueError:
            continue  # a service tag or a virtual network rule: nothing to judge
        if any(network.overlaps(internal) for internal in WARM_UP_SOURCES if network.version == 4):
            return False
    return True
