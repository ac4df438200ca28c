"""task.json and vss-extension.json: the official schema, tfx rules, what the code relies on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner.step_inputs import REQUEST_INPUTS

ROOT = Path(__file__).resolve().parent.parent
TASK = json.loads((ROOT / "task.json").read_text(encoding="utf-8"))
EXTENSION = json.loads((ROOT / "vss-extension.json").read_text(encoding="utf-8"))
INPUTS = {i["name"]: i for i in TASK["inputs"]}

# Public API since 1.0: YAML and classic pipelines name these inputs and read these outputs.
PUBLIC_INPUTS = {
    "ConnectedServiceName": (["azureSubscription"], None),
    "Action": ([], "Swap Slots"),
    "WebAppName": ([], None),
    "ResourceGroupName": ([], None),
    "SourceSlot": ([], None),
    "SwapWithProduction": ([], "true"),
    "TargetSlot": ([], None),
    "PreserveVnet": ([], "false"),
}
OUTPUTS = ["ProductionUrl", "SourceSlotUrl", "SwapOutcome"]


def schema_path() -> Path:
    """The schema from shared/ beside the repository (this checkout's parent or CI's copy)."""
    for base in (ROOT, *ROOT.parents):
        candidate = base / "shared" / "schemas" / "tasks.schema.json"
        if candidate.exists():
            return candidate
    pytest.skip("shared/schemas/tasks.schema.json is not beside this checkout")


def project_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    assert match
    return match.group(1)


def test_task_json_matches_the_official_schema() -> None:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(TASK), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_task_json_follows_tfx_rules() -> None:
    assert re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", TASK["id"])
    assert TASK["id"] == "44c3fbf6-9a0c-434a-a1e6-ebe0f24dd113"
    assert TASK["name"] == "SwapSlots"
    assert re.fullmatch(r"[A-Za-z0-9\-]+", TASK["name"])
    assert len(TASK["friendlyName"]) <= 40
    assert TASK["instanceNameFormat"]
    for variable in re.findall(r"\$\((\w+)\)", TASK["instanceNameFormat"]):
        assert variable in INPUTS


def test_every_node_handler_runs_the_launcher() -> None:
    execution = TASK["execution"]
    # An agent runs the handler it ranks first among those it knows: Node10 on 2.144.0 and later,
    # Node16 from 2.206.1, Node20_1 from 3.232.1, Node24 (behind a knob) today.
    assert set(execution) == {"Node10", "Node16", "Node20_1", "Node24"}
    targets = {handler["target"] for handler in execution.values()}
    assert targets == {"launcher/index.js"}
    assert (ROOT / "launcher" / "index.js").is_file()
    # 2.144.0 is the first agent with Node10; older ones have only Node 6's handler.
    assert TASK["minimumAgentVersion"] == "2.144.0"


def test_task_identity_and_placement() -> None:
    assert TASK["version"]["Major"] == 1
    assert TASK["category"] == "Deploy"
    assert TASK["runsOn"] == ["Agent", "DeploymentGroup"]


def test_public_inputs_and_outputs_are_unchanged() -> None:
    for name, (aliases, default) in PUBLIC_INPUTS.items():
        declared = INPUTS[name]
        assert declared.get("aliases", []) == aliases, name
        if default is not None:
            assert declared["defaultValue"] == default, name
    assert INPUTS["ConnectedServiceName"]["type"] == "connectedService:AzureRM"
    assert [o["name"] for o in TASK["outputVariables"]] == OUTPUTS


def test_every_input_explains_itself() -> None:
    for declared in TASK["inputs"]:
        assert len(declared.get("helpMarkDown", "")) > 20, declared["name"]
    preserve = INPUTS["PreserveVnet"]["helpMarkDown"].lower()
    assert "virtual network" in preserve and "preservevnet" in preserve


def test_python_interpreter_is_an_optional_advanced_input() -> None:
    python = INPUTS["pythonInterpreter"]
    assert python["required"] is False and python["defaultValue"] == ""
    assert python["groupName"] in {g["name"] for g in TASK["groups"]}
    assert "UsePythonVersion@0" in python["helpMarkDown"]


def test_groups_and_visible_rules_name_declared_things() -> None:
    groups = {g["name"] for g in TASK["groups"]}
    for declared in TASK["inputs"]:
        assert declared.get("groupName", next(iter(groups))) in groups
        for referenced in re.findall(r"(\w+)\s*(?:=|!=|==)", declared.get("visibleRule", "")):
            assert referenced in INPUTS, (declared["name"], referenced)
    assert INPUTS["TargetSlot"]["visibleRule"] == "SwapWithProduction = false"


def test_pickers_are_filled_from_the_connection() -> None:
    bindings = {b["target"]: b for b in TASK["dataSourceBindings"]}
    expected = {
        "WebAppName": "AzureRMWebAppNames",
        "ResourceGroupName": "AzureRMWebAppResourceGroup",
        "SourceSlot": "AzureRMWebAppSlotsId",
        "TargetSlot": "AzureRMWebAppSlotsId",
    }
    assert {t: b["dataSourceName"] for t, b in bindings.items()} == expected
    for target, binding in bindings.items():
        assert INPUTS[target]["type"] == "pickList"
        assert binding["endpointId"] == "$(ConnectedServiceName)"
        for value in binding.get("parameters", {}).values():
            assert re.fullmatch(r"\$\((\w+)\)", value) and value[2:-1] in INPUTS
    for slot_input in ("SourceSlot", "TargetSlot"):
        template = json.loads(bindings[slot_input]["resultTemplate"])
        assert template == {
            "Value": "{{{ #extractResource slots}}}",
            "DisplayValue": "{{{ #extractResource slots}}}",
        }


def test_restrictions_allow_the_summary_and_only_the_outputs() -> None:
    restrictions = TASK["restrictions"]
    # The agent's restricted mode drops task.uploadsummary, which the runner needs.
    assert restrictions["commands"]["mode"] == "any"
    assert restrictions["settableVariables"]["allowed"] == OUTPUTS


def test_every_input_the_runner_reads_is_declared() -> None:
    read = set(REQUEST_INPUTS)  # the agent's environment reader reads each as INPUT_<name>
    for path in (ROOT / "runner" / "agent").glob("*.py"):
        read |= set(re.findall(r'env\.(?:input|flag)\(\s*"(\w+)"', path.read_text("utf-8")))
    environment = (ROOT / "runner" / "agent" / "environment.py").read_text(encoding="utf-8")
    read |= set(re.findall(r'_required\(env, "(\w+)"', environment))
    assert "ConnectedServiceName" in read, "the runner reads no connection?"
    assert read <= set(INPUTS), read - set(INPUTS)


def test_launcher_messages_are_declared_with_matching_arguments() -> None:
    source = (ROOT / "launcher" / "index.js").read_text(encoding="utf-8")
    calls = re.findall(r"message\(\s*'(\w+)'((?:,[^,()]+(?:\([^()]*\))?)*)\)", source)
    assert calls
    for key, arguments in calls:
        assert key in TASK["messages"], key
        assert TASK["messages"][key].count("%s") == arguments.count(","), key


def test_extension_manifest_contributes_the_task() -> None:
    assert EXTENSION["manifestVersion"] == 1
    for key in ("id", "publisher", "version", "name", "description"):
        assert EXTENSION[key]
    assert EXTENSION["targets"] == [{"id": "Microsoft.VisualStudio.Services"}]
    assert EXTENSION["categories"] == ["Azure Pipelines"]
    (task,) = [c for c in EXTENSION["contributions"] if c["type"] == "ms.vss-distributed-task.task"]
    assert task["targets"] == ["ms.vss-distributed-task.tasks"]
    assert {"path": task["properties"]["name"]} in EXTENSION["files"]
    assert (ROOT / EXTENSION["icons"]["default"]).is_file()
    for content in EXTENSION["content"].values():
        assert (ROOT / content["path"]).is_file()


def test_icon_is_a_128_pixel_png() -> None:
    data = (ROOT / "images" / "icon.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == int.from_bytes(data[20:24], "big") == 128


def test_task_and_extension_versions_follow_pyproject() -> None:
    version = project_version()
    task_version = "{Major}.{Minor}.{Patch}".format(**TASK["version"])
    assert task_version == version == EXTENSION["version"]


def _no_absolute_paths(value: Any) -> bool:
    text = json.dumps(value)
    return not re.search(r'"(/home|/root|/work|/tmp|[A-Z]:\\\\)', text)


def test_manifests_hold_no_machine_paths() -> None:
    assert _no_absolute_paths(TASK) and _no_absolute_paths(EXTENSION)
