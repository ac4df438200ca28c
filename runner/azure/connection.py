"""An Azure Resource Manager connection: which cloud, which identity, which subscription."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple, Optional


class Scheme(Enum):
    """How the connection authenticates (the agent's `ENDPOINT_AUTH_SCHEME_<id>`)."""

    SERVICE_PRINCIPAL_SECRET = "ServicePrincipal (secret)"
    SERVICE_PRINCIPAL_CERTIFICATE = "ServicePrincipal (certificate)"
    WORKLOAD_IDENTITY = "WorkloadIdentityFederation"
    MANAGED_IDENTITY = "ManagedServiceIdentity"
    DEVELOPER_LOGIN = "the developer's Azure login"
    GITHUB_OIDC = "OpenID Connect (GitHub Actions)"
    AZURE_CLI = "the Azure CLI session (azure/login)"


class Cloud(NamedTuple):
    """Where Azure is: ARM's base URL, the Entra authority and the token audience."""

    name: str
    arm_url: str
    authority: str
    audience: str

    @property
    def needs_discovery(self) -> bool:
        """An Azure Stack Hub connection that names only ARM: ask its metadata endpoint."""
        return not (self.authority and self.audience)

    @property
    def scope(self) -> str:
        return self.audience.rstrip("/") + "/.default"

    @property
    def is_known_public_authority(self) -> bool:
        """Public clouds' authorities; any other must never trigger public instance discovery."""
        host = self.authority.split("://", 1)[-1].split("/", 1)[0].lower()
        return host in KNOWN_AUTHORITY_HOSTS


KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.microsoftonline.de",
    }
)

# The clouds an AzureRM connection can name in its `environment` data.
CLOUDS = {
    "azurecloud": Cloud(
        "AzureCloud",
        "https://management.azure.com/",
        "https://login.microsoftonline.com/",
        "https://management.core.windows.net/",
    ),
    "azureusgovernment": Cloud(
        "AzureUSGovernment",
        "https://management.usgovcloudapi.net/",
        "https://login.microsoftonline.us/",
        "https://management.core.usgovcloudapi.net/",
    ),
    "azurechinacloud": Cloud(
        "AzureChinaCloud",
        "https://management.chinacloudapi.cn/",
        "https://login.chinacloudapi.cn/",
        "https://management.core.chinacloudapi.cn/",
    ),
    "azuregermancloud": Cloud(
        "AzureGermanCloud",
        "https://management.microsoftazure.de/",
        "https://login.microsoftonline.de/",
        "https://management.core.cloudapi.de/",
    ),
}


@dataclass(frozen=True)
class OidcSource:
    """Where a workload-identity connection gets the pipeline's OIDC token."""

    request_uri: str
    system_access_token: str
    service_connection_id: str


@dataclass(frozen=True)
class ActionsTokenSource:
    """Where a GitHub Actions job gets its OIDC token (`permissions: id-token: write`)."""

    request_url: str  # ACTIONS_ID_TOKEN_REQUEST_URL
    request_token: str = field(repr=False)  # ACTIONS_ID_TOKEN_REQUEST_TOKEN


@dataclass(frozen=True)
class Connection:
    """Everything needed to authenticate to one subscription. Secrets are in `secrets`."""

    name: str
    scheme: Scheme
    cloud: Cloud
    subscription_id: str
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    certificate_pem: str = field(default="", repr=False)
    oidc: Optional[OidcSource] = field(default=None, repr=False)
    actions_oidc: Optional[ActionsTokenSource] = field(default=None, repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value this connection holds, for the log to mask."""
        values = [self.client_secret, self.certificate_pem]
        if self.oidc is not None:
            values.append(self.oidc.system_access_token)
        if self.actions_oidc is not None:
            values.append(self.actions_oidc.request_token)
        return tuple(v for v in values if v)
