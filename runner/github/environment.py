"""The only reader of a GitHub Actions step's environment: INPUT_*, GITHUB_*, RUNNER_*, ACTIONS_*.

Turns what the runner hands the action (its inputs as `INPUT_<NAME>`, upper case, hyphens kept)
into the same validated `SwapRequest` the agent's reader builds, with a connection for the job's
OIDC token or azure/login's Azure CLI session, and the runner's network settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

from runner.azure.connection import CLOUDS, ActionsTokenSource, Cloud, Connection, Scheme
from runner.errors import UserError
from runner.network import ENVIRONMENT_WORDS, NetworkSettings, Proxy
from runner.request import Action, SwapRequest
from runner.step_inputs import StepInputs, read_request

# The action's inputs (action.yml), by the task.json input each one is.
ACTION_INPUTS = {
    "WebAppName": "app-name",
    "ResourceGroupName": "resource-group",
    "SourceSlot": "slot",
    "TargetSlot": "target-slot",
    "Action": "action",
    "PreserveVnet": "preserve-vnet",
    "SwapTimeoutInMinutes": "swap-timeout-minutes",
    "HealthCheckPath": "health-check-path",
    "HealthCheckTimeoutInMinutes": "health-check-timeout-minutes",
    "HealthyAfter": "healthy-after",
    "ExpectedVersion": "expected-version",
    "RollbackOnFailure": "rollback-on-failure",
    "AdditionalWebApps": "additional-apps",
    "TrafficSteps": "traffic-steps",
    "TrafficStepMinutes": "traffic-step-minutes",
    "MaxErrorRatePercent": "max-error-rate-percent",
    "MaxResponseTimeRatio": "max-response-time-ratio",
    "ResponseTimeMarginMs": "response-time-margin-ms",
    "MinRequests": "min-requests",
    "InsufficientTraffic": "insufficient-traffic",
    "BakeMinutes": "bake-minutes",
}
# The `action` input's values, by the task's Action.
ACTIONS = {
    "swap": Action.SWAP,
    "start-preview": Action.START_PREVIEW,
    "complete-preview": Action.COMPLETE_PREVIEW,
    "cancel-preview": Action.CANCEL_PREVIEW,
}
SIGN_IN_INPUTS = (
    "client-id",
    "tenant-id",
    "subscription-id",
    "environment",
    "resource-manager-endpoint",
    "authority-host",
)
ENVIRONMENTS = {"azurecloud", "azureusgovernment", "azurechinacloud", "azuregermancloud"}
AZURE_STACK = "azurestack"
WHERE = "the step's `with:`"
RUNNER_WORDS = ENVIRONMENT_WORDS._replace(who="the runner")


@dataclass(frozen=True)
class ActionStep:
    request: SwapRequest
    connection: Connection
    network: NetworkSettings = field(default_factory=NetworkSettings)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepFiles:
    """Where the step writes besides its log, and whether debug logging is on."""

    debug: bool
    output_file: str  # GITHUB_OUTPUT
    summary_file: str  # GITHUB_STEP_SUMMARY


def read_step_files(environ: Mapping[str, str]) -> StepFiles:
    env = ActionEnvironment(environ)
    return StepFiles(env.debug, env.get("GITHUB_OUTPUT"), env.get("GITHUB_STEP_SUMMARY"))


class ActionEnvironment:
    """The step's environment, with the runner's naming of inputs."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ

    def get(self, name: str) -> str:
        return self._env.get(name, "")

    def input(self, name: str) -> str:
        """An input as the runner passes it: INPUT_ + the name upper-cased, spaces to `_`."""
        return self.get("INPUT_" + name.replace(" ", "_").upper())

    @property
    def debug(self) -> bool:
        # RUNNER_DEBUG=1 when the run has debug logging (the ACTIONS_STEP_DEBUG secret or a re-run).
        return self.get("RUNNER_DEBUG") == "1" or self.get("ACTIONS_STEP_DEBUG").lower() == "true"


def read_action_step(environ: Mapping[str, str]) -> ActionStep:
    """Reads and validates the action's inputs and how it signs in to Azure."""
    env = ActionEnvironment(environ)
    warnings: list[str] = []
    request = read_request(_step_inputs(env), warnings)
    return ActionStep(
        request=request,
        connection=read_sign_in(env),
        network=read_runner_network(env, env.get("RUNNER_TEMP")),
        warnings=tuple(warnings),
    )


def _step_inputs(env: ActionEnvironment) -> StepInputs:
    texts = {name: env.input(spelled) for name, spelled in ACTION_INPUTS.items()}
    action_text = texts["Action"].strip().lower() or "swap"
    if action_text not in ACTIONS:
        names = ", ".join(f"'{name}'" for name in ACTIONS)
        raise UserError(f"action is '{texts['Action'].strip()}': use one of {names}.")
    texts["Action"] = ACTIONS[action_text].value
    # One input where the task has two: any target but production is a slot-to-slot swap.
    target = texts["TargetSlot"].strip()
    with_production = target.lower() in ("", "production")
    texts["SwapWithProduction"] = "true" if with_production else "false"
    texts["TargetSlot"] = "" if with_production else target
    for name in ("PreserveVnet", "RollbackOnFailure"):
        texts[name] = _boolean(ACTION_INPUTS[name], texts[name])
    return StepInputs(texts, ACTION_INPUTS, where=WHERE, macros=False)


def _boolean(name: str, text: str) -> str:
    """As @actions/core's getBooleanInput: the YAML 1.2 core schema's true and false only."""
    value = text.strip()
    if value in ("", "true", "True", "TRUE"):
        return value.lower()
    if value in ("false", "False", "FALSE"):
        return "false"
    raise UserError(f"{name} is '{value}': give true or false.")


def read_sign_in(env: ActionEnvironment) -> Connection:
    """OIDC with client-id and tenant-id, else azure/login's Azure CLI session."""
    client, tenant = env.input("client-id").strip(), env.input("tenant-id").strip()
    if bool(client) != bool(tenant):
        missing = "tenant-id" if client else "client-id"
        raise UserError(
            f"{missing} is empty while {'client-id' if client else 'tenant-id'} is set: to sign "
            "in with OpenID Connect give both (the app registration or managed identity with the "
            "federated credential, and its tenant), or neither to use azure/login's session."
        )
    cloud = _cloud(env)
    subscription = env.input("subscription-id").strip() or _cli_default_subscription(env)
    if not subscription:
        raise UserError(
            "subscription-id is empty and azure/login left no default subscription. Set "
            "subscription-id in the step's `with:`."
        )
    if not client:
        return Connection(
            name="azure/login",
            scheme=Scheme.AZURE_CLI,
            cloud=cloud,
            subscription_id=subscription,
        )
    request_url = env.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not request_url or not request_token:
        raise UserError(
            "client-id and tenant-id ask for OpenID Connect, but this job may not request an "
            "OIDC token (no ACTIONS_ID_TOKEN_REQUEST_URL). Give the job `permissions: "
            "id-token: write` (and `contents: read`)."
        )
    return Connection(
        name=f"client {client}",
        scheme=Scheme.GITHUB_OIDC,
        cloud=cloud,
        subscription_id=subscription,
        tenant_id=tenant,
        client_id=client,
        actions_oidc=ActionsTokenSource(request_url, request_token),
    )


def _cloud(env: ActionEnvironment) -> Cloud:
    """`environment` as azure/login names clouds; any other by its endpoints."""
    environment = env.input("environment").strip() or "azurecloud"
    arm_url = env.input("resource-manager-endpoint").strip()
    authority = env.input("authority-host").strip()
    for name, url in (("resource-manager-endpoint", arm_url), ("authority-host", authority)):
        if url and (urlsplit(url).scheme != "https" or not urlsplit(url).hostname):
            raise UserError(f"{name} is '{url}': give an https:// address.")
    if arm_url:
        arm_url = _slashed(arm_url)
        # Without an authority, the hub's ARM names it (as an Azure Stack Hub connection).
        # With one, ARM's own URL is the token audience: ARM accepts it, as the agent's task uses.
        audience = arm_url if authority else ""
        return Cloud(environment, arm_url, _slashed(authority) if authority else "", audience)
    if authority:
        raise UserError(
            "authority-host is set without resource-manager-endpoint: a cloud of your own needs "
            "both (or resource-manager-endpoint alone, for Azure Stack Hub)."
        )
    known = CLOUDS.get(environment.lower())
    if known is None:
        names = ", ".join(sorted(ENVIRONMENTS | {AZURE_STACK}))
        hint = (
            " Azure Stack Hub needs resource-manager-endpoint too."
            if environment.lower() == AZURE_STACK
            else ""
        )
        raise UserError(f"environment is '{environment}': use one of {names}.{hint}")
    return known


def _slashed(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _cli_default_subscription(env: ActionEnvironment) -> str:
    """The subscription azure/login made the Azure CLI's default (azureProfile.json)."""
    folder = env.get("AZURE_CONFIG_DIR") or os.path.join(env.get("HOME") or "~", ".azure")
    try:
        # The CLI writes the profile with a byte order mark.
        text = Path(os.path.expanduser(folder), "azureProfile.json").read_text("utf-8-sig")
        subscriptions = json.loads(text).get("subscriptions") or []
    except (OSError, ValueError, AttributeError):
        return ""
    default = next((s for s in subscriptions if isinstance(s, dict) and s.get("isDefault")), {})
    return str(default.get("id") or "")


def read_runner_network(env: ActionEnvironment, temp_dir: str) -> NetworkSettings:
    """The job's proxy and CA bundle, as the runner passes them on: HTTPS_PROXY, NO_PROXY,
    REQUESTS_CA_BUNDLE (each also in lower case, which wins, as requests reads them)."""
    ca_file = _either(env, "REQUESTS_CA_BUNDLE")
    if ca_file and not os.path.isfile(ca_file):
        raise UserError(
            f"REQUESTS_CA_BUNDLE names '{ca_file}', which is not a file on this runner. Point it "
            "at a PEM bundle of the CA certificates to trust."
        )
    return NetworkSettings(
        proxy=_proxy(env), ca_file=ca_file, temp_dir=temp_dir, words=RUNNER_WORDS
    )


def _either(env: ActionEnvironment, name: str) -> str:
    return env.get(name.lower()) or env.get(name)


def _proxy(env: ActionEnvironment) -> Optional[Proxy]:
    url = _either(env, "HTTPS_PROXY")
    if not url:
        return None
    parts = urlsplit(url if "://" in url else "http://" + url)
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UserError(f"HTTPS_PROXY is '{_without_password(url)}': not an http:// proxy address.")
    host = parts.netloc.rsplit("@", 1)[-1]
    return Proxy(
        url=f"{parts.scheme.lower()}://{host}",
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        no_proxy=_either(env, "NO_PROXY"),
    )


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(":" + parts.password + "@", ":***@", 1)


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """Secret values the runner handed over, to mask before anything is printed."""
    env = ActionEnvironment(environ)
    found = [env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"), env.get("ACTIONS_RUNTIME_TOKEN")]
    for name in ("HTTPS_PROXY", "https_proxy"):
        password = urlsplit(env.get(name)).password if "@" in env.get(name) else None
        if password:
            found += [password, unquote(password)]
    return [value for value in found if value]
