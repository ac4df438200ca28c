"""Azure Resource Manager's front door: bearer-token check, api-version, subscription and
resource group lookups, and the read-only site and slot routes."""

from __future__ import annotations

import datetime
import re
from typing import Callable

from runner.emulator.appservice.platform import AppService
from runner.emulator.appservice.records import App, Slot
from runner.emulator.arm import errors, resources
from runner.emulator.entra import tokens
from runner.emulator.entra.tenant import Entra
from runner.emulator.faults import FaultBook
from runner.emulator.routing import Router
from runner.emulator.settings import ARM_AUDIENCE, PRODUCTION, SUBSCRIPTION_ID, TENANT_ID
from runner.emulator.wire import Params, Request, Response

SITE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}"
SLOT = SITE + "/slots/{slot}"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha)?$", re.IGNORECASE)
# Resource Manager's registered identifiers; ARM also accepts its own URL (its "endpoint"
# audience), which is what Microsoft's task asks Entra for outside Azure Stack.
_AUDIENCES = (ARM_AUDIENCE, "https://management.azure.com/")


def is_arm_path(path: str) -> bool:
    lowered = path.lower()
    return lowered.startswith(("/subscriptions", "/tenants"))


class Arm:
    def __init__(
        self,
        url: str,
        platform: AppService,
        entra: Entra,
        faults: FaultBook,
        clock: Callable[[], float],
        scm_host: str,
    ) -> None:
        self.url = url
        self.platform = platform
        self.subscription_id = SUBSCRIPTION_ID
        self._entra = entra
        self._faults = faults
        self._clock = clock
        self.scm_host = scm_host

    # -- the gate every ARM request passes -----------------------------------------------------

    def admit(self, request: Request) -> None:
        """Authenticate as ARM does, then insist on an api-version."""
        challenge = {
            "WWW-Authenticate": f'Bearer authorization_uri="{self.url}{TENANT_ID}", '
            'error="invalid_token", error_description="The authentication '
            'failed because of missing or invalid Authorization header."',
        }
        if self._faults.take(("expired-token",), request.method, request.path):
            raise errors.arm_error(
                401,
                "ExpiredAuthenticationToken",
                self._expired_message(self._clock() - 60),
                challenge,
            )
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if not scheme:
            raise errors.arm_error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                challenge,
            )
        if scheme.lower() != "bearer" or not token:
            raise errors.arm_error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided "
                "in an invalid format.",
                challenge,
            )
        try:
            jwt = self._entra.verify_own(token.strip())
            tokens.check_lifetime(jwt, self._clock())
        except tokens.TokenExpired as expired:
            raise errors.arm_error(
                401, "ExpiredAuthenticationToken", self._expired_message(expired.expiry), challenge
            ) from None
        except tokens.TokenError:
            raise errors.arm_error(
                401, "InvalidAuthenticationToken", "The access token is invalid.", challenge
            ) from None
        audience = str(jwt.claims.get("aud", "")).rstrip("/").lower()
        allowed = (*_AUDIENCES, self.url)
        if audience not in (known.rstrip("/").lower() for known in allowed):
            raise errors.arm_error(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or "
                f"resource '{jwt.claims.get('aud')}'. It should exactly match "
                f"with one of the allowed audiences "
                + ",".join(f"'{known}'" for known in allowed)
                + ".",
                challenge,
            )
        version = request.param("api-version")
        if not version:
            raise errors.arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if not _API_VERSION.match(version):
            raise errors.arm_error(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported "
                "versions are like '2025-05-01'.",
            )

    def _expired_message(self, expiry: float) -> str:
        def utc(moment: float) -> str:
            stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
            return stamp.strftime("%m/%d/%Y %I:%M:%S %p")

        return (
            f"The access token expiry UTC time '{utc(expiry)}' is earlier than current UTC "
            f"time '{utc(self._clock())}'."
        )

    # -- lookups shared by the Microsoft.Web routes --------------------------------------------

    def check_subscription(self, subscription: str) -> None:
        if subscription.lower() != self.subscription_id:
            raise errors.arm_error(
                404,
                "SubscriptionNotFound",
                f"The subscription '{subscription}' could not be found.",
            )

    def check_resource_group(self, subscription: str, resource_group: str) -> None:
        self.check_subscription(subscription)
        if not self.platform.resource_group_exists(resource_group):
            raise errors.arm_error(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{resource_group}' could not be found.",
            )

    def locate(self, params: Params) -> tuple[App, Slot]:
        """The app and slot a Microsoft.Web path names (production when it names no slot)."""
        self.check_resource_group(params["sub"], params["rg"])
        app = self.platform.find_app(params["rg"], params["app"])
        if app is None:
            raise errors.not_found("Microsoft.Web/sites", params["app"], params["rg"])
        slot_name = params.get("slot") or PRODUCTION
        slot = app.slot(slot_name)
        if slot is None:
            raise errors.not_found(
                "Microsoft.Web/sites/slots", f"{app.name}/{slot_name}", app.resource_group
            )
        return app, slot

    def site_body(self, app: App, slot: Slot) -> dict[str, object]:
        return resources.site(self.subscription_id, app, slot, self.scm_host)

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, router: Router) -> None:
        router.add("GET", "/subscriptions", self._subscriptions)
        router.add("GET", "/tenants", self._tenants)
        router.add("GET", "/subscriptions/{sub}", self._subscription)
        router.add("GET", "/subscriptions/{sub}/resourcegroups", self._resource_groups)
        router.add("GET", "/subscriptions/{sub}/resourcegroups/{rg}", self._resource_group)
        router.add("GET", "/subscriptions/{sub}/providers/Microsoft.Web/sites", self._all_sites)
        router.add(
            "GET",
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites",
            self._group_sites,
        )
        router.add("GET", SITE, self._site)
        router.add("GET", SITE + "/slots", self._slots)
        router.add("GET", SLOT, self._site)

    def _subscriptions(self, request: Request, params: Params) -> Response:
        return Response.json(
            200,
            {
                "value": [resources.subscription(self.subscription_id)],
                "count": {"type": "Total", "value": 1},
            },
        )

    def _tenants(self, request: Request, params: Params) -> Response:
        return Response.json(200, {"value": [resources.tenant()]})

    def _subscription(self, request: Request, params: Params) -> Response:
        self.check_subscription(params["sub"])
        return Response.json(200, resources.subscription(self.subscription_id))

    def _resource_groups(self, request: Request, params: Params) -> Response:
        self.check_subscription(params["sub"])
        groups = [
            resources.resource_group(self.subscription_id, name)
            for name in self.platform.resource_groups()
        ]
        return Response.json(200, {"value": groups})

    def _resource_group(self, request: Request, params: Params) -> Response:
        self.check_resource_group(params["sub"], params["rg"])
        name = next(g for g in self.platform.resource_groups() if g.lower() == params["rg"].lower())
        return Response.json(200, resources.resource_group(self.subscription_id, name))

    def _all_sites(self, request: Request, params: Params) -> Response:
        self.check_subscription(params["sub"])
        return self._site_list(self.platform.apps())

    def _group_sites(self, request: Request, params: Params) -> Response:
        self.check_resource_group(params["sub"], params["rg"])
        rg = params["rg"].lower()
        return self._site_list([a for a in self.platform.apps() if a.resource_group.lower() == rg])

    def _site_list(self, apps: list[App]) -> Response:
        sites = [self.site_body(app, app.slots[PRODUCTION]) for app in apps]
        return Response.json(200, {"value": sites, "nextLink": None})

    def _site(self, request: Request, params: Params) -> Response:
        app, slot = self.locate(params)
        return Response.json(200, self.site_body(app, slot))

    def _slots(self, request: Request, params: Params) -> Response:
        app, _ = self.locate(params)
        slots = [self.site_body(app, s) for key, s in app.slots.items() if key != PRODUCTION]
        return Response.json(200, {"value": slots, "nextLink": None})
