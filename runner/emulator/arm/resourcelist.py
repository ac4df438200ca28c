"""The generic resource list, `GET /subscriptions/{sub}/resources`: every site and slot as a
tracked resource, narrowed by the part of ARM's OData `$filter` that clients use to find a site
by name (`resourceType eq '...' and name eq '...'`; Microsoft's task sends it to learn an app's
resource group)."""

from __future__ import annotations

import re
from typing import Any

from runner.emulator.arm import errors
from runner.emulator.arm.front_door import Arm
from runner.emulator.arm.resources import generic_resource
from runner.emulator.routing import Router
from runner.emulator.wire import Params, Request, Response

_CLAUSE = re.compile(r"^\s*(resourceType|name|resourceGroup)\s+eq\s+'((?:[^']|'')*)'\s*$", re.I)
_AND = re.compile(r"\s+and\s+", re.I)


def parse_filter(text: str) -> dict[str, str]:
    """`resourceType eq 'X' and name eq 'Y'` -> {"resourcetype": "X", "name": "Y"}."""
    wanted: dict[str, str] = {}
    if not text.strip():
        return wanted
    for clause in _AND.split(text.strip()):
        match = _CLAUSE.match(clause)
        if match is None:
            raise errors.arm_error(
                400,
                "InvalidFilterInQueryString",
                f"Invalid $filter '{text}' specified in the query string. The emulator "
                "understands \"resourceType eq '...'\", \"name eq '...'\" and "
                "\"resourceGroup eq '...'\" joined by 'and'.",
            )
        wanted[match.group(1).lower()] = match.group(2).replace("''", "'")
    return wanted


class ResourceListRoutes:
    def __init__(self, arm: Arm) -> None:
        self._arm = arm

    def add_routes(self, router: Router) -> None:
        router.add("GET", "/subscriptions/{sub}/resources", self._resources)
        router.add("GET", "/subscriptions/{sub}/resourceGroups/{rg}/resources", self._resources)

    def _resources(self, request: Request, params: Params) -> Response:
        if "rg" in params:
            self._arm.check_resource_group(params["sub"], params["rg"])
        else:
            self._arm.check_subscription(params["sub"])
        wanted = parse_filter(request.param("$filter") or "")
        if "rg" in params:
            wanted["resourcegroup"] = params["rg"]
        every = (
            generic_resource(self._arm.subscription_id, app, slot)
            for app in self._arm.platform.apps()
            for slot in app.slots.values()
        )
        found = [resource for resource in every if _matches(resource, wanted)]
        return Response.json(200, {"value": found})


def _matches(resource: dict[str, Any], wanted: dict[str, str]) -> bool:
    group = str(resource["id"]).split("/")[4]
    actual = {"resourcetype": resource["type"], "name": resource["name"], "resourcegroup": group}
    return all(actual[key].lower() == value.lower() for key, value in wanted.items())
