"""What an emulator run is configured with, and the fixed identities that keep examples stable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

# Fixed, obviously fake identifiers: documentation and tests can quote them verbatim.
TENANT_ID = "10000000-0000-4000-8000-000000000001"
CLIENT_ID = "20000000-0000-4000-8000-000000000002"
SUBSCRIPTION_ID = "30000000-0000-4000-8000-000000000003"
SERVICE_CONNECTION_ID = "40000000-0000-4000-8000-000000000004"
PROJECT_ID = "50000000-0000-4000-8000-000000000005"
PLAN_ID = "60000000-0000-4000-8000-000000000006"
JOB_ID = "70000000-0000-4000-8000-000000000007"
ORGANIZATION_ID = "80000000-0000-4000-8000-000000000008"
SERVICE_PRINCIPAL_OBJECT_ID = "90000000-0000-4000-8000-000000000009"
MSI_CLIENT_ID = "a0000000-0000-4000-8000-00000000000a"
MSI_PRINCIPAL_ID = "b0000000-0000-4000-8000-00000000000b"

SUBSCRIPTION_NAME = "Emulator Subscription"
ORGANIZATION = "emulator-org"
PROJECT = "emulator-project"
SERVICE_CONNECTION_NAME = "emulator-connection"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
DEFAULT_SYSTEM_ACCESS_TOKEN = "emulator-system-access-token"
DEFAULT_MSI_HEADER = "emulator-identity-header"
ARM_AUDIENCE = "https://management.core.windows.net/"
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
FEDERATION_ISSUER = f"https://vstoken.dev.azure.com/{ORGANIZATION_ID}"
FEDERATION_SUBJECT = f"sc://{ORGANIZATION}/{PROJECT}/{SERVICE_CONNECTION_NAME}"
# GitHub Actions: a job of contoso/contoso-web bound to its `production` environment.
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_REPOSITORY = "contoso/contoso-web"
GITHUB_SUBJECT = f"repo:{GITHUB_REPOSITORY}:environment:production"
DEFAULT_ACTIONS_RUNTIME_TOKEN = "emulator-actions-runtime-token"
LOCATION = "West Europe"

DEFAULT_RESOURCE_GROUP = "rg-swap-demo"
DEFAULT_APP = "contoso-web"
PRODUCTION = "production"


class AppSeed(NamedTuple):
    name: str
    resource_group: str
    slots: tuple[str, ...]


def parse_app_seed(spec: str) -> AppSeed:
    """`NAME[@RG][:slot1,slot2]` -> an app; production is always one of its slots."""
    head, _, slot_list = spec.partition(":")
    name, _, resource_group = head.partition("@")
    if not name.strip():
        raise ValueError(f"--app {spec!r}: the app name is empty (expected NAME[@RG][:slot,...])")
    slots = [PRODUCTION]
    for slot in (s.strip() for s in (slot_list or "staging").split(",")):
        if slot and slot.lower() not in (s.lower() for s in slots):
            slots.append(slot)
    return AppSeed(name.strip(), resource_group.strip() or DEFAULT_RESOURCE_GROUP, tuple(slots))


DEFAULT_APPS = (AppSeed(DEFAULT_APP, DEFAULT_RESOURCE_GROUP, (PRODUCTION, "staging")),)


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    count: int
    path: str | None
    app: str | None = None


@dataclass(frozen=True)
class EmulatorSettings:
    data_dir: Path
    port: int = 0
    apps: tuple[AppSeed, ...] = DEFAULT_APPS
    swap_seconds: float = 3.0
    retry_after: int | None = 1
    warmup_timeout: float = 450.0  # how long a swap's warm-up waits for a starting app
    state_file: Path | None = None
    faults: tuple[FaultSpec, ...] = ()
    health_check_path: str | None = None
    client_secret: str = DEFAULT_CLIENT_SECRET
    client_secret_expired: bool = False
    system_access_token: str = DEFAULT_SYSTEM_ACCESS_TOKEN
    msi_header: str = DEFAULT_MSI_HEADER
    client_ca: Path | None = None  # ask callers for a client certificate issued by this CA
    metrics_minute_seconds: float = 60.0  # how long a metrics minute lasts (less: a faster test)
    metrics_delay_minutes: float = 1.0  # how long after its end a minute's metrics appear
    seed: int | None = None  # of the routing rules' dice; None: a different run each time
    arm_latency: float = 0.0  # seconds each management API answer waits: a round trip to Azure
    token_lifetime_seconds: int = 3600  # of the access tokens Entra issues
    base_error_percent: float = 0.0  # the share of requests every version fails at random
