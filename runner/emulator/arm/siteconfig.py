"""Configuration routes: config/web, app settings, connection strings and sticky slot settings."""

from __future__ import annotations

from typing import Any

from runner.emulator.arm import errors, resources
from runner.emulator.arm.front_door import SITE, SLOT, Arm
from runner.emulator.routing import Router
from runner.emulator.sites.rampup import check_rules
from runner.emulator.wire import Params, Request, Response


class SiteConfigRoutes:
    def __init__(self, arm: Arm) -> None:
        self._arm = arm

    def add_routes(self, router: Router) -> None:
        for base in (SITE, SLOT):
            router.add("GET", base + "/config/web", self._get_web)
            router.add("PUT", base + "/config/web", self._update_web)
            router.add("PATCH", base + "/config/web", self._update_web)
            router.add("POST", base + "/config/appsettings/list", self._list_app_settings)
            router.add("PUT", base + "/config/appsettings", self._put_app_settings)
            router.add("POST", base + "/config/connectionstrings/list", self._list_strings)
            router.add("PUT", base + "/config/connectionstrings", self._put_strings)
        router.add("GET", SITE + "/config/slotConfigNames", self._get_sticky_names)
        router.add("PUT", SITE + "/config/slotConfigNames", self._put_sticky_names)

    def _get_web(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        return Response.json(200, resources.site_config(self._arm.subscription_id, app, slot))

    def _update_web(self, request: Request, params: Params) -> Response:
        """PUT and PATCH both merge what they are given: SDKs send only the fields they set."""
        app, slot = self._arm.locate(params)
        changes = _properties(request)
        try:
            check_rules(app, changes.get("experiments"))
        except ValueError as error:
            raise errors.arm_error(400, "BadRequest", str(error)) from None
        self._arm.platform.change(lambda: slot.site_config.update(changes))
        return Response.json(200, resources.site_config(self._arm.subscription_id, app, slot))

    def _list_app_settings(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        return Response.json(200, resources.app_settings(self._arm.subscription_id, app, slot))

    def _put_app_settings(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        values = {str(k): str(v) for k, v in _properties(request).items() if v is not None}

        def replace() -> None:
            slot.app_settings = values

        self._arm.platform.change(replace, restarts=slot)
        return Response.json(200, resources.app_settings(self._arm.subscription_id, app, slot))

    def _list_strings(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        body = resources.connection_strings(self._arm.subscription_id, app, slot)
        return Response.json(200, body)

    def _put_strings(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        values: dict[str, dict[str, str]] = {}
        for name, entry in _properties(request).items():
            if not isinstance(entry, dict):
                raise errors.arm_error(
                    400, "BadRequest", f"Connection string '{name}' must be {{value, type}}."
                )
            values[str(name)] = {
                "value": str(entry.get("value", "")),
                "type": str(entry.get("type", "Custom")),
            }

        def replace() -> None:
            slot.connection_strings = values

        self._arm.platform.change(replace, restarts=slot)
        body = resources.connection_strings(self._arm.subscription_id, app, slot)
        return Response.json(200, body)

    def _get_sticky_names(self, request: Request, params: Params) -> Response:
        app, _ = self._arm.locate(params)
        return Response.json(200, resources.slot_config_names(self._arm.subscription_id, app))

    def _put_sticky_names(self, request: Request, params: Params) -> Response:
        app, _ = self._arm.locate(params)
        properties = _properties(request)
        app_setting_names = [str(n) for n in properties.get("appSettingNames") or []]
        string_names = [str(n) for n in properties.get("connectionStringNames") or []]

        def replace() -> None:
            app.sticky_app_settings = app_setting_names
            app.sticky_connection_strings = string_names

        self._arm.platform.change(replace)
        return Response.json(200, resources.slot_config_names(self._arm.subscription_id, app))


def _properties(request: Request) -> dict[str, Any]:
    body = request.json()
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict):
        raise errors.arm_error(400, "BadRequest", "The request body must have 'properties'.")
    return properties
