"""Scenario: the action after azure/login, signing in with the Azure CLI session it left.

A real `az` logs in to the emulator as azure/login does with OpenID Connect (`az login
--service-principal --federated-token <the job's token>`, after `az cloud register` for a cloud
of one's own), then the action runs with no client-id and no subscription-id: azure-identity's
AzureCliCredential asks that `az` for tokens, and the subscription is the session's default.

The first run on a machine installs azure-cli into a cached virtual environment (about two
minutes; see tests/test_emulator_az.py); SWAP_SLOTS_AZ names an existing `az` instead.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import requests

from runner.emulator.process import Emulator
from tests.github_runner import action_environment, run_step
from tests.test_emulator_az import azure_cli

APP = "contoso-web"


def az_login_as_azure_login_does(az: Path, emulator: Emulator, config: Path) -> None:
    env = {
        **os.environ,
        "AZURE_CONFIG_DIR": str(config),
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "REQUESTS_CA_BUNDLE": emulator.ca_cert,
    }
    job_token = requests.get(
        emulator.info["actions_id_token_request_url"],
        params={"audience": "api://AzureADTokenExchange"},
        headers={"Authorization": "Bearer " + emulator.info["actions_id_token_request_token"]},
        verify=emulator.ca_cert,
        timeout=10,
    ).json()["value"]
    login = ["login", "--service-principal", "--username", emulator.client_id]
    login += ["--tenant", emulator.tenant_id, "--federated-token", job_token]
    for args in (
        ["cloud", "register", "--name", "Emulator", "--endpoint-resource-manager", emulator.url],
        ["cloud", "set", "--name", "Emulator"],
        ["config", "set", "core.instance_discovery=false"],
        login,
    ):
        done = subprocess.run(
            [str(az), *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"az {' '.join(args[:2])}: {done.stderr}"


def test_after_azure_login_the_action_swaps_with_the_cli_session(
    emulator: Emulator, tmp_path: Path
) -> None:
    az = azure_cli()
    config = tmp_path / "azure-config"
    az_login_as_azure_login_does(az, emulator, config)
    emulator.deploy(APP, "staging", "v2")
    env = action_environment(
        emulator.info, {"app-name": APP, "slot": "staging"}, tmp_path, sign_in="azure/login"
    )
    env["AZURE_CONFIG_DIR"] = str(config)
    env["PATH"] = str(az.parent) + os.pathsep + env["PATH"]
    asked_before = len([r for r in emulator.requests() if str(r["path"]).endswith("/idtoken")])

    step = run_step(env)

    assert step.succeeded, step.text
    assert "(the Azure CLI session (azure/login))" in step.stdout
    assert f"Subscription:   {emulator.subscription_id}" in step.stdout  # the session's default
    assert step.outputs["swap-outcome"] == "Swapped"
    assert emulator.serving(APP, "production") == "v2"
    # The action asked GitHub for nothing: az holds the session.
    asked = [r for r in emulator.requests() if str(r["path"]).endswith("/idtoken")]
    assert len(asked) == asked_before
