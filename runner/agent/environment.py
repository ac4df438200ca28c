"""The only reader of the agent's environment: INPUT_*, ENDPOINT_*, SYSTEM_*, AGENT_*.

Turns what the Azure Pipelines agent hands a task into a validated `AgentTask`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from runner.agent.network import AGENT_WORDS, load_client_certificate
from runner.azure.connection import CLOUDS, Cloud, Connection, OidcSource, Scheme
from runner.errors import UserError
from runner.network import NetworkSettings, Proxy
from runner.request import SwapRequest
from runner.step_inputs import REQUEST_INPUTS, StepInputs, read_request

AZURE_STACK = "azurestack"


@dataclass(frozen=True)
class AgentTask:
    request: SwapRequest
    connection: Connection
    debug: bool
    temp_dir: str
    network: NetworkSettings = field(default_factory=NetworkSettings)
    warnings: tuple[str, ...] = field(default=())
    results_tab_url: str = ""  # this run's "Swap Slots" tab, for the run summary to link


class AgentEnvironment:
    """Case-insensitive view of the environment, with the agent's naming rules."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = {key.upper(): value for key, value in environ.items()}

    def get(self, name: str) -> str:
        return self._env.get(name.upper().replace(".", "_").replace(" ", "_"), "")

    def variable(self, name: str) -> str:
        """A pipeline variable as task-lib's getVariable reads it: a secret one arrives as
        SECRET_<NAME>."""
        return self.get("SECRET_" + name) or self.get(name)

    def input(self, name: str) -> str:
        return self.get("INPUT_" + name).strip()

    def flag(self, name: str, default: bool) -> bool:
        value = self.input(name)
        return default if value == "" else value.lower() == "true"

    @property
    def debug(self) -> bool:
        return self.get("SYSTEM_DEBUG").lower() == "true"

    @property
    def system_access_token(self) -> str:
        return self.get("ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN")


def read_agent_task(environ: Mapping[str, str]) -> AgentTask:
    """Reads and validates the step's inputs and its AzureRM service connection."""
    env = AgentEnvironment(environ)
    warnings: list[str] = []
    texts = {name: env.get("INPUT_" + name) for name in REQUEST_INPUTS}
    request = read_request(StepInputs(texts), warnings)
    connection = read_connection(env, _required(env, "ConnectedServiceName", "azureSubscription"))
    temp_dir = env.get("AGENT_TEMPDIRECTORY")
    return AgentTask(
        request=request,
        connection=connection,
        debug=env.debug,
        temp_dir=temp_dir,
        network=read_agent_network(env, temp_dir),
        warnings=tuple(warnings),
        results_tab_url=_results_tab_url(env),
    )


# The extension's tab contributions (vss-extension.json): publisher.extension.contribution.
BUILD_TAB = "swap-slots.swap-slots.swap-slots-build-tab"
RELEASE_TAB = "swap-slots.swap-slots.swap-slots-release-tab"


def _results_tab_url(env: AgentEnvironment) -> str:
    """The run page's Swap Slots tab: a build's (YAML) or a classic release stage's."""
    collection, project = env.get("System.CollectionUri"), env.get("System.TeamProject")
    if not collection or not project:
        return ""
    base = collection.rstrip("/") + "/" + quote(project)
    release, stage = env.get("Release.ReleaseId"), env.get("Release.EnvironmentId")
    if env.get("System.HostType").lower() == "release" and release and stage:
        return (
            f"{base}/_releaseProgress?_a=release-environment-extension&releaseId={release}"
            f"&environmentId={stage}&extensionId={RELEASE_TAB}"
        )
    build = env.get("Build.BuildId")
    return f"{base}/_build/results?buildId={build}&view={BUILD_TAB}" if build else ""


def read_agent_network(env: AgentEnvironment, temp_dir: str) -> NetworkSettings:
    """The agent's proxy and certificate settings (its --proxyurl, --sslcacert, ... options)."""
    ca_file = env.variable("Agent.CAInfo")
    if ca_file and not os.path.isfile(ca_file):
        raise UserError(
            f"Agent.CAInfo names '{ca_file}', which is not a file on this agent. Check the CA "
            "bundle the agent was configured with (--sslcacert)."
        )
    client_cert = env.variable("Agent.ClientCert")
    certificate = None
    if client_cert:
        certificate = load_client_certificate(
            client_cert,
            env.variable("Agent.ClientCertKey"),
            env.variable("Agent.ClientCertArchive"),
            env.variable("Agent.ClientCertPassword"),
        )
    return NetworkSettings(
        proxy=_read_proxy(env),
        ca_file=ca_file,
        client_certificate=certificate,
        temp_dir=temp_dir,
        words=AGENT_WORDS,
    )


def _read_proxy(env: AgentEnvironment) -> Proxy | None:
    url = env.variable("Agent.ProxyUrl")
    if not url:
        return None
    parts = urlsplit(url if "://" in url else "http://" + url)
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UserError(
            f"Agent.ProxyUrl is '{url}', which is not an http:// or https:// proxy address. "
            "Check the proxy the agent was configured with (--proxyurl)."
        )
    bypass_text = env.variable("Agent.ProxyBypassList")
    try:
        bypass = json.loads(bypass_text) if bypass_text else []
    except ValueError:
        bypass = None
    if not isinstance(bypass, list) or not all(isinstance(p, str) for p in bypass):
        raise UserError(
            f"Agent.ProxyBypassList is '{bypass_text}', not a JSON array of regular expressions. "
            "Check the agent's .proxybypass file: one regular expression a line."
        )
    patterns = []
    for pattern in bypass:
        try:
            patterns.append(re.compile(pattern, re.IGNORECASE))
        except re.error as error:
            raise UserError(
                f"Agent.ProxyBypassList holds '{pattern}', which is not a regular expression "
                f"({error}). Fix that line of the agent's .proxybypass file."
            ) from None
    return Proxy(
        url=f"{parts.scheme.lower()}://{parts.netloc}",
        username=env.variable("Agent.ProxyUsername"),
        password=env.variable("Agent.ProxyPassword"),
        bypass=tuple(patterns),
    )


def _required(env: AgentEnvironment, name: str, alias: str = "") -> str:
    value = env.input(name) or (env.input(alias) if alias else "")
    if not value:
        shown = f"{name}" + (f" (YAML: {alias})" if alias else "")
        raise UserError(f"Input {shown} is required but empty. Set it in the task's inputs.")
    return value


def read_connection(env: AgentEnvironment, connection_id: str) -> Connection:
    """Reads the AzureRM service connection the agent exported for `connection_id`."""
    arm_url = env.get("ENDPOINT_URL_" + connection_id)
    if not arm_url:
        raise UserError(
            f"Service connection '{connection_id}' is not available to this step. Check that "
            "ConnectedServiceName (azureSubscription) names an Azure Resource Manager service "
            "connection and that this pipeline is authorized to use it."
        )
    auth = _json(env, "ENDPOINT_AUTH_" + connection_id, connection_id)
    data = _json(env, "ENDPOINT_DATA_" + connection_id, connection_id, required=False)
    params = {str(k).lower(): str(v) for k, v in (auth.get("parameters") or {}).items()}
    data_l = {str(k).lower(): str(v) for k, v in data.items()}
    scheme_name = str(auth.get("scheme") or env.get("ENDPOINT_AUTH_SCHEME_" + connection_id))

    def param(key: str) -> str:
        return params.get(key.lower(), "") or env.get(
            f"ENDPOINT_AUTH_PARAMETER_{connection_id}_{key}"
        )

    def datum(key: str) -> str:
        return data_l.get(key.lower(), "") or env.get(f"ENDPOINT_DATA_{connection_id}_{key}")

    subscription = datum("subscriptionId")
    if not subscription:
        raise UserError(
            f"Service connection '{connection_id}' has no subscription id. Edit the service "
            "connection and choose a subscription (scope level Subscription)."
        )
    common: dict[str, Any] = {
        "name": connection_id,
        "cloud": _cloud(arm_url, datum),
        "subscription_id": subscription,
        "tenant_id": param("tenantid"),
        "client_id": param("serviceprincipalid"),
    }
    scheme = scheme_name.lower()
    if scheme == "serviceprincipal":
        auth_type = param("authenticationType").lower() or "spnkey"
        if auth_type == "spncertificate":
            pem = param("servicePrincipalCertificate")
            _need(pem, "servicePrincipalCertificate", connection_id)
            return _checked(
                Connection(
                    scheme=Scheme.SERVICE_PRINCIPAL_CERTIFICATE, certificate_pem=pem, **common
                )
            )
        secret = param("serviceprincipalkey")
        _need(secret, "serviceprincipalkey", connection_id)
        return _checked(
            Connection(scheme=Scheme.SERVICE_PRINCIPAL_SECRET, client_secret=secret, **common)
        )
    if scheme == "workloadidentityfederation":
        request_uri = env.get("SYSTEM_OIDCREQUESTURI")
        token = env.system_access_token
        if not request_uri or not token:
            raise UserError(
                f"Service connection '{connection_id}' uses workload identity federation, but the "
                "agent gave this step no OIDC request URI or job access token "
                "(SYSTEM_OIDCREQUESTURI, System.AccessToken). Use a current agent (3.227 or newer)."
            )
        oidc = OidcSource(request_uri, token, connection_id)
        return _checked(Connection(scheme=Scheme.WORKLOAD_IDENTITY, oidc=oidc, **common))
    if scheme == "managedserviceidentity":
        common["client_id"] = datum("msiclientId") or ""
        return Connection(scheme=Scheme.MANAGED_IDENTITY, **common)
    raise UserError(
        f"Service connection '{connection_id}' uses the authentication scheme '{scheme_name}', "
        "which this task does not support. Use a service principal (secret or certificate), "
        "workload identity federation or a managed identity."
    )


def _cloud(arm_url: str, datum: Any) -> Cloud:
    environment = str(datum("environment") or "AzureCloud")
    known = CLOUDS.get(environment.lower())
    authority = datum("environmentAuthorityUrl") or datum("activeDirectoryAuthority")
    audience = datum("activeDirectoryServiceEndpointResourceId")
    if environment.lower() == AZURE_STACK and not (authority and audience):
        # As Microsoft's task: both come from the hub's ARM metadata, once it can be asked.
        return Cloud(environment, _slashed(arm_url), authority="", audience="")
    if known is None and not (authority and audience):
        raise UserError(
            f"The service connection's environment '{environment}' needs its authority and "
            "audience (environmentAuthorityUrl, activeDirectoryServiceEndpointResourceId). "
            "Edit the service connection and fill them in."
        )
    return Cloud(
        name=environment,
        arm_url=_slashed(arm_url),
        authority=authority or (known.authority if known else ""),
        audience=audience or (known.audience if known else ""),
    )


def _slashed(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _json(env: AgentEnvironment, name: str, connection_id: str, required: bool = True) -> Any:
    text = env.get(name)
    if not text and not required:
        return {}
    try:
        value = json.loads(text) if text else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UserError(
            f"Service connection '{connection_id}' is malformed: its {name.split('_')[1].lower()} "
            "data is missing or not a JSON object. Re-save the service connection."
        )
    return value


def _need(value: str, key: str, connection_id: str) -> None:
    if not value:
        raise UserError(
            f"Service connection '{connection_id}' has no '{key}'. Edit the service connection "
            "and supply it (or create a new one)."
        )


def _checked(connection: Connection) -> Connection:
    for label, value in (
        ("tenantid", connection.tenant_id),
        ("serviceprincipalid", connection.client_id),
    ):
        _need(value, label, connection.name)
    return connection


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """Secret values the agent handed over, to register before anything is printed."""
    env = AgentEnvironment(environ)
    found = [env.system_access_token, env.variable("Agent.ProxyPassword")]
    found.append(env.variable("Agent.ClientCertPassword"))
    for key, value in environ.items():
        upper = key.upper()
        if upper.startswith("SECRET_"):
            found.append(value)
        if upper.startswith("ENDPOINT_AUTH_") and not upper.startswith("ENDPOINT_AUTH_SCHEME_"):
            if upper.startswith("ENDPOINT_AUTH_PARAMETER_"):
                name = upper.rsplit("_", 1)[-1]
                if name in {"SERVICEPRINCIPALKEY", "SERVICEPRINCIPALCERTIFICATE", "ACCESSTOKEN"}:
                    found.append(value)
            else:
                found.extend(_auth_secrets(value))
    return [value for value in found if value]


def _auth_secrets(text: str) -> list[str]:
    try:
        auth = json.loads(text)
    except ValueError:
        return []
    params = auth.get("parameters") if isinstance(auth, dict) else None
    if not isinstance(params, dict):
        return []
    keys = {"serviceprincipalkey", "serviceprincipalcertificate", "accesstoken", "password"}
    return [str(v) for k, v in params.items() if str(k).lower() in keys and v]
