"""What Microsoft's AzureAppServiceManage@0 reads besides the swap: publishing credentials,
the basic-auth policy, the publish profile, and a Kudu stand-in for its deployment log."""

from __future__ import annotations

import base64
import hmac
import json
import time
from xml.sax.saxutils import quoteattr

from runner.emulator import errors
from runner.emulator.apps import App, Slot, is_production
from runner.emulator.arm import SITE, SLOT, Arm
from runner.emulator.resources import site_id
from runner.emulator.routing import Router
from runner.emulator.wire import Params, Request, Response

KUDU = "/_kudu/{rg}/{app}/{slot}"


class PublishingRoutes:
    def __init__(self, arm: Arm) -> None:
        self._arm = arm
        self.deployments: list[dict[str, object]] = []  # what Kudu was told, newest last

    def add_routes(self, router: Router) -> None:
        for base in (SITE, SLOT):
            router.add("POST", base + "/config/publishingcredentials/list", self._credentials)
            router.add("GET", base + "/basicPublishingCredentialsPolicies/{kind}", self._policy)
            router.add("POST", base + "/publishxml", self._publish_profile)

    def add_kudu_routes(self, router: Router) -> None:
        router.add("PUT", KUDU + "/api/deployments/{id}", self._kudu_put_deployment)
        router.add("GET", KUDU + "/api/deployments", self._kudu_deployments)

    def _credentials(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        user, password = _user(app, slot), _password(app, slot)
        scm = self._scm_uri(app, slot).replace("https://", f"https://{user}:{password}@", 1)
        return Response.json(
            200,
            {
                "id": site_id(self._arm.subscription_id, app, slot)
                + "/config/publishingcredentials",
                "name": app.name if is_production(slot.name) else f"{app.name}/{slot.name}",
                "type": "Microsoft.Web/sites/config",
                "properties": {
                    "name": None,
                    "publishingUserName": user,
                    "publishingPassword": password,
                    "scmUri": scm,
                },
            },
        )

    def _policy(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        kind = params["kind"].lower()
        return Response.json(
            200,
            {
                "id": f"{site_id(self._arm.subscription_id, app, slot)}"
                f"/basicPublishingCredentialsPolicies/{kind}",
                "name": kind,
                "type": "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
                "properties": {"allow": True},
            },
        )

    def _publish_profile(self, request: Request, params: Params) -> Response:
        app, slot = self._arm.locate(params)
        scm_host = self._scm_uri(app, slot).split("/")[2]
        attributes = {
            "profileName": f"{app.name} - Web Deploy",
            "publishMethod": "MSDeploy",
            "publishUrl": scm_host,
            "msdeploySite": app.name,
            "userName": _user(app, slot),
            "userPWD": _password(app, slot),
            "destinationAppUrl": f"https://{slot.host_name}",
            "SQLServerDBConnectionString": "",
            "mySQLDBConnectionString": "",
            "hostingProviderForumLink": "",
            "controlPanelLink": "",
            "webSystem": "WebSites",
        }
        profile = " ".join(f"{key}={quoteattr(value)}" for key, value in attributes.items())
        xml = f"<publishData><publishProfile {profile}><databases /></publishProfile></publishData>"
        return Response(200, xml.encode(), {"Content-Type": "application/xml"})

    def _kudu_put_deployment(self, request: Request, params: Params) -> Response:
        app, slot = self._kudu_site(request, params)
        entry = {
            "id": params["id"],
            "app": app.name,
            "slot": slot.name,
            "received": time.time(),
            **(request.json() if request.body else {}),
        }
        self.deployments.append(entry)
        return Response.json(200, entry)

    def _kudu_deployments(self, request: Request, params: Params) -> Response:
        app, slot = self._kudu_site(request, params)
        mine = [d for d in self.deployments if d["app"] == app.name and d["slot"] == slot.name]
        return Response(200, json.dumps(mine).encode(), {"Content-Type": "application/json"})

    def _kudu_site(self, request: Request, params: Params) -> tuple[App, Slot]:
        app = self._arm.platform.find_app(params["rg"], params["app"])
        slot = app.slot(params["slot"]) if app else None
        if app is None or slot is None:
            raise errors.arm_error(404, "NotFound", "No such site.")
        expected = f"{_user(app, slot)}:{_password(app, slot)}"
        scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
        try:
            given = base64.b64decode(encoded).decode() if scheme.lower() == "basic" else ""
        except ValueError:
            given = ""
        if not hmac.compare_digest(given, expected):
            raise errors.arm_error(401, "Unauthorized", "Kudu needs the publishing credentials.")
        return app, slot

    def _scm_uri(self, app: App, slot: Slot) -> str:
        return f"{self._arm.url}_kudu/{app.resource_group}/{app.name}/{slot.name}"


def _user(app: App, slot: Slot) -> str:
    return f"${app.name}" if is_production(slot.name) else f"${app.name}__{slot.name}"


def _password(app: App, slot: Slot) -> str:
    # Stable and per-site; the emulator has nothing worth protecting behind it.
    return f"emulator-publishing-{app.name}-{slot.name}"
