"""The one HTTP pipeline to Azure Resource Manager, and what its failures mean for the task.

It is azure-mgmt-core's `ARMPipelineClient` with the policies azure-mgmt-web puts in its own
client (ARM retries honouring Retry-After, resource provider registration, challenge-aware
bearer tokens from azure-identity), without azure-mgmt-web's models and operations: those take
about a second to compile on a hosted agent, which has no bytecode, and the task needs a handful
of calls (`runner.azure.app_service_requests`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from enum import Enum
from typing import Any, Optional

from azure.core.exceptions import (
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import policies
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core._pipeline_client import ARMPipelineClient
from azure.mgmt.core.policies import (
    ARMAutoResourceProviderRegistrationPolicy,
    ARMChallengeAuthenticationPolicy,
    ARMHttpLoggingPolicy,
)

from runner import __version__
from runner.azure.azure_errors import azure_code, azure_message
from runner.azure.connection import Connection
from runner.azure.credentials import RegisteringCredential, credential_for
from runner.errors import UserError
from runner.log import Log
from runner.network import NetworkSettings, network_failure


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
        azure_text: str = "",
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.azure_text = azure_text  # Azure's own `Code: Message (HTTP n)`, when it answered


class ArmPipeline:
    """Requests to one connection's Resource Manager, authenticated as that connection."""

    def __init__(
        self,
        connection: Connection,
        log: Log,
        debug: bool = False,
        transport: Any = None,
        network: Optional[NetworkSettings] = None,
    ) -> None:
        self.connection = connection
        self.network = network or NetworkSettings()
        self._log = log
        self._debug = debug
        # requests through the host's proxy and certificates, unless a test gives a transport.
        self._transport = transport
        self._client: Optional[ARMPipelineClient[HttpRequest, HttpResponse]] = None
        self._credential: Optional[RegisteringCredential] = None

    def credential(self) -> RegisteringCredential:
        if self._credential is None:
            self._discover_cloud()
            self._credential = credential_for(self.connection, self._log, self.network)
        return self._credential

    def _discover_cloud(self) -> None:
        cloud = self.connection.cloud
        if not cloud.needs_discovery:
            return
        from runner.azure.azure_stack import discover_endpoints

        cloud = discover_endpoints(cloud, self.network)
        self._log.info(
            f"Azure Stack Hub: authority {cloud.authority}, token audience {cloud.audience} "
            f"(from {cloud.arm_url}metadata/endpoints)."
        )
        self.connection = replace(self.connection, cloud=cloud)

    def authenticate(self) -> None:
        """Gets a token now, so a wrong credential fails before anything else is tried."""
        try:
            self.credential().get_token(self.connection.cloud.scope)
        except ClientAuthenticationError as error:
            raise self.credential_error(error) from None
        except ValueError as error:  # azure-identity's word for a malformed certificate etc.
            raise self.credential_error(error) from None
        except ServiceRequestError as error:  # the managed identity endpoint, unreachable
            failure = network_failure(error, self.network)
            raise failure or AzureCallError(
                CallFailure.NOT_SENT, f"getting a token for the connection: {error}"
            ) from None

    def _pipeline(self) -> ARMPipelineClient[HttpRequest, HttpResponse]:
        if self._client is None:
            credential = self.credential()
            transport = self._transport or RequestsTransport(
                session=self.network.session(), session_owner=False
            )
            self._client = _arm_client(self.connection, credential, self._debug, transport)
        return self._client

    def _renew(self) -> None:
        """Drops cached tokens: Azure said ours expired; the pipeline does not refresh on 401."""
        if self._credential is not None:
            self._credential.close()
        self._client = None
        self._credential = None

    def send(
        self, what: str, request: HttpRequest, accept_errors: bool = False, **options: Any
    ) -> HttpResponse:
        """Sends `request`; an error status raises `AzureCallError` unless `accept_errors`.

        `what` says what the call was for, in the words of the error the user may read.
        """
        for attempt in (1, 2):
            client = self._pipeline()
            if request.url.startswith("/"):
                request.url = client.format_url(request.url)
            try:
                response = client.send_request(request, **options)
            except ClientAuthenticationError as error:
                raise self.credential_error(error) from None
            except ServiceRequestError as error:
                failure = network_failure(error, self.network)
                if failure is not None:  # the host's network settings: retrying cannot help
                    raise failure from None
                raise AzureCallError(CallFailure.NOT_SENT, f"{what}: {error}") from None
            except ServiceResponseError as error:
                raise AzureCallError(CallFailure.NO_RESPONSE, f"{what}: {error}") from None
            status = response.status_code
            if status < 400 or accept_errors:
                return response
            body = response.read()
            if attempt == 1 and status == 401 and azure_code(body) == "ExpiredAuthenticationToken":
                self._log.debug(f"Azure said the token expired while {what}; renewing it.")
                self._renew()
                continue
            said = azure_message(status, body)
            raise AzureCallError(
                CallFailure.REJECTED,
                f"{what}: Azure said {said}",
                status=status,
                code=azure_code(body),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                azure_text=said,
            )
        raise AssertionError("unreachable")

    def send_json(self, what: str, request: HttpRequest, **options: Any) -> dict[str, Any]:
        """Sends `request` and returns Azure's JSON object (empty when Azure sent no body)."""
        body = self.send(what, request, **options).read()
        if not body:
            return {}
        try:
            parsed = json.loads(body.decode("utf-8-sig"))
        except ValueError:
            raise AzureCallError(
                CallFailure.REJECTED, f"{what}: Azure's answer was not JSON: {body[:200]!r}"
            ) from None
        return parsed if isinstance(parsed, dict) else {"value": parsed}

    def send_paged(self, what: str, request: HttpRequest) -> list[dict[str, Any]]:
        """Every item of a paged ARM list (`value`, then `nextLink` until there is none)."""
        items: list[dict[str, Any]] = []
        page = self.send_json(what, request)
        while True:
            items.extend(item for item in page.get("value") or [] if isinstance(item, dict))
            next_link = page.get("nextLink")
            if not next_link:
                return items
            page = self.send_json(what, HttpRequest("GET", str(next_link)))

    def credential_error(self, error: Exception) -> UserError:
        """Entra refused the connection's identity; or Entra could not be reached at all."""
        failure = network_failure(error, self.network)
        if failure is not None:
            return failure
        connection = self.connection
        detail = str(getattr(error, "message", "") or error).strip()
        return UserError(
            f"Azure rejected the credentials of service connection '{connection.name}' "
            f"({connection.scheme.value}, tenant '{connection.tenant_id or 'default'}', "
            f"client '{connection.client_id or 'default'}'): {detail} "
            "Check the connection's secret or certificate has not expired, or create a new "
            "service connection."
        )


def _arm_client(
    connection: Connection, credential: RegisteringCredential, debug: bool, transport: Any
) -> ARMPipelineClient[HttpRequest, HttpResponse]:
    """The policies of azure-mgmt-web's client, in its order, minus distributed tracing."""
    cloud = connection.cloud
    options: dict[str, Any] = {
        "sdk_moniker": f"swap-slots/{__version__}",
        "logging_enable": debug,
        "retry_backoff_factor": 0.5,
        # ARM throttles in bursts: reads wait it out (Retry-After honoured) rather than give up
        # after azure-core's default of 3; the swap itself is never retried (retry_total=0).
        "retry_status": 8,
        "retry_connect": 5,
        "retry_read": 5,
    }
    redirect = policies.RedirectPolicy(**options)
    pipeline_policies: list[Any] = [
        policies.RequestIdPolicy(**options),
        policies.HeadersPolicy(**options),
        policies.UserAgentPolicy(**options),
        policies.ProxyPolicy(**options),
        policies.ContentDecodePolicy(**options),
        ARMAutoResourceProviderRegistrationPolicy(),
        redirect,
        policies.RetryPolicy(**options),
        ARMChallengeAuthenticationPolicy(credential, cloud.scope, **options),
        policies.CustomHookPolicy(**options),
        policies.NetworkTraceLoggingPolicy(**options),
        policies.SensitiveHeaderCleanupPolicy(**options),
        ARMHttpLoggingPolicy(**options),
    ]
    return ARMPipelineClient(
        base_url=cloud.arm_url, policies=pipeline_policies, transport=transport, **options
    )


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a Retry-After header: integer, decimal or HTTP date; None if unusable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())
