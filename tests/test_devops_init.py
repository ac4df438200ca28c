"""Scenarios: `swap-slots init` sets up Azure DevOps (the emulated organization) for the stage
templates, checks everything before changing anything, and changes nothing the second time."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.emulator.process import Emulator
from tests.devops import (
    ALICE,
    APP,
    GROUP_APPROVERS,
    SECRET_CONNECTION,
    devops_changes,
    devops_clients,
    devops_state,
    init_args,
    swap_slots,
)

PROJECT = "emulator-project"
APPROVAL = "8c6f20a7-a545-4486-9777-f762fafe0d4d"


def full_init(emulator: Emulator, *extra: str) -> list[str]:
    return init_args(
        emulator,
        "--approver",
        ALICE,
        "--approver",
        GROUP_APPROVERS,
        "--repository",
        "emulator-repo",
        *extra,
    )


def test_init_creates_environments_approval_pipeline_and_permissions(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = swap_slots(emulator, tmp_path, *full_init(emulator))
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout and "swap-slots validate --organization" in result.stdout
    assert emulator.info["devops_token"] not in result.stdout + result.stderr

    clients = devops_clients(emulator)
    environments = clients.get_task_agent_client().get_environments(PROJECT)
    by_name = {e.name: e for e in environments}
    assert sorted(by_name) == ["production", "staging"]

    checks = clients.get_pipelines_checks_client().get_check_configurations_on_resource(
        PROJECT, "environment", str(by_name["production"].id), expand="settings"
    )
    assert [c.type.id.lower() for c in checks] == [APPROVAL]
    approvers = checks[0].additional_properties["settings"]["approvers"]
    people = {i.id for i in clients.get_identity_client().read_identities(
        search_filter="General", filter_value=ALICE)}  # fmt: skip
    group = {i.id for i in clients.get_identity_client().read_identities(
        search_filter="General", filter_value=GROUP_APPROVERS)}  # fmt: skip
    assert {a["id"] for a in approvers} == people | group
    staging_checks = clients.get_pipelines_checks_client().get_check_configurations_on_resource(
        PROJECT, "environment", str(by_name["staging"].id)
    )
    assert staging_checks == []

    pipelines = clients.get_pipelines_client().list_pipelines(PROJECT)
    assert [p.name for p in pipelines] == [f"{APP}-deploy-test-swap"]
    pipeline = clients.get_pipelines_client().get_pipeline(PROJECT, pipelines[0].id)
    configuration = pipeline.configuration.additional_properties
    assert configuration["path"] == "/azure-pipelines.yml"
    repository = clients.get_git_client().get_repository("emulator-repo", PROJECT)
    assert configuration["repository"]["id"] == repository.id

    permissions = clients.get_pipeline_permissions_client()
    connection = clients.get_service_endpoint_client().get_service_endpoints_by_names(
        PROJECT, [SECRET_CONNECTION]
    )[0]
    github = clients.get_service_endpoint_client().get_service_endpoints_by_names(
        PROJECT, ["github"]
    )[0]
    resources = [("environment", str(e.id)) for e in environments] + [
        ("endpoint", connection.id),
        ("endpoint", github.id),
    ]
    for kind, resource_id in resources:
        found = permissions.get_pipeline_permissions_for_resource(PROJECT, kind, resource_id)
        assert [(p.id, p.authorized) for p in found.pipelines] == [(pipeline.id, True)]

    written = (tmp_path / "azure-pipelines.yml").read_text(encoding="utf-8")
    assert "template: templates/stages/deploy-test-swap.yml@swapslots" in written
    assert f"serviceConnection: {SECRET_CONNECTION}" in written
    assert f"appName: {APP}" in written and "resourceGroupName: rg-swap-demo" in written


def test_a_second_init_changes_nothing_and_says_so(emulator: Emulator, tmp_path: Path) -> None:
    assert swap_slots(emulator, tmp_path, *full_init(emulator)).returncode == 0
    before = devops_state(emulator)
    changes = len(devops_changes(emulator))

    again = swap_slots(emulator, tmp_path, *full_init(emulator))

    assert again.returncode == 0, again.stderr
    assert "Nothing changed: everything was already set up." in again.stdout
    assert " created" not in again.stdout
    assert devops_state(emulator) == before
    assert len(devops_changes(emulator)) == changes


def test_an_existing_check_is_left_alone(emulator: Emulator, tmp_path: Path) -> None:
    assert swap_slots(emulator, tmp_path, *init_args(emulator, "--approver", ALICE)).returncode == 0
    other = swap_slots(
        emulator, tmp_path, *init_args(emulator, "--approver", "bob@contoso.example")
    )
    assert other.returncode == 0, other.stderr
    checks = devops_state(emulator)["checks"]
    assert [[a["uniqueName"] for a in c["settings"]["approvers"]] for c in checks] == [
        [ALICE],
        ["bob@contoso.example"],
    ]


def test_dry_run_prints_the_plan_and_changes_nothing(emulator: Emulator, tmp_path: Path) -> None:
    result = swap_slots(emulator, tmp_path, *full_init(emulator, "--dry-run"))
    assert result.returncode == 0, result.stderr
    assert "dry run: nothing was changed" in result.stdout
    assert result.stdout.count("would be created") == 8
    assert devops_changes(emulator) == []
    assert not (tmp_path / "azure-pipelines.yml").exists()


@pytest.mark.parametrize(
    "connection",
    [
        "emulator-connection",
        SECRET_CONNECTION,
        "emulator-connection-certificate",
        "emulator-connection-msi",
    ],
)
def test_every_scheme_the_task_signs_in_with_is_accepted(
    emulator: Emulator, tmp_path: Path, connection: str
) -> None:
    result = swap_slots(
        emulator, tmp_path, *init_args(emulator, "--dry-run", connection=connection)
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"connection": "no-such-connection"},
            "There is no service connection named 'no-such-connection' in project "
            "'emulator-project'",
        ),
        ({"connection": "github"}, "is of type 'github'; SwapSlots@1 needs an Azure Resource"),
        ({"connection": "emulator-publish-profile"}, "scheme 'PublishProfile', which SwapSlots@1"),
        (
            {"approver": "carol@contoso.example"},
            "The approver 'carol@contoso.example' is not a user",
        ),
        (
            {"pat": "not-the-token"},
            "did not accept the personal access token in AZURE_DEVOPS_EXT_PAT",
        ),
        ({"project": "no-such-project"}, "TF200016: The following project does not exist"),
    ],
)
def test_a_failed_check_is_one_clear_error_and_nothing_is_created(
    emulator: Emulator, tmp_path: Path, change: dict[str, str], message: str
) -> None:
    args = init_args(
        emulator,
        "--approver",
        change.get("approver", ALICE),
        "--repository",
        "emulator-repo",
        connection=change.get("connection", SECRET_CONNECTION),
    )
    if "project" in change:
        args[args.index("emulator-project")] = change["project"]

    result = swap_slots(emulator, tmp_path, *args, pat=change.get("pat", ""))

    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.count("swap-slots init:") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert devops_changes(emulator) == []
    assert not (tmp_path / "azure-pipelines.yml").exists()


def test_init_signs_in_with_an_entra_token_when_there_is_no_pat(
    emulator: Emulator, tmp_path: Path
) -> None:
    info = emulator.info
    login = {
        "AZURE_TENANT_ID": str(info["tenant_id"]),
        "AZURE_CLIENT_ID": str(info["client_id"]),
        "AZURE_CLIENT_SECRET": str(info["client_secret"]),
        "AZURE_AUTHORITY_HOST": emulator.url,
    }
    result = swap_slots(emulator, tmp_path, *init_args(emulator), pat=None, extra_env=login)
    assert result.returncode == 0, result.stderr
    assert [e["name"] for e in devops_state(emulator)["environments"]] == ["staging", "production"]
    assert "/common/discovery/instance" not in {c["path"] for c in emulator.requests()}


def test_the_job_token_may_read_but_not_create(emulator: Emulator, tmp_path: Path) -> None:
    job = {"SYSTEM_ACCESSTOKEN": str(emulator.info["system_access_token"])}
    planned = swap_slots(emulator, tmp_path, *init_args(emulator, "--dry-run"), pat=None,
                         extra_env=job)  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    refused = swap_slots(emulator, tmp_path, *init_args(emulator), pat=None, extra_env=job)
    assert refused.returncode == 1
    assert "needs Create permissions" in refused.stderr
    assert devops_state(emulator)["environments"] == []


def test_classic_imports_the_shipped_task_group_once(emulator: Emulator, tmp_path: Path) -> None:
    first = swap_slots(emulator, tmp_path, *init_args(emulator, "--classic"))
    assert first.returncode == 0, first.stderr
    second = swap_slots(emulator, tmp_path, *init_args(emulator, "--classic"))
    assert second.returncode == 0, second.stderr
    assert "Nothing changed" in second.stdout

    groups = devops_clients(emulator).get_task_agent_client().get_task_groups(PROJECT)
    assert [g.name for g in groups] == ["Swap into production with a health check"]
    assert groups[0].tasks[0].display_name.startswith("Swap $(SourceSlot)")
    assert not (tmp_path / "azure-pipelines.yml").exists()
    assert devops_state(emulator)["environments"] == []


def test_a_pipeline_file_of_your_own_is_kept(emulator: Emulator, tmp_path: Path) -> None:
    mine = "trigger: none\nsteps:\n- script: echo mine\n"
    (tmp_path / "azure-pipelines.yml").write_text(mine, encoding="utf-8")
    result = swap_slots(emulator, tmp_path, *init_args(emulator))
    assert result.returncode == 0, result.stderr
    assert "kept: it differs from what init writes" in result.stdout
    assert (tmp_path / "azure-pipelines.yml").read_text(encoding="utf-8") == mine


def test_classic_refuses_options_it_would_not_use(emulator: Emulator, tmp_path: Path) -> None:
    result = swap_slots(emulator, tmp_path, *init_args(emulator, "--classic", "--approver", ALICE))
    assert result.returncode == 1
    assert "drop --approver and --repository" in result.stderr
    assert devops_changes(emulator) == []
