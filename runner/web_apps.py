"""The only talker to Azure Resource Manager: App Service sites, slots and swaps.

Built on azure-mgmt-web. Swap status is polled here rather than by the SDK's poller, whose
30-second default would notice a finished swap long after it ended, and whose retries could
resend the swap itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Callable, Optional, TypeVar

from runner.azure_errors import azure_code, azure_message
from runner.connection import Connection
from runner.credentials import credential_for
from runner.errors import UserError
from runner.log import Log
from runner.request import PRODUCTION, SlotRef

T = TypeVar("T")
API_VERSION = "2025-05-01"
_GROUP_IN_ID = re.compile(r"/resourceGroups/([^/]+)/", re.IGNORECASE)


@dataclass(frozen=True)
class LastSwap:
    """`slotSwapStatus`: Azure's record of the app's last *successful* swap."""

    when: Optional[datetime]
    source: str
    destination: str


@dataclass(frozen=True)
class SlotState:
    ref: SlotRef
    host_name: str
    state: str
    last_swap: Optional[LastSwap]

    @property
    def url(self) -> str:
        return f"https://{self.host_name}/" if self.host_name else ""


@dataclass(frozen=True)
class StartedSwap:
    """Azure accepted the swap. `status_url` is None when it finished at once."""

    status_url: Optional[str]
    retry_after: Optional[float]


class PollState(Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class PollResult:
    state: PollState
    retry_after: Optional[float] = None
    message: str = ""


class CallFailure(Enum):
    NOT_SENT = "not sent"  # the request never left: safe to send again
    NO_RESPONSE = "no response"  # sent, answer lost: Azure may or may not have acted
    REJECTED = "rejected"  # Azure answered with an error status


class AzureCallError(Exception):
    """A call to Azure failed in a way the orchestration may want to handle (retry, report)."""

    def __init__(
        self,
        failure: CallFailure,
        message: str,
        status: int = 0,
        code: str = "",
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.status = status
        self.code = code
        self.retry_after = retry_after


class WebApps:
    """Sites and slots of one subscription, through one connection."""

    def __init__(self, connection: Connection, log: Log, debug: bool = False) -> None:
        self.connection = connection
        self._log = log
        self._debug = debug
        self._client: Any = None
        self._credential: Any = None

    # --- plumbing -------------------------------------------------------------------------

    def _credential_once(self) -> Any:
        if self._credential is None:
            self._credential = credential_for(self.connection, self._log)
        return self._credential

    def _connect(self) -> Any:
        if self._client is None:
            # Imported only now, after the token: azure-mgmt-web is the slowest import by far
            # (about 1 s on an agent with no .pyc), and a wrong credential should not wait for it.
            from azure.mgmt.web import WebSiteManagementClient

            cloud = self.connection.cloud
            self._client = WebSiteManagementClient(
                self._credential_once(),
                self.connection.subscription_id,
                base_url=cloud.arm_url,
                credential_scopes=[cloud.scope],
                logging_enable=self._debug,
                retry_backoff_factor=0.5,
            )
        return self._client

    def _renew(self) -> None:
        """Drops cached tokens: Azure said ours expired, and the SDK does not refresh on 401."""
        if self._credential is not None:
            self._credential.close()
        self._client = None
        self._credential = None

    def _call(self, what: str, operation: Callable[[Any], T]) -> T:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        for attempt in (1, 2):
            try:
                return operation(self._connect())
            except ClientAuthenticationError as error:
                if error.response is None:
                    raise self._credential_error(error) from None
                if attempt == 1 and _code_of(error) == "ExpiredAuthenticationToken":
                    self._log.debug(f"Azure said the token expired while {what}; renewing it.")
                    self._renew()
                    continue
                raise _rejected(what, error) from None
            except HttpResponseError as error:
                raise _rejected(what, error) from None
            except ServiceRequestError as error:
                raise AzureCallError(CallFailure.NOT_SENT, f"{what}: {error}") from None
            except ServiceResponseError as error:
                raise AzureCallError(CallFailure.NO_RESPONSE, f"{what}: {error}") from None
        raise AssertionError("unreachable")

    def _credential_error(self, error: Exception) -> UserError:
        connection = self.connection
        detail = str(getattr(error, "message", "") or error).strip()
        return UserError(
            f"Azure rejected the credentials of service connection '{connection.name}' "
            f"({connection.scheme.value}, tenant '{connection.tenant_id or 'default'}', "
            f"client '{connection.client_id or 'default'}'): {detail} "
            "Check the connection's secret or certificate has not expired, or create a new "
            "service connection."
        )

    # --- reads ----------------------------------------------------------------------------

    def authenticate(self) -> None:
        """Gets a token now, so a wrong credential fails before anything else is tried."""
        from azure.core.exceptions import ClientAuthenticationError

        try:
            self._credential_once().get_token(self.connection.cloud.scope)
        except ClientAuthenticationError as error:
            raise self._credential_error(error) from None
        except ValueError as error:  # azure-identity's word for a malformed certificate etc.
            raise self._credential_error(error) from None

    def find_resource_group(self, app: str) -> str:
        """The resource group of the app named `app` in the subscription."""
        sites = self._call("listing the subscription's web apps", lambda c: list(c.web_apps.list()))
        groups = sorted(
            {_group_of(site) for site in sites if str(site.name).lower() == app.lower()}
        )
        subscription = self.connection.subscription_id
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
        try:
            if ref.is_production:
                site = self._call(
                    f"reading app '{ref.app}'",
                    lambda c: c.web_apps.get(ref.resource_group, ref.app),
                )
            else:
                site = self._call(
                    f"reading slot '{ref}'",
                    lambda c: c.web_apps.get_slot(ref.resource_group, ref.app, ref.slot),
                )
        except AzureCallError as error:
            if error.status == 404:
                raise self._not_found(ref, error) from None
            raise
        return _slot_state(ref, site)

    def slot_names(self, resource_group: str, app: str) -> list[str]:
        slots = self._call(
            f"listing the slots of '{app}'",
            lambda c: list(c.web_apps.list_slots(resource_group, app)),
        )
        return [str(slot.name).split("/")[-1] for slot in slots]

    def _not_found(self, ref: SlotRef, error: AzureCallError) -> UserError:
        where = f"subscription '{ref.subscription_id}'"
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

    # --- the swap -------------------------------------------------------------------------

    def start_swap(self, source: SlotRef, target_slot: str, preserve_vnet: bool) -> StartedSwap:
        """Sends the swap, once: never retried here, since a resent swap swaps back."""
        capture = _InitialResponse()
        group, app = source.resource_group, source.app
        if target_slot.lower() == PRODUCTION:
            body = {"targetSlot": source.slot, "preserveVnet": preserve_vnet}
            self._call(
                f"swapping '{source.slot}' into production of '{app}'",
                lambda c: c.web_apps.begin_swap_slot_with_production(
                    group, app, body, polling=capture, retry_total=0
                ),
            )
        else:
            body = {"targetSlot": target_slot, "preserveVnet": preserve_vnet}
            self._call(
                f"swapping '{source.slot}' with '{target_slot}' of '{app}'",
                lambda c: c.web_apps.begin_swap_slot(
                    group, app, source.slot, body, polling=capture, retry_total=0
                ),
            )
        status, headers = capture.http_status, capture.headers
        if status == 200:
            return StartedSwap(None, None)
        location = headers.get("location") or headers.get("azure-asyncoperation")
        return StartedSwap(location, parse_retry_after(headers.get("retry-after")))

    def poll_swap(self, status_url: str) -> PollResult:
        """One look at the swap's operation URL: 202 running, 200 done, an error = failed."""
        from azure.core.rest import HttpRequest

        response = self._call(
            "checking the swap's progress",
            lambda c: c.send_request(HttpRequest("GET", status_url), read_timeout=60),
        )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if response.status_code == 202:
            return PollResult(PollState.RUNNING, retry_after)
        if response.status_code in (200, 201, 204):
            return PollResult(PollState.SUCCEEDED)
        if response.status_code in (429,) or response.status_code >= 500:
            # A hiccup of the status endpoint, not the swap's outcome.
            return PollResult(
                PollState.RUNNING,
                retry_after or 2.0,
                azure_message(response.status_code, response.read()),
            )
        return PollResult(
            PollState.FAILED, None, azure_message(response.status_code, response.read())
        )


class _InitialResponse:
    """A polling method that only records the swap's first answer; we poll ourselves."""

    def __init__(self) -> None:
        self.http_status = 0
        self.headers: dict[str, str] = {}

    def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
        response = initial_response.http_response
        self.http_status = int(response.status_code)
        self.headers = {key.lower(): value for key, value in response.headers.items()}

    def run(self) -> None:
        return None

    def status(self) -> str:
        return "Succeeded"

    def finished(self) -> bool:
        return True

    def resource(self) -> None:
        return None


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a Retry-After header: integer, decimal or HTTP date; None if unusable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def _rejected(what: str, error: Any) -> AzureCallError:
    response = error.response
    status = int(getattr(response, "status_code", 0) or 0)
    body = b""
    if response is not None:
        try:
            body = response.body() if hasattr(response, "body") else response.read()
        except Exception:  # a streamed body already consumed: Azure's text is in the message
            body = b""
    fallback = str(getattr(error, "message", "") or error)
    retry = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
    return AzureCallError(
        CallFailure.REJECTED,
        f"{what}: Azure said {azure_message(status, body, fallback)}",
        status=status,
        code=azure_code(body),
        retry_after=retry,
    )


def _code_of(error: Any) -> str:
    response = error.response
    try:
        return azure_code(response.body() if response is not None else b"")
    except Exception:
        return ""


def _group_of(site: Any) -> str:
    group = getattr(site, "resource_group", None)
    if group:
        return str(group)
    match = _GROUP_IN_ID.search(str(site.id or ""))
    return match.group(1) if match else ""


def _slot_state(ref: SlotRef, site: Any) -> SlotState:
    status = getattr(site, "slot_swap_status", None)
    last = None
    if status is not None:
        last = LastSwap(
            when=getattr(status, "timestamp_utc", None),
            source=str(getattr(status, "source_slot_name", "") or ""),
            destination=str(getattr(status, "destination_slot_name", "") or ""),
        )
    return SlotState(
        ref=ref,
        host_name=str(site.default_host_name or ""),
        state=str(site.state or ""),
        last_swap=last,
    )
