"""The templates and examples are pipelines Azure Pipelines accepts and do what the docs say.

Every file validates against the official schema (extended with SwapSlots@<major> read from
task.json now, so a new input is checked as soon as task.json has it); the stage templates,
expanded with representative parameters, give valid pipelines whose names, dependencies, task
inputs and output-variable references hold together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.pipeline_templates import checks, schema
from runner.pipeline_templates.expander import Expander
from runner.pipeline_templates.yaml_text import load_yaml_file

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((REPO / "templates").rglob("*.yml"))
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))
ONE_APP = REPO / "templates" / "stages" / "deploy-test-swap.yml"
MANY_APPS = REPO / "templates" / "stages" / "deploy-test-swap-apps.yml"
ALIASES = {"swapslots": REPO}


class Context:
    """The schema and the task knowledge, built once for this module."""

    def __init__(self) -> None:
        self.manifest = schema.read_task_manifest(REPO / "task.json")
        self.swap_task = schema.task_reference(self.manifest)
        self.schema = schema.pipeline_schema([self.manifest])
        self.strict = schema.SchemaValidator(self.schema)
        self.tolerant = schema.SchemaValidator(schema.template_schema(self.schema))
        self.catalog = schema.task_catalog(self.schema)
        self.outputs = schema.task_outputs([self.manifest])
        self.files_read: set[Path] = set()

    def stages(
        self, template: Path, before: tuple[str, ...] = (), **parameters: Any
    ) -> dict[str, Any]:
        """A pipeline made of stages ``before`` and the template's, checked as the service would."""
        expander = Expander(REPO, ALIASES)
        body = expander.expand_template(template, parameters)
        self.files_read |= expander.files_read
        earlier = [{"stage": name, "jobs": []} for name in before]
        pipeline = {"trigger": "none", "stages": earlier + body["stages"]}
        self.assert_valid(pipeline)
        pipeline["stages"] = body["stages"]
        return pipeline

    def assert_valid(self, pipeline: Mapping[str, Any]) -> None:
        assert self.strict.problems(schema.as_text(pipeline)) == []
        assert checks.pipeline_problems(pipeline, self.catalog, self.outputs) == []


@pytest.fixture(scope="module")
def context() -> Context:
    return Context()


def stage(pipeline: Mapping[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in pipeline["stages"] if s["stage"] == name]
    assert found, f"no stage {name}: {[s['stage'] for s in pipeline['stages']]}"
    return dict(found[0])


def job(stage_body: Mapping[str, Any], name: str) -> dict[str, Any]:
    found = [j for j in stage_body["jobs"] if j.get("job", j.get("deployment")) == name]
    assert found, f"no job {name}"
    return dict(found[0])


def hook(deployment: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    run_once = deployment["strategy"]["runOnce"]
    steps = run_once["on"]["failure"] if name == "on.failure" else run_once[name]
    return list(steps["steps"])


def named(steps: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [step for step in steps if step.get("name") == name]
    assert found, f"no step {name} in {steps}"
    return found[0]


ONE: dict[str, Any] = {
    "serviceConnection": "contoso-arm",
    "appName": "contoso-web",
    "resourceGroupName": "rg-web",
}
REGIONS = [
    {"name": "web-weu", "resourceGroup": "rg-weu"},
    {"name": "web-eus", "resourceGroup": "rg-eus", "productionUrl": "https://eus.contoso.example"},
    {"name": "web-sea", "id": "asia", "resourceGroup": "rg-sea", "serviceConnection": "asia-arm"},
]


# The files themselves ------------------------------------------------------------------------


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_template_validates_against_the_official_schema(path: Path, context: Context) -> None:
    document = load_yaml_file(path)
    kinds = [kind for kind in schema.TEMPLATE_DEFINITIONS if kind in document]
    assert len(kinds) == 1, "a template holds stages, jobs or steps"
    definition = schema.TEMPLATE_DEFINITIONS[kinds[0]]
    opened = schema.unnest_directives(document)
    assert context.tolerant.problems(schema.as_text(opened), definition) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates_as_written_and_expanded(path: Path, context: Context) -> None:
    assert context.strict.problems(schema.as_text(load_yaml_file(path))) == []
    expander = Expander(REPO, ALIASES)
    pipeline = expander.expand_pipeline(path)
    context.files_read |= expander.files_read
    context.assert_valid(pipeline)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_take_the_templates_from_this_repository_as_a_resource(path: Path) -> None:
    document = load_yaml_file(path)
    aliases = {entry["repository"] for entry in document["resources"]["repositories"]}
    references = re.findall(r"template:\s*(\S+)", path.read_text(encoding="utf-8"))
    assert references
    for reference in references:
        template_path, _, alias = reference.partition("@")
        assert alias in aliases, f"{reference} does not name a declared repository"
        assert (REPO / template_path).is_file()


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_parameter_used_is_declared_and_every_declared_one_is_used(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    declared = {entry["name"] for entry in load_yaml_file(path)["parameters"]}
    used = set(re.findall(r"parameters\.(\w+)", text)) | set(
        re.findall(r"parameters\['(\w+)'\]", text)
    )
    assert used - declared == set(), "used but not declared"
    assert declared - used == set(), "declared but never used"


def test_the_templates_call_swap_slots_by_the_name_and_major_version_in_task_json(
    context: Context,
) -> None:
    for path in TEMPLATES:
        for task in re.findall(r"task:\s*(SwapSlots@\S+)", path.read_text(encoding="utf-8")):
            assert task == context.swap_task, path


# One app -------------------------------------------------------------------------------------


def test_one_app_runs_deploy_test_swap_in_order(context: Context) -> None:
    pipeline = context.stages(ONE_APP, **ONE)
    assert [s["stage"] for s in pipeline["stages"]] == ["Deploy", "Test", "Swap"]
    assert stage(pipeline, "Test")["dependsOn"] == "Deploy"
    assert stage(pipeline, "Swap")["dependsOn"] == "Test"
    assert "dependsOn" not in stage(pipeline, "Deploy")  # after the stage before it


def test_deploy_puts_the_package_in_the_staging_slot_and_exposes_its_url(context: Context) -> None:
    deploy = job(stage(context.stages(ONE_APP, **ONE), "Deploy"), "Deploy_contoso_web")
    assert deploy["environment"] == "staging"
    web_app = named(hook(deploy, "deploy"), "deployToSlot")
    assert web_app["task"] == "AzureWebApp@1"
    assert web_app["inputs"] == {
        "azureSubscription": "contoso-arm",
        "appType": "webApp",
        "appName": "contoso-web",
        "deployToSlotOrASE": "true",
        "resourceGroupName": "rg-web",
        "slotName": "staging",
        "package": "$(Pipeline.Workspace)/**/*.zip",
    }


def test_test_stage_probes_the_staging_url_from_the_deploy_output_then_runs_user_steps(
    context: Context,
) -> None:
    mine = [{"script": "npm run smoke -- $(stagingUrl)", "displayName": "smoke"}]
    test = job(
        stage(context.stages(ONE_APP, **ONE, testSteps=mine, healthPath="/healthz"), "Test"),
        "Test_contoso_web",
    )
    assert test["variables"]["stagingUrl"] == (
        "$[ stageDependencies.Deploy.Deploy_contoso_web.outputs"
        "['Deploy_contoso_web.deployToSlot.AppServiceApplicationUrl'] ]"
    )
    probe, *rest = test["steps"]
    assert probe["name"] == "stagingHealth"
    assert probe["env"]["PROBE_URL"] == "$(stagingUrl)"
    assert probe["env"]["PROBE_PATH"] == "/healthz"
    assert probe["env"]["PROBE_REQUIRED"] == "True"
    assert "continueOnError" not in probe
    assert rest == mine


def test_swap_is_a_deployment_on_production_whose_task_gates_verifies_and_swaps_back(
    context: Context,
) -> None:
    swap_job = job(stage(context.stages(ONE_APP, **ONE), "Swap"), "Swap_contoso_web")
    assert swap_job["environment"] == "production"
    swap = named(hook(swap_job, "deploy"), "swap")
    assert swap["task"] == context.swap_task
    assert swap["inputs"] == {
        "azureSubscription": "contoso-arm",
        "Action": "Swap Slots",
        "WebAppName": "contoso-web",
        "ResourceGroupName": "rg-web",
        "SourceSlot": "staging",
        "SwapWithProduction": True,
        "PreserveVnet": False,
        "HealthCheckPath": "/",
        "RollbackOnFailure": True,
    }
    # The task probes the slot and production itself: no second probe, no hook to swap back.
    assert set(swap_job["strategy"]["runOnce"]) == {"deploy"}


def test_a_production_url_adds_its_own_probe_and_a_swap_back_without_rollback_or_version(
    context: Context,
) -> None:
    parameters = {**ONE, "productionUrl": "https://www.contoso.example", "expectedVersion": "42"}
    swap_job = job(stage(context.stages(ONE_APP, **parameters), "Swap"), "Swap_contoso_web")
    swap = named(hook(swap_job, "deploy"), "swap")
    assert swap["inputs"]["ExpectedVersion"] == "42"
    check = named(hook(swap_job, "postRouteTraffic"), "productionHealth")
    assert check["env"]["PROBE_URL"] == "https://www.contoso.example"
    assert check["env"]["PROBE_REQUIRED"] == "True"

    failure = hook(swap_job, "on.failure")
    recheck = named(failure, "productionRecheck")
    assert recheck["env"]["PROBE_REQUIRED"] == "False"
    swap_back = named(failure, "swapBack")
    # The same two slots again, with no swap back of its own and no version to expect.
    expected = {k: v for k, v in swap["inputs"].items() if k not in ("ExpectedVersion",)}
    expected.pop("HealthCheckPath")
    assert swap_back["inputs"] == {**expected, "RollbackOnFailure": False}
    assert failure.index(recheck) < failure.index(swap_back)
    assert swap_back["condition"] == (
        "and(succeeded(), eq(variables['productionRecheck.healthy'], 'false'))"
    )


def test_the_canary_and_bake_settings_reach_the_swap_step_and_not_the_swap_back(
    context: Context,
) -> None:
    canary: dict[str, Any] = {
        "canarySteps": "10,50",
        "canaryStepMinutes": "0.5",
        "bakeMinutes": "3",
    }
    with_url = {**ONE, "productionUrl": "https://www.contoso.example"}
    swap_job = job(stage(context.stages(ONE_APP, **with_url, **canary), "Swap"), "Swap_contoso_web")
    inputs = named(hook(swap_job, "deploy"), "swap")["inputs"]
    assert inputs["TrafficSteps"] == "10,50" and inputs["TrafficStepMinutes"] == "0.5"
    assert inputs["MaxErrorRatePercent"] == "1" and inputs["MinRequests"] == "100"
    assert inputs["InsufficientTraffic"] == "fail" and inputs["BakeMinutes"] == "3"
    swap_back = named(hook(swap_job, "on.failure"), "swapBack")["inputs"]
    assert not {"TrafficSteps", "BakeMinutes"} & set(swap_back)


def test_without_rollback_nothing_is_swapped_back(context: Context) -> None:
    pipeline = context.stages(ONE_APP, **ONE, rollbackOnFailure=False)
    swap_job = job(stage(pipeline, "Swap"), "Swap_contoso_web")
    assert "on" not in swap_job["strategy"]["runOnce"]
    assert "swapBack" not in str(pipeline)


def test_parameters_reach_every_stage(context: Context) -> None:
    pipeline = context.stages(
        ONE_APP,
        **ONE,
        slot="blue",
        appType="webAppLinux",
        package="$(Pipeline.Workspace)/site/site.zip",
        productionUrl="https://www.contoso.example",
        stagingEnvironment="contoso-staging",
        productionEnvironment="contoso-production",
        healthPath="/ready",
        probeAttempts=3,
        probeIntervalSeconds=5,
        probeShell="pwsh",
        preserveVnet=True,
        pool={"name": "self-hosted"},
        dependsOn=["Build", "Lint"],
        before=("Build", "Lint"),
    )
    deploy = job(stage(pipeline, "Deploy"), "Deploy_contoso_web")
    inputs = named(hook(deploy, "deploy"), "deployToSlot")["inputs"]
    assert (inputs["slotName"], inputs["appType"]) == ("blue", "webAppLinux")
    assert inputs["package"] == "$(Pipeline.Workspace)/site/site.zip"
    assert deploy["environment"] == "contoso-staging"
    assert deploy["pool"] == {"name": "self-hosted"}
    assert stage(pipeline, "Deploy")["dependsOn"] == ["Build", "Lint"]

    probe = job(stage(pipeline, "Test"), "Test_contoso_web")["steps"][0]
    assert "pwsh" in probe
    assert (probe["env"]["PROBE_ATTEMPTS"], probe["env"]["PROBE_INTERVAL"]) == ("3", "5")

    swap_job = job(stage(pipeline, "Swap"), "Swap_contoso_web")
    assert swap_job["environment"] == "contoso-production"
    swap_inputs = named(hook(swap_job, "deploy"), "swap")["inputs"]
    assert (swap_inputs["SourceSlot"], swap_inputs["PreserveVnet"]) == ("blue", True)
    check = named(hook(swap_job, "postRouteTraffic"), "productionHealth")
    assert check["env"]["PROBE_URL"] == "https://www.contoso.example"
    assert check["env"]["PROBE_PATH"] == "/ready"


def test_a_manual_validation_job_gets_its_own_stage_before_the_swap(context: Context) -> None:
    approval = {
        "job": "LookAtStaging",
        "pool": "server",
        "steps": [{"task": "ManualValidation@0", "inputs": {"notifyUsers": "ops@contoso.example"}}],
    }
    pipeline = context.stages(ONE_APP, **ONE, beforeSwap=[approval])
    assert [s["stage"] for s in pipeline["stages"]] == ["Deploy", "Test", "Approve", "Swap"]
    assert stage(pipeline, "Approve")["jobs"] == [approval]
    assert stage(pipeline, "Swap")["dependsOn"] == "Approve"


def test_the_template_can_be_used_twice_in_one_pipeline_with_prefixes(context: Context) -> None:
    first = context.stages(ONE_APP, **ONE, stagePrefix="Canary", productionEnvironment="canary")
    second = context.stages(
        ONE_APP,
        before=("CanarySwap",),
        **{**ONE, "appName": "contoso-web-2"},
        stagePrefix="Main",
        dependsOn=["CanarySwap"],
    )
    pipeline = {"trigger": "none", "stages": first["stages"] + second["stages"]}
    context.assert_valid(pipeline)
    assert [s["stage"] for s in pipeline["stages"]] == [
        "CanaryDeploy",
        "CanaryTest",
        "CanarySwap",
        "MainDeploy",
        "MainTest",
        "MainSwap",
    ]


# Several apps --------------------------------------------------------------------------------


def test_several_apps_are_swapped_by_one_task_all_or_nothing(context: Context) -> None:
    pipeline = context.stages(
        MANY_APPS,
        serviceConnection="contoso-arm",
        apps=REGIONS,
        expectedVersion="$(Build.BuildNumber)",
    )
    assert [s["stage"] for s in pipeline["stages"]] == ["Deploy", "Test", "Swap"]  # no Restore
    (swap_job,) = stage(pipeline, "Swap")["jobs"]
    assert swap_job["deployment"] == "Swap_all" and swap_job["environment"] == "production"
    assert set(swap_job["strategy"]["runOnce"]) == {"deploy"}
    inputs = named(hook(swap_job, "deploy"), "swap")["inputs"]
    assert inputs["WebAppName"] == "web-weu" and inputs["ResourceGroupName"] == "rg-weu"
    assert inputs["AdditionalWebApps"] == "web-weu,web-eus,web-sea"
    assert inputs["ExpectedVersion"] == "$(Build.BuildNumber)"
    assert inputs["HealthCheckPath"] == "/" and inputs["RollbackOnFailure"] is True


def test_a_canary_or_bake_of_several_apps_swaps_one_job_per_app(context: Context) -> None:
    extras: list[dict[str, Any]] = [{"canarySteps": "10"}, {"bakeMinutes": "5"}]
    for extra in extras:
        pipeline = context.stages(MANY_APPS, serviceConnection="c", apps=REGIONS, **extra)
        jobs = stage(pipeline, "Swap")["jobs"]
        assert [j["deployment"] for j in jobs] == ["Swap_web_weu", "Swap_web_eus", "Swap_asia"]
        assert "Restore" in [s["stage"] for s in pipeline["stages"]]
        assert "AdditionalWebApps" not in str(pipeline)


def test_several_apps_fan_out_into_parallel_jobs_in_every_stage(context: Context) -> None:
    pipeline = context.stages(
        MANY_APPS, serviceConnection="contoso-arm", apps=REGIONS, swapMode="jobPerApp"
    )
    ids = ["web_weu", "web_eus", "asia"]
    for name, prefix in [("Deploy", "Deploy_"), ("Test", "Test_"), ("Swap", "Swap_")]:
        jobs = stage(pipeline, name)["jobs"]
        assert [j.get("job", j.get("deployment")) for j in jobs] == [prefix + i for i in ids]
        assert all("dependsOn" not in j for j in jobs)  # parallel
    asia = job(stage(pipeline, "Swap"), "Swap_asia")
    assert named(hook(asia, "deploy"), "swap")["inputs"]["azureSubscription"] == "asia-arm"
    eus = job(stage(pipeline, "Swap"), "Swap_web_eus")
    check = named(hook(eus, "postRouteTraffic"), "productionHealth")
    assert check["env"]["PROBE_URL"] == "https://eus.contoso.example"


def test_a_failed_swap_restores_every_app_whose_swap_succeeded(context: Context) -> None:
    pipeline = context.stages(
        MANY_APPS, serviceConnection="contoso-arm", apps=REGIONS, swapMode="jobPerApp"
    )
    restore = stage(pipeline, "Restore")
    assert restore["dependsOn"] == "Swap"
    assert restore["condition"] == "eq(dependencies.Swap.result, 'Failed')"
    for app_id, app in zip(["web_weu", "web_eus", "asia"], REGIONS):
        restore_job = job(restore, f"Restore_{app_id}")
        assert "environment" not in restore_job  # no second approval before a restore
        assert restore_job["condition"] == (
            f"and(in(stageDependencies.Swap.Swap_{app_id}.result, 'Succeeded', "
            f"'SucceededWithIssues'), eq(stageDependencies.Swap.Swap_{app_id}.outputs"
            f"['Swap_{app_id}.swap.SwapOutcome'], 'Swapped'))"
        )
        swap_back = named(restore_job["steps"], "swapBack")
        assert swap_back["task"] == context.swap_task
        assert swap_back["inputs"]["WebAppName"] == app["name"]
        assert swap_back["inputs"]["ResourceGroupName"] == app["resourceGroup"]
        assert swap_back["inputs"]["RollbackOnFailure"] is False
        assert "ExpectedVersion" not in swap_back["inputs"]


def test_one_app_or_no_rollback_needs_no_restore_stage(context: Context) -> None:
    one = context.stages(MANY_APPS, serviceConnection="c", apps=REGIONS[:1])
    off = context.stages(
        MANY_APPS,
        serviceConnection="c",
        apps=REGIONS,
        rollbackOnFailure=False,
        swapMode="jobPerApp",
    )
    assert "Restore" not in [s["stage"] for s in one["stages"] + off["stages"]]


def test_an_app_may_override_the_slot_and_health_path(context: Context) -> None:
    apps = [{"name": "api", "resourceGroup": "rg", "slot": "green", "healthPath": "/api/health"}]
    pipeline = context.stages(MANY_APPS, serviceConnection="c", apps=apps)
    deploy = job(stage(pipeline, "Deploy"), "Deploy_api")
    assert named(hook(deploy, "deploy"), "deployToSlot")["inputs"]["slotName"] == "green"
    assert (
        job(stage(pipeline, "Test"), "Test_api")["steps"][0]["env"]["PROBE_PATH"] == "/api/health"
    )
    swap = job(stage(pipeline, "Swap"), "Swap_api")
    assert named(hook(swap, "deploy"), "swap")["inputs"]["SourceSlot"] == "green"


# Job and step templates on their own ---------------------------------------------------------


def test_the_probe_template_sets_an_output_in_both_shells(context: Context) -> None:
    probe = REPO / "templates" / "steps" / "probe-health.yml"
    for shell in ("bash", "pwsh"):
        steps = Expander(REPO, {}).expand_template(probe, {"url": "https://x", "shell": shell})
        (step,) = steps["steps"]
        assert "variable=healthy;isOutput=true]true" in step[shell]
        assert "variable=healthy;isOutput=true]false" in step[shell]
        pipeline = {"steps": steps["steps"]}
        assert context.strict.problems(schema.as_text(pipeline)) == []


def test_the_swap_step_template_swaps_two_slots_when_asked(context: Context) -> None:
    path = REPO / "templates" / "steps" / "swap-slots.yml"
    parameters = {"serviceConnection": "c", "appName": "a", "swapWithProduction": "false"}
    steps = Expander(REPO, {}).expand_template(path, {**parameters, "targetSlot": "qa"})["steps"]
    assert steps[0]["inputs"]["SwapWithProduction"] is False
    assert steps[0]["inputs"]["TargetSlot"] == "qa"
    assert "ResourceGroupName" not in steps[0]["inputs"]  # the task finds the group itself
    assert context.strict.problems(schema.as_text({"steps": steps})) == []


def test_every_template_file_is_exercised_by_these_tests(context: Context) -> None:
    # Module-scoped context: the tests above have expanded the stage templates and examples.
    context.stages(ONE_APP, **ONE)
    context.stages(MANY_APPS, serviceConnection="c", apps=REGIONS, swapMode="jobPerApp")
    assert {path.resolve() for path in TEMPLATES} <= context.files_read
