"""What Microsoft's AzureAppServiceManage@0 reads besides the swap: publishing credentials,
the basic-auth policy, the publish profile, and a Kudu stand-in for its deployment log."""

from __future__ import annotations

import base64
import hmac
import threading
import time
from xml.sax.saxutils import quoteattr

from runner.emulator.appservice.records import App, Slot, is_production
from runner.emulator.arm import errors
from runner.emulator.arm.front_door import SITE, SLOT, Arm
from runner.emulator.arm.resources import site_id
from runner.emulator.routing import Router
from runner.emulator.wire import HttpError, Params, Request, Response

KUDU = "/_kudu/{rg}/{app}/{slot}"


class PublishingRoutes:
    def __init__(self, arm: Arm) -> None:
        self._arm = arm
        # Kudu's deployment log of each slot (resource group, app, slot), oldest first.
        self._kudu_log: dict[tuple[str, str, str], list[dict[str, object]]] = {}
        self._kudu_lock = threading.Lock()

    def add_routes(self, router: Router) -> None:
        for base in (SITE, SLOT):
            router.add("POST", base + "/config/publishingcredentials/list", self._credentials)
            router.add("GET", base + "/basicPublishingCredentialsPolicies/{kind}", self._policy)
            router.add("POST", base + "/publishxml", self._publish_profile)

    def add_kudu_routes(self, router: Router) -> None:
        router.add("PUT", KUDU + "/api/deployments/{id}", self._kudu_put_deployment)
        router.add("GET", KUDU + "/api/deployments", self._kudu_deployments)
        router.add("GET", KUDU + "/api/deployments/{id}", self._kudu_deployment)

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
        """Kudu's "create a deployment record" form of PUT /api/deployments/{id}: a finished
        deployment (status 4 = success, 3 = failed) with message, deployer and author, as
        Microsoft's tasks write after a swap. Real Kudu treats any other body as "redeploy
        commit {id}" from the site's repository, which the emulator has not got."""
        app, slot = self._kudu_site(request, params)
        body = request.json()
        record_id = params["id"]
        if not isinstance(body, dict):
            body = {}
        missing = [key for key in ("message", "deployer", "author") if not body.get(key)]
        if body.get("status") not in (3, 4) or missing:
            wrong = ", ".join(missing) or "status"
            raise _kudu_error(
                400,
                "The emulator's Kudu records finished deployments only: give status 3 or 4 and "
                f"non-empty message, deployer and author (wrong: {wrong}).",
            )
        if body.get("active") is True and body["status"] != 4:
            raise _kudu_error(400, "Only successful status can be active!")
        now = _kudu_time(time.time())
        url = f"{self._scm_uri(app, slot)}/api/deployments/{record_id}"
        result: dict[str, object] = {
            "id": record_id,
            "status": body["status"],
            "status_text": "",
            "author_email": body.get("author_email"),
            "author": body["author"],
            "deployer": body["deployer"],
            "message": body["message"],
            "progress": "",
            "received_time": now,
            "start_time": body.get("start_time") or now,
            "end_time": body.get("end_time") or now,
            "last_success_end_time": body.get("end_time") or now,
            "complete": True,
            "active": body["status"] == 4 if body.get("active") is None else body["active"],
            "is_temp": False,
            "is_readonly": True,
            "url": url,
            "log_url": url + "/log",
            "site_name": app.name,
        }
        with self._kudu_lock:
            log = self._kudu_log.setdefault(_site_key(app, slot), [])
            if any(entry["id"] == record_id for entry in log):
                raise _kudu_error(409, f"Deployment with id '{record_id}' exists")
            log.append(result)
        return Response.json(200, result)

    def _kudu_deployments(self, request: Request, params: Params) -> Response:
        app, slot = self._kudu_site(request, params)
        with self._kudu_lock:
            newest_first = list(reversed(self._kudu_log.get(_site_key(app, slot), [])))
        return Response.json(200, newest_first)

    def _kudu_deployment(self, request: Request, params: Params) -> Response:
        app, slot = self._kudu_site(request, params)
        with self._kudu_lock:
            found = [
                e for e in self._kudu_log.get(_site_key(app, slot), []) if e["id"] == params["id"]
            ]
        if found:
            return Response.json(200, found[0])
        raise _kudu_error(404, f"Deployment '{params['id']}' not found.")

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


def _site_key(app: App, slot: Slot) -> tuple[str, str, str]:
    return (app.resource_group.lower(), app.name.lower(), slot.name.lower())


def _kudu_error(status: int, message: str) -> HttpError:
    # Kudu's errors are ASP.NET Web API's: {"Message": "..."}.
    return HttpError.json(status, {"Message": message})


def _kudu_time(moment: float) -> str:
    # .NET's round-trip form, as Kudu's JSON writes DateTime values.
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
    return f"{stamp}.{int(moment % 1 * 1e7):07d}Z"


def _user(app: App, slot: Slot) -> str:
    return f"${app.name}" if is_production(slot.name) else f"${app.name}__{slot.name}"


def _password(app: App, slot: Slot) -> str:
    # Stable and per-site; the emulator has nothing worth protecting behind it.
    return f"emulator-publishing-{app.name}-{slot.name}"
