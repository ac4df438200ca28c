"""The emulated Azure DevOps organization, as the unmodified azure-devops client sees it:
discovery first, then the calls; PATs, the job token and Entra tokens; the service's refusals."""

from __future__ import annotations

from typing import Any

import pytest

from runner.emulator.process import Emulator
from tests.devops import devops_clients

PROJECT = "emulator-project"


def test_the_ready_line_names_the_organization_project_and_a_pat(emulator: Emulator) -> None:
    info = emulator.info
    assert info["devops_url"] == f"{emulator.url}emulator-org"
    assert info["devops_project"] == PROJECT
    assert info["devops_token"]


def test_the_client_discovers_the_areas_and_locations_before_its_calls(emulator: Emulator) -> None:
    project = devops_clients(emulator).get_core_client().get_project(PROJECT)
    assert (project.name, project.state) == (PROJECT, "wellFormed")
    calls = [(c["method"], c["path"].lower()) for c in emulator.requests()]
    assert calls.index(("GET", "/emulator-org/_apis/resourceareas")) < calls.index(
        ("GET", f"/emulator-org/_apis/projects/{PROJECT}")
    )
    assert ("OPTIONS", "/emulator-org/_apis") in calls


def test_each_scheme_of_the_emulators_own_connection_is_listed(emulator: Emulator) -> None:
    endpoints = devops_clients(emulator).get_service_endpoint_client()
    found = endpoints.get_service_endpoints(PROJECT, type="azurerm")
    schemes = {e.name: e.authorization.scheme for e in found}
    assert schemes == {
        "emulator-connection": "WorkloadIdentityFederation",
        "emulator-connection-secret": "ServicePrincipal",
        "emulator-connection-certificate": "ServicePrincipal",
        "emulator-connection-msi": "ManagedServiceIdentity",
        "emulator-publish-profile": "PublishProfile",
    }
    assert all(e.data["subscriptionId"] == emulator.subscription_id for e in found)
    assert all("serviceprincipalkey" not in e.authorization.parameters for e in found)


def test_a_wrong_pat_is_refused_with_401(emulator: Emulator) -> None:
    from azure.devops.exceptions import AzureDevOpsAuthenticationError

    with pytest.raises(AzureDevOpsAuthenticationError, match="requires user authentication"):
        devops_clients(emulator, pat="not-the-pat").get_core_client().get_project(PROJECT)
    assert {c["status"] for c in emulator.requests()} == {401}


def test_an_entra_token_for_azure_devops_is_accepted_and_one_for_arm_is_not(
    emulator: Emulator,
) -> None:
    from azure.devops.connection import Connection
    from azure.devops.exceptions import AzureDevOpsAuthenticationError
    from azure.identity import ClientSecretCredential
    from msrest.authentication import BasicTokenAuthentication

    info = emulator.info
    credential = ClientSecretCredential(
        emulator.tenant_id,
        emulator.client_id,
        emulator.client_secret,
        authority=emulator.url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_cert,
    )

    def core(scope: str) -> Any:
        token = {"access_token": credential.get_token(scope).token}
        connection = Connection(str(info["devops_url"]), BasicTokenAuthentication(token))
        return connection.clients_v7_1.get_core_client()

    devops_clients(emulator)  # trusts the emulator's CA for the client
    devops_scope = "499b84ac-1321-427f-aa17-267ca6975798/.default"
    assert core(devops_scope).get_project(PROJECT).name == PROJECT
    with pytest.raises(AzureDevOpsAuthenticationError):
        core(emulator.arm_scope).get_project(PROJECT)


def test_the_job_token_may_read_but_not_create_an_environment(emulator: Emulator) -> None:
    from azure.devops.exceptions import AzureDevOpsServiceError
    from azure.devops.v7_1.task_agent.models import EnvironmentCreateParameter

    job = devops_clients(emulator, pat=str(emulator.info["system_access_token"]))
    assert job.get_task_agent_client().get_environments(PROJECT) == []
    with pytest.raises(AzureDevOpsServiceError, match="needs Create permissions"):
        job.get_task_agent_client().add_environment(
            EnvironmentCreateParameter(name="production"), PROJECT
        )


def test_an_environment_name_is_unique_in_the_project(emulator: Emulator) -> None:
    from azure.devops.exceptions import AzureDevOpsServiceError
    from azure.devops.v7_1.task_agent.models import EnvironmentCreateParameter

    agent = devops_clients(emulator).get_task_agent_client()
    agent.add_environment(EnvironmentCreateParameter(name="production"), PROJECT)
    with pytest.raises(AzureDevOpsServiceError, match="'Production' already exists"):
        agent.add_environment(EnvironmentCreateParameter(name="Production"), PROJECT)
    assert [e["name"] for e in emulator.control("GET", "devops")["environments"]] == ["production"]


def test_an_unknown_project_is_the_services_tf200016(emulator: Emulator) -> None:
    from azure.devops.exceptions import AzureDevOpsServiceError

    agent = devops_clients(emulator).get_task_agent_client()
    with pytest.raises(AzureDevOpsServiceError, match="TF200016") as raised:
        agent.get_environments("no-such-project")
    assert raised.value.type_key == "ProjectDoesNotExistWithNameException"


def test_identities_are_found_by_mail_and_groups_by_project_name(emulator: Emulator) -> None:
    identities = devops_clients(emulator).get_identity_client()
    alice = identities.read_identities(
        search_filter="General", filter_value="alice@contoso.example"
    )
    group = identities.read_identities(
        search_filter="General", filter_value="[emulator-project]\\Release Approvers"
    )
    nobody = identities.read_identities(
        search_filter="General", filter_value="carol@contoso.example"
    )
    assert [(i.provider_display_name, i.is_container) for i in alice + group] == [
        ("Alice Approver", False),
        ("[emulator-project]\\Release Approvers", True),
    ]
    assert nobody == []
