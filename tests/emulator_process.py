"""The emulator as a separate process, for tests (the same helper the demo uses), and the
Azure SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.web import WebSiteManagementClient

from runner.emulator.process import Emulator, start_emulator

__all__ = [
    "Emulator",
    "emulator_for_sdk",
    "monitor_client",
    "secret_credential",
    "start_emulator",
    "web_client",
]


def secret_credential(emulator: Emulator, secret: Optional[str] = None) -> ClientSecretCredential:
    """The emulator's service principal, through azure-identity, with no public discovery."""
    return ClientSecretCredential(
        emulator.tenant_id,
        emulator.client_id,
        emulator.client_secret if secret is None else secret,
        authority=emulator.url,
        disable_instance_discovery=True,
    )


def web_client(emulator: Emulator, credential: Any = None) -> WebSiteManagementClient:
    """azure-mgmt-web, unchanged, talking to the emulator's Resource Manager."""
    return WebSiteManagementClient(
        credential or secret_credential(emulator),
        emulator.subscription_id,
        base_url=emulator.url,
        credential_scopes=[emulator.arm_scope],
    )


def monitor_client(emulator: Emulator) -> MonitorManagementClient:
    """azure-mgmt-monitor, unchanged, reading metrics through the emulator's Resource Manager."""
    return MonitorManagementClient(
        secret_credential(emulator),
        emulator.subscription_id,
        base_url=emulator.url,
        credential_scopes=[emulator.arm_scope],
    )


@contextmanager
def emulator_for_sdk(data_dir: Path, *args: str) -> Iterator[Emulator]:
    """An emulator whose CA this test process trusts, as a user would set it up for the SDK."""
    with start_emulator(data_dir, *args) as running, pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", running.ca_cert)
        yield running
