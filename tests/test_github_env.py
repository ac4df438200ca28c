"""The action's environment read into a request and a sign-in, as the runner hands it over
(no network: what is refused or chosen before any call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.azure.connection import CLOUDS, Scheme
from runner.errors import UserError
from runner.github.environment import read_action_step
from tests.github_runner import action_inputs

OIDC = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner.example/idtoken?api-version=2.0",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
}


def environ(**given: str) -> dict[str, str]:
    """Every input as the runner sets it: INPUT_<NAME>, hyphens kept, defaults filled in."""
    values = {"app-name": "contoso-web", "slot": "staging", **given}
    env = {
        "INPUT_" + name.upper(): values.get(name, str((spec or {}).get("default", "")))
        for name, spec in action_inputs().items()
    }
    return {**env, **OIDC}


@pytest.mark.parametrize("name", ["azurecloud", "AzureUSGovernment", "azurechinacloud"])
def test_sovereign_clouds_are_named_as_azure_login_names_them(name: str) -> None:
    step = read_action_step(
        environ(**{"environment": name, "client-id": "c", "tenant-id": "t", "subscription-id": "s"})
    )

    assert step.connection.cloud == CLOUDS[name.lower()]
    assert step.connection.scheme is Scheme.GITHUB_OIDC
    assert step.connection.actions_oidc is not None
    assert "request-token" in step.connection.secrets


def test_a_slot_other_than_production_is_a_slot_to_slot_swap() -> None:
    step = read_action_step(environ(**{"target-slot": "qa", "subscription-id": "s"}))

    assert (step.request.source_slot, step.request.target_slot) == ("staging", "qa")
    assert step.connection.scheme is Scheme.AZURE_CLI


def test_without_a_subscription_the_azure_cli_sessions_default_is_used(tmp_path: Path) -> None:
    config = tmp_path
    profile = '{"subscriptions": [{"id": "other"}, {"id": "chosen", "isDefault": true}]}'
    (config / "azureProfile.json").write_text(profile, encoding="utf-8-sig")

    step = read_action_step({**environ(), "AZURE_CONFIG_DIR": str(config)})

    assert step.connection.subscription_id == "chosen"


def test_no_subscription_anywhere_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="subscription-id is empty"):
        read_action_step({**environ(), "AZURE_CONFIG_DIR": str(tmp_path)})


def test_the_runners_proxy_and_its_password_are_read_from_https_proxy() -> None:
    env = {
        **environ(**{"subscription-id": "s"}),
        "HTTPS_PROXY": "http://runner:p%40ss@proxy.example:3128",
        "NO_PROXY": ".internal.example",
    }

    network = read_action_step(env).network

    assert network.proxy is not None
    assert network.proxy.address == "http://proxy.example:3128"
    assert network.proxy.password == "p@ss"
    assert network.proxy.bypasses("https://app.internal.example/health")
    assert not network.proxy.bypasses("https://management.azure.com/")
    assert "p@ss" in network.secrets
