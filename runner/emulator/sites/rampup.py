"""Routing rules ("testing in production") as App Service applies them on the production host.

The rules live in the production site's config, `experiments.rampUpRules`:
`[{"name": "<slot>", "actionHostName": "<slot's defaultHostName>", "reroutePercentage": 10}]`.
A new client is sent to a slot with that probability and pinned there by the cookie
`x-ms-routing-name=<slot>` (`self` for production); `?x-ms-routing-name=<slot>` or `=self` forces
a route and sets the cookie. A slot can be forced only while it has a rule (0 % included: the
portal's way of hiding a slot from everyone but testers). Without any rule nothing is routed.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from runner.emulator.appservice.records import App, is_production
from runner.emulator.settings import PRODUCTION

COOKIE = "x-ms-routing-name"
SELF = "self"


class RampUpRule(NamedTuple):
    slot: str  # the slot's name, as the cookie carries it
    percentage: float


class RoutingDecision(NamedTuple):
    slot: str  # the slot that serves the request (production or a rule's slot)
    set_cookie: str | None  # the cookie value to pin the client with, when it changes


def check_rules(app: App, experiments: Any) -> None:
    """Refuse rules App Service could not apply; raises ValueError with the reason."""
    if experiments is None:
        return
    if not isinstance(experiments, dict):
        raise ValueError("experiments must be an object with rampUpRules.")
    rules = experiments.get("rampUpRules") or []
    if not isinstance(rules, list):
        raise ValueError("experiments.rampUpRules must be a list.")
    total = 0.0
    for rule in rules:
        if not isinstance(rule, dict):
            raise ValueError("Each ramp-up rule must be an object.")
        host = rule.get("actionHostName")
        if _slot_of_host(app, host) is None:
            hosts = ", ".join(s.host_name for s in app.slots.values() if not is_production(s.name))
            raise ValueError(
                f"The ramp-up rule '{rule.get('name')}' has actionHostName '{host}', which is not "
                f"the host name of a slot of '{app.name}' (slots: {hosts or 'none'})."
            )
        percentage = rule.get("reroutePercentage", 0)
        if not isinstance(percentage, (int, float)) or isinstance(percentage, bool):
            raise ValueError(f"The ramp-up rule '{rule.get('name')}' needs a reroutePercentage.")
        if not 0 <= percentage <= 100:
            raise ValueError(
                f"The reroutePercentage of rule '{rule.get('name')}' must be between 0 and 100."
            )
        total += float(percentage)
    if total > 100:
        raise ValueError(f"The ramp-up rules send {total:g} % of traffic away; at most 100 %.")


def rules_of(app: App) -> list[RampUpRule]:
    """The production site's rules, each resolved to a slot by its actionHostName."""
    production = app.slots[PRODUCTION]
    experiments = production.site_config.get("experiments")
    raw = experiments.get("rampUpRules") if isinstance(experiments, dict) else None
    rules = []
    for rule in raw if isinstance(raw, list) else []:
        if not isinstance(rule, dict):
            continue
        slot = _slot_of_host(app, rule.get("actionHostName"))
        percentage = rule.get("reroutePercentage", 0)
        if slot is not None and isinstance(percentage, (int, float)):
            rules.append(RampUpRule(slot, float(percentage)))
    return rules


class TrafficSplit:
    """Decides which slot serves a request on the production host."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def route(
        self, rules: Sequence[RampUpRule], query: Mapping[str, str], cookie_header: str | None
    ) -> RoutingDecision:
        if not rules:
            return RoutingDecision(PRODUCTION, None)
        forced = _named_route(rules, _query_value(query))
        if forced is not None:
            return RoutingDecision(forced, _cookie_value(forced))
        pinned = _named_route(rules, _cookie(cookie_header))
        if pinned is not None:
            return RoutingDecision(pinned, None)
        with self._lock:
            roll = self._random.uniform(0, 100)
        for rule in rules:
            if roll < rule.percentage:
                return RoutingDecision(rule.slot, _cookie_value(rule.slot))
            roll -= rule.percentage
        return RoutingDecision(PRODUCTION, SELF)


def _slot_of_host(app: App, host: Any) -> str | None:
    """The slot whose host name this is: its `defaultHostName`, or that name as Azure derives it
    from production's (`<app>-<slot>.azurewebsites.net`, which `az webapp traffic-routing set`
    computes; here `127-<slot>.0.0.1:<production's port>`)."""
    if not isinstance(host, str):
        return None
    wanted = host.strip().lower()
    label, _, suffix = app.slots[PRODUCTION].host_name.partition(".")
    for slot in app.slots.values():
        derived = f"{label}-{slot.name}.{suffix}"
        if not is_production(slot.name) and wanted in (slot.host_name.lower(), derived.lower()):
            return slot.name
    return None


def _named_route(rules: Sequence[RampUpRule], name: str | None) -> str | None:
    if not name:
        return None
    if name.lower() == SELF:
        return PRODUCTION
    for rule in rules:
        if rule.slot.lower() == name.lower():
            return rule.slot
    return None


def _cookie_value(slot: str) -> str:
    return SELF if is_production(slot) else slot


def _query_value(query: Mapping[str, str]) -> str | None:
    for key, value in query.items():
        if key.lower() == COOKIE:
            return value
    return None


def _cookie(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == COOKIE:
            return value.strip().strip('"')
    return None
